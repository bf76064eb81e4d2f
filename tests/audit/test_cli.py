"""``counter journal export`` and ``verify-export`` through the real command line."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from counter.cli import app
from counter.config import get_settings
from counter.encodings import decode_gb18030
from counter.store import journal

from .conftest import MORNING, PHONE, Journal

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


RARE_NOTE = "𠮷祥五金店 龴 \U00030edd 阿依古丽·买买提"  # Ext B, a 2022-moved code (FE59), Ext G


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_a_gb18030_export_holds_every_character_and_verifies(
    counter: Invoke, branch_journal: Journal, tmp_path: Path, fmt: str
) -> None:
    with branch_journal.db.transaction() as conn:
        journal.append(conn, stream="branch:BJ001", actor="system", kind="note",
                       at=MORNING, note=RARE_NOTE)
    utf8, gb = tmp_path / f"u.{fmt}", tmp_path / f"g.{fmt}"
    assert counter("journal", "export", *RANGE, "--format", fmt, "--out", str(utf8)).exit_code == 0
    exported = counter(
        "journal", "export", *RANGE, "--format", fmt, "--encoding", "gb18030", "--out", str(gb)
    )
    assert exported.exit_code == 0, exported.output
    raw = gb.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf") and not raw.startswith(b"\x84\x31\x95\x33")
    assert b"\xfe\x59" in raw  # 龴 in its GB 18030-2022 two-byte code
    assert RARE_NOTE in decode_gb18030(raw) and RARE_NOTE in utf8.read_text(encoding="utf-8")
    assert "\ue81e" in raw.decode("gb18030")  # what a GB 18030-2005 reader would see for 龴
    digest = exported.stderr.rsplit("export digest: ", 1)[1].strip()
    for args in (("--encoding", "gb18030"), ()):  # named, or found when the file is not UTF-8
        verified = counter("journal", "verify-export", str(gb), *args)
        assert verified.exit_code == 0, verified.output
        assert digest in verified.stdout
    wrong = counter("journal", "verify-export", str(gb), "--encoding", "utf-8")
    assert wrong.exit_code == 1 and "not valid UTF-8" in wrong.stderr
