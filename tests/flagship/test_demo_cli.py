"""``counter demo-data`` and ``counter demo`` on a fresh database."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from counter.branchday import closed_day, current_session
from counter.branchday.closing import closed_days
from counter.cli import app
from counter.config import get_settings
from counter.store import journal
from counter.store.db import Database
from counter.store.users import get_user, verify_password


@pytest.fixture
def invoke(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("COUNTER_DATABASE_URL", db.url)
    monkeypatch.setenv("COUNTER_DEMO_MODE", "true")
    monkeypatch.setenv("COUNTER_DEMO_PASSWORD", "demo-password-for-tests")
    monkeypatch.setenv("COUNTER_VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def run(runner: CliRunner, *args: str) -> Result:
    return runner.invoke(app, list(args))


def test_demo_data_is_idempotent(invoke: CliRunner, db: Database) -> None:
    first = run(invoke, "demo-data")
    assert first.exit_code == 0, first.output
    assert "teller1" in first.output
    assert "demo password: demo-password-for-tests" in first.output  # make run prints the logins
    again = run(invoke, "demo-data")
    assert again.exit_code == 0, again.output
    assert "用户 / user" not in again.output  # nobody new
    for username in ("teller1", "teller2", "supervisor1", "auditor1"):
        user = get_user(db, username=username)
        assert user.branch == "BJ001"
        assert verify_password(user.password_hash, "demo-password-for-tests")
    assert get_user(db, username="auditor1").roles == ["auditor"]
    # the other two doors to an unbind: a merchant user, a reviewer, a service agent
    assert get_user(db, username="merchant1").merchant_no
    assert get_user(db, username="reviewer1").roles == ["reviewer"]
    assert get_user(db, username="agent1").roles == ["service_agent"]


def test_demo_data_refuses_outside_demo_mode(
    invoke: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COUNTER_DEMO_MODE", "false")
    get_settings.cache_clear()
    result = run(invoke, "demo-data")
    assert result.exit_code == 1 and "demo mode" in result.output


def test_demo_runs_both_cases_at_a_counter_and_closes_the_day(
    invoke: CliRunner, db: Database, tmp_path: Path
) -> None:
    result = run(invoke, "demo")
    assert result.exit_code == 0, result.output
    assert "[teller1] 开启柜台 / counter open at window 1" in result.output
    assert result.output.count("-> completed") == 2
    assert "agent_with_mandate" in result.output and "[supervisor1] approve" in result.output
    assert "journal verified" in result.output
    assert "counter closed at window 1" in result.output
    assert "110105198001010016" not in result.output  # masked: 110***********0016
    assert "13800138000" not in result.output
    assert journal.verify(db).ok

    assert current_session(db, teller="teller1") is None
    [(day, _)] = closed_days(db, branch="BJ001")
    closed = closed_day(db, branch="BJ001", day=day)
    assert closed.closed_by == "supervisor1" and closed.figures.cases == 2
    assert closed.figures.chain.ok
    pdf = tmp_path / "var" / f"end-of-day-BJ001-{day.isoformat()}.pdf"
    assert f"end-of-day report: {pdf}" in result.output
    assert pdf.read_bytes().startswith(b"%PDF")
    assert hashlib.sha256(pdf.read_bytes()).hexdigest() == closed.report_sha256

    pdf.unlink()
    again = run(invoke, "demo")  # the day is closed: no case, the day's report again
    assert again.exit_code == 0, again.output
    assert "closed" in again.output and "already" in again.output
    assert "-> completed" not in again.output
    assert hashlib.sha256(pdf.read_bytes()).hexdigest() == closed.report_sha256
