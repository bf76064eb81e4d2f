"""``counter journal export`` and ``verify-export`` through the real command line."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from counter.cli import app
from counter.config import get_settings

from .conftest import PHONE, Journal

Invoke = Callable[..., Result]
RANGE = ("--branch", "BJ001", "--from", "2026-11-25", "--to", "2026-11-25")


@pytest.fixture
def counter(branch_journal: Journal, monkeypatch: pytest.MonkeyPatch) -> Iterator[Invoke]:
    monkeypatch.setenv("COUNTER_DATABASE_URL", branch_journal.db.url)
    monkeypatch.delenv("COUNTER_PROGRESS", raising=False)
    get_settings.cache_clear()
    runner = CliRunner()
    yield lambda *args: runner.invoke(app, list(args))
    get_settings.cache_clear()


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_export_to_a_file_then_verify_it(counter: Invoke, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"bj001.{fmt}"
    exported = counter("journal", "export", *RANGE, "--format", fmt, "--out", str(out))
    assert exported.exit_code == 0, exported.output
    assert exported.stdout == ""
    assert not out.with_name(out.name + ".part").exists()
    digest = exported.stderr.rsplit("export digest: ", 1)[1].strip()
    assert PHONE not in out.read_text(encoding="utf-8")
    verified = counter("journal", "verify-export", str(out))
    assert verified.exit_code == 0, verified.output
    assert "校验通过" in verified.stdout and "The export verifies" in verified.stdout
    assert digest in verified.stdout


def test_export_to_stdout_holds_only_the_export(counter: Invoke, tmp_path: Path) -> None:
    result = counter("journal", "export", *RANGE)
    assert result.exit_code == 0, result.output
    out = tmp_path / "piped.jsonl"
    out.write_text(result.stdout, encoding="utf-8")
    assert counter("journal", "verify-export", str(out)).exit_code == 0


def test_an_edited_file_exits_1_naming_its_line(counter: Invoke, tmp_path: Path) -> None:
    out = tmp_path / "bj001.csv"
    counter("journal", "export", *RANGE, "--format", "csv", "--out", str(out))
    text = out.read_text(encoding="utf-8")
    out.write_text(text.replace("tina", "tima", 1), encoding="utf-8", newline="")
    result = counter("journal", "verify-export", str(out))
    assert result.exit_code == 1
    assert "第 3 行" in result.stderr and "line 3" in result.stderr
    assert "Traceback" not in result.output


def test_refusals_are_bilingual(counter: Invoke) -> None:
    unknown = counter("journal", "export", "--branch", "XX9", "--from", "2026-11-25",
                      "--to", "2026-11-25")
    assert unknown.exit_code == 1 and "没有网点" in unknown.stderr and "no branch" in unknown.stderr
    backwards = counter("journal", "export", "--branch", "BJ001", "--from", "2026-11-26",
                        "--to", "2026-11-25")
    assert backwards.exit_code == 1 and "after" in backwards.stderr
    assert counter("journal", "export", *RANGE, "--format", "xlsx").exit_code == 2
