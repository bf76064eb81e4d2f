"""``counter demo-data`` and ``counter demo`` on a fresh database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

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


def test_demo_runs_both_cases_and_verifies_the_journal(invoke: CliRunner, db: Database) -> None:
    result = run(invoke, "demo")
    assert result.exit_code == 0, result.output
    assert result.output.count("-> completed") == 2
    assert "agent_with_mandate" in result.output and "[supervisor1] approve" in result.output
    assert "journal verified" in result.output
    assert "110105198001010016" not in result.output  # masked: 110***********0016
    assert "13800138000" not in result.output
    assert journal.verify(db).ok
    again = run(invoke, "demo")  # the demo registry is put back first: it runs again
    assert again.exit_code == 0, again.output
