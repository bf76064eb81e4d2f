"""``counter session``: open and close a counter, hand a case over, from the command line."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from flagship.helpers import Counter
from typer.testing import CliRunner, Result

from counter.cli import app
from counter.config import get_settings

from .helpers import identified


@pytest.fixture
def cli(counter: Counter, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("COUNTER_DATABASE_URL", counter.desk.db.url)
    monkeypatch.setenv("COUNTER_DEMO_MODE", "true")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def run(cli: CliRunner, *args: str) -> Result:
    return cli.invoke(app, list(args))


def test_session_open_handover_accept_close(cli: CliRunner, counter: Counter) -> None:
    assert run(cli, "session", "open", "--user", "teller1", "--window", "3").exit_code == 0
    opened = run(cli, "session", "open", "--user", "teller2", "--window", "4")
    assert "window 4" in opened.output
    case = identified(counter)
    refused = run(cli, "session", "close", "--user", "teller1")
    assert refused.exit_code == 1 and case.reference in refused.output
    offered = run(
        cli, "session", "handover", "--user", "teller1", "--case", case.reference, "--to", "teller2"
    )
    assert offered.exit_code == 0, offered.output
    listed = run(cli, "session", "list", "--branch", "BJ001")
    assert "teller1" in listed.output and "handover pending" in listed.output
    accepted = run(cli, "session", "accept", "--user", "teller2", "--case", case.reference)
    assert accepted.exit_code == 0 and "accepted" in accepted.output
    closed = run(cli, "session", "close", "--user", "teller1")
    assert closed.exit_code == 0, closed.output
    assert "counter closed" in closed.output


def test_day_close_writes_the_report_and_day_report_writes_it_again(
    cli: CliRunner, counter: Counter, tmp_path: Path
) -> None:
    run(cli, "session", "open", "--user", "teller1", "--window", "3")
    case = identified(counter)
    refused = run(cli, "day", "close", "--branch", "BJ001", "--as", "supervisor1")
    assert refused.exit_code == 1 and "still open" in refused.output
    counter.fire(case, "cancel", {"reason": "客户离开"}, actor="teller1")
    assert run(cli, "session", "close", "--user", "teller1").exit_code == 0
    first = tmp_path / "eod.pdf"
    closed = run(
        cli, "day", "close", "--branch", "BJ001", "--as", "supervisor1", "--out", str(first)
    )
    assert closed.exit_code == 0, closed.output
    sha = hashlib.sha256(first.read_bytes()).hexdigest()
    assert sha in closed.output and "OK" in closed.output
    day = closed.output.split("BJ001 ")[1].split(" ")[0]
    again = tmp_path / "again.pdf"
    written = run(cli, "day", "report", "--branch", "BJ001", "--day", day, "--out", str(again))
    assert written.exit_code == 0, written.output
    assert again.read_bytes() == first.read_bytes()
