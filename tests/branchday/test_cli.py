"""``counter session``: open and close a counter, hand a case over, from the command line."""

from __future__ import annotations

from collections.abc import Iterator

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
