"""``counter registry|identity|sms`` through typer's CliRunner, against a fresh database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from counter.adapters import LocalAcquirerRegistry, LocalSmsGateway
from counter.cli import registry as registry_cli
from counter.config import get_settings
from counter.store.db import Database

from .factories import merchant_row, to_csv

DATA = Path(__file__).resolve().parent.parent / "data" / "registry"


@pytest.fixture
def app(db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[typer.Typer]:
    monkeypatch.setenv("COUNTER_DATABASE_URL", db.url)
    get_settings.cache_clear()
    app = typer.Typer()
    registry_cli.register(app)
    yield app
    get_settings.cache_clear()


def run(app: typer.Typer, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_registry_import_prints_a_bilingual_summary(app: typer.Typer, db: Database) -> None:
    code, out, _ = run(app, "registry", "import", str(DATA / "merchants.csv"))
    assert code == 0
    assert "已导入 4 行" in out and "Imported 4 row(s)" in out
    assert LocalAcquirerRegistry(db).merchant("102110058120001") is not None


def test_rejected_import_lists_lines_and_exits_1(app: typer.Typer, db: Database) -> None:
    code, _, err = run(app, "registry", "import", str(DATA / "merchants_bad.csv"))
    assert code == 1
    assert "第 3 行 / line 3 [merchant_no]" in err
    assert "line 7 [terminal_sn]" in err
    assert "Traceback" not in err
    assert LocalAcquirerRegistry(db).merchant("102110058120001") is None


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (to_csv([merchant_row()]) + b"\xff\n", "line 3 is not UTF-8, and line 3 is not GB 18030"),
        (b"", "the file is empty"),
        (b"merchant_no\n1\n", "missing column"),
    ],
)
def test_malformed_files_exit_1_with_a_message(
    app: typer.Typer, tmp_path: Path, content: bytes, expected: str
) -> None:
    path = tmp_path / "merchants.csv"
    path.write_bytes(content)
    code, _, err = run(app, "registry", "import", str(path))
    assert code == 1 and expected in err and "Traceback" not in err


def test_missing_file_exits_1(app: typer.Typer, tmp_path: Path) -> None:
    code, _, err = run(app, "registry", "import", str(tmp_path / "nope.csv"))
    assert code == 1 and "cannot read" in err


def test_identity_import(app: typer.Typer) -> None:
    code, out, _ = run(app, "identity", "import", str(DATA / "people.csv"))
    assert code == 0 and "Imported 5 row(s)" in out and "people 5 created" in out


def test_simulate_failure_and_clear(app: typer.Typer, db: Database) -> None:
    run(app, "registry", "import", str(DATA / "merchants.csv"))
    code, out, _ = run(
        app, "registry", "simulate-failure", "102110058120001", "--mode", "unavailable"
    )
    assert code == 0 and "unavailable" in out
    acquirer = LocalAcquirerRegistry(db)
    assert acquirer.execute_unbind(
        "C-1", "102110058120001", "SN-PAX-000001", "6222021234567890128"
    ).retryable
    assert run(app, "registry", "simulate-failure", "102110058120001", "--clear")[0] == 0
    code, _, err = run(app, "registry", "simulate-failure", "999999999999999")
    assert code == 1 and "No such merchant" in err


def test_sms_outbox_masks_phones_and_shows_the_text(app: typer.Typer, db: Database) -> None:
    gateway = LocalSmsGateway(db)
    gateway.send("13800138000", "您的解绑验证码为 482913 / Your unbind code is 482913", key="a")
    gateway.send("13900139000", "other", key="b")
    code, out, _ = run(app, "sms", "outbox", "--phone", "+86 138-0013-8000")
    assert code == 0
    assert "138****8000" in out and "482913" in out
    assert "13800138000" not in out and "other" not in out
    everything = run(app, "sms", "outbox")[1].splitlines()
    assert len(everything) == 2 and "other" in everything[0]


def test_sms_outbox_empty(app: typer.Typer) -> None:
    code, out, _ = run(app, "sms", "outbox")
    assert code == 0 and "No messages." in out


def test_database_not_set_up_is_a_message(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("COUNTER_DATABASE_URL", f"sqlite:///{tmp_path / 'blank.db'}")
    get_settings.cache_clear()
    try:
        app = typer.Typer()
        registry_cli.register(app)
        code, _, err = run(app, "sms", "outbox")
    finally:
        get_settings.cache_clear()
    assert code == 1 and "counter db upgrade" in err and "Traceback" not in err


def test_identity_import_reads_gb18030_when_told_or_when_it_finds_it(
    app: typer.Typer, tmp_path: Path
) -> None:
    path = tmp_path / "people.csv"
    text = "id_number,name,result,face_score\n110105198001010016,𠮷田·阿依古丽,match,90\n"
    path.write_bytes(text.encode("gb18030"))
    code, out, _ = run(app, "identity", "import", str(path), "--encoding", "gb18030")
    assert code == 0 and "Imported 1 row(s)" in out and "read as GB 18030" not in out
    code, out, _ = run(app, "identity", "import", str(path))
    assert code == 0 and "not UTF-8; it was read as GB 18030" in out
    path.write_bytes(text.encode("gb18030") + b"110105198001010024,\xff,match,90\n")
    code, _, err = run(app, "identity", "import", str(path), "--encoding", "gb18030")
    assert code == 1 and "line 3 is not valid GB 18030" in err
