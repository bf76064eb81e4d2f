"""The sweeper: idle cases expire once, journaled with the reason, whoever else is running."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from counter.cases.desk import Desk
from counter.cases.services import Services
from counter.cases.sweeper import EXPIRE, Sweeper, expirable_states
from counter.cli import app
from counter.cli.timers import run_rounds
from counter.config import Settings, get_settings
from counter.engine import Catalog, Registry, Runtime
from counter.store.db import Database

from . import (
    DATA,
    FORMS,
    SUPERVISOR,
    TELLER,
    TELLER2,
    Clock,
    errand_desk,
    errand_runtime,
    inconsistencies,
    open_errand,
)

ROOT = Path(__file__).resolve().parent.parent.parent
IDLE = timedelta(hours=8)


def _expiries(db: Database) -> dict[str, int]:
    """How many ``expire`` journal entries each case has."""
    with db.read() as conn:
        rows = conn.execute(
            text("SELECT stream, count(*) AS n FROM case_events "
                 "WHERE \"trigger\" = :t GROUP BY stream"),
            {"t": EXPIRE},
        ).all()
    return {row.stream: int(row.n) for row in rows}


def _state(desk: Desk, reference: str) -> str:
    return desk.get(reference=reference, actor=SUPERVISOR).state


def test_expirable_states_follow_the_declared_expire_transitions() -> None:
    catalog = errand_runtime().catalog
    assert expirable_states(catalog.current("errand").definition) == {
        "intake", "review", "signoff"
    }
    assert expirable_states(catalog.current("ledger").definition) == frozenset()


@pytest.mark.postgres
def test_idle_cases_expire_with_the_reason_journaled(db: Database) -> None:
    clock = Clock()
    desk = errand_desk(db, clock, attach=False)  # the answer never comes: "waiting" stays
    waiting = open_errand(desk)
    desk.fire(reference=waiting, trigger="sign_off", actor=TELLER, version=2)
    ledger = desk.open_case(workflow="ledger", actor=TELLER).reference
    at_intake = desk.open_case(workflow="errand", actor=TELLER).reference
    in_review = open_errand(desk, amount=5000)
    at_signoff = open_errand(desk)
    clock.advance(IDLE - timedelta(seconds=1))
    sweeper = Sweeper(desk, idle=IDLE, batch_size=2)  # pages past the cases it leaves alone
    assert sweeper.run_once().expired == []
    clock.advance(timedelta(seconds=2))
    fresh = desk.open_case(workflow="errand", actor=TELLER2).reference

    report = sweeper.run_once()

    assert sorted(report.expired) == sorted([at_intake, in_review, at_signoff])
    assert report.stale == [] and report.refused == {}
    for reference in report.expired:
        assert _state(desk, reference) == "expired"
        last = desk.journal(reference=reference)[-1]
        assert (last.actor, last.kind, last.trigger, last.to_state) == (
            "system", "trigger", EXPIRE, "expired"
        )
        assert last.note is not None and "idle for more than 8 hours" in last.note
        assert desk.get(reference=reference, actor=TELLER).closed_at == clock()
    assert _state(desk, waiting) == "waiting"
    assert _state(desk, ledger) == "intake"
    assert _state(desk, fresh) == "intake"
    decided = desk.approvals(actor=SUPERVISOR, include_decided=True)
    assert [(a.case_reference, a.decision, a.decided_by) for a in decided] == [
        (in_review, EXPIRE, "system")
    ]
    assert inconsistencies(db, desk) == []
    again = sweeper.run_once()
    assert again.expired == [] and again.examined == 2  # waiting and ledger: idle, left alone


def test_the_idle_limit_comes_from_the_settings(db: Database) -> None:
    clock = Clock()
    services = Services(settings=Settings(case_idle_hours=2), db=db, clock=clock)
    desk = Desk(db, errand_runtime(), services)
    reference = desk.open_case(workflow="errand", actor=TELLER).reference
    sweeper = Sweeper(desk)
    assert sweeper.idle == timedelta(hours=2)
    clock.advance(timedelta(hours=2, minutes=1))
    assert sweeper.run_once().expired == [reference]


def test_a_case_a_teller_moves_meanwhile_is_skipped_and_expires_later(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    desk = errand_desk(db, clock)
    teller_desk = errand_desk(Database(db.url), clock)
    reference = desk.open_case(workflow="errand", actor=TELLER).reference
    clock.advance(IDLE + timedelta(minutes=1))
    sweeper = Sweeper(errand_desk(Database(db.url), clock), idle=IDLE)
    real_step = sweeper.desk.step

    def teller_first(**kwargs: Any) -> Any:
        # The teller submits between the sweeper's read and its step.
        teller_desk.fire(reference=reference, trigger="submit", actor=TELLER,
                         data={"customer": "Li Lei", "amount": 10}, version=1)
        return real_step(**kwargs)

    monkeypatch.setattr(sweeper.desk, "step", teller_first)
    report = sweeper.run_once()
    monkeypatch.undo()

    assert report.stale == [reference] and report.expired == []
    assert _state(desk, reference) == "signoff"
    assert sweeper.run_once().examined == 0  # just moved: not idle any more
    clock.advance(IDLE + timedelta(minutes=1))
    assert sweeper.run_once().expired == [reference]
    assert [e.trigger for e in desk.journal(reference=reference)] == ["open", "submit", EXPIRE]
    assert inconsistencies(db, desk) == []
    teller_desk.db.dispose()
    sweeper.desk.db.dispose()


@pytest.mark.postgres
def test_two_sweepers_at_once_expire_each_case_exactly_once(db: Database) -> None:
    clock = Clock()
    desk = errand_desk(db, clock)
    references = {open_errand(desk, amount=5000 if i % 3 == 0 else 10) for i in range(24)}
    clock.advance(IDLE + timedelta(minutes=1))
    sweepers = [
        Sweeper(errand_desk(Database(db.url), clock), idle=IDLE, batch_size=5) for _ in range(2)
    ]
    barrier = threading.Barrier(len(sweepers))
    reports: list[Any] = []
    errors: list[BaseException] = []

    def sweep(sweeper: Sweeper) -> None:
        barrier.wait()
        try:
            reports.append(sweeper.run_once())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=sweep, args=(s,)) for s in sweepers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    expired = [reference for report in reports for reference in report.expired]
    assert sorted(expired) == sorted(references)  # each once, none twice
    assert all(report.refused == {} for report in reports)
    assert _expiries(db) == dict.fromkeys(references, 1)
    assert all(_state(desk, r) == "expired" for r in references)
    assert inconsistencies(db, desk) == []
    for sweeper in sweepers:
        sweeper.desk.db.dispose()


# --- the command line -------------------------------------------------------------------------


def _plain_desk(db: Database) -> Desk:
    """A desk on the name-free ``chore`` workflow (what the command line can load)."""
    registry = Registry()
    catalog = Catalog.load(DATA / "plain", FORMS, registry)
    return Desk(db, Runtime(catalog, registry), Services(db=db))


def _cli_env(db: Database, **extra: str) -> dict[str, str]:
    return {
        "COUNTER_DATABASE_URL": db.url,
        "COUNTER_WORKFLOWS_DIR": str(DATA / "plain"),
        "COUNTER_FORMS_DIR": str(FORMS),
        **extra,
    }


@pytest.fixture
def cli_env(db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in _cli_env(db, COUNTER_CASE_IDLE_HOURS="0").items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.slow
@pytest.mark.postgres
def test_two_sweep_processes_expire_each_case_exactly_once(
    db: Database, tmp_path: Path
) -> None:
    desk = _plain_desk(db)
    references = set()
    for i in range(30):
        case = desk.open_case(workflow="chore", actor=TELLER)
        if i % 2:
            desk.fire(reference=case.reference, trigger="submit", actor=TELLER,
                      data={"customer": "Li Lei", "amount": i}, version=1)
        references.add(case.reference)
    env = {**os.environ, **_cli_env(db, COUNTER_CASE_IDLE_HOURS="0")}
    command = [sys.executable, "-m", "counter.cli", "sweep", "--once", "--batch", "4"]
    processes = [
        subprocess.Popen(command, cwd=tmp_path, env=env, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=120) for process in processes]

    for process, (_out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err
    counts = [int(m) for out, _ in outputs for m in re.findall(r"expired (\d+)", out)]
    assert sum(counts) == len(references)
    assert _expiries(db) == dict.fromkeys(references, 1)
    assert inconsistencies(db, desk) == []


def _waiting_sms(db: Database, reference: str) -> None:
    """An SMS whose first delivery failed a while ago: its retry is due."""
    past = datetime.now(UTC) - timedelta(minutes=5)
    with db.transaction() as conn:
        conn.execute(
            text("INSERT INTO outbox (case_reference, kind, key, payload, status, attempts, "
                 "next_attempt_at, last_error, created_at) VALUES (:r, 'sms.send', :k, :p, "
                 "'pending', 1, :at, 'ConnectionError: gateway down', :at)"),
            {"r": reference, "k": f"{reference}/sms.send/code-1",
             "p": '{"phone": "13800138000", "text": "code 123456"}', "at": past},
        )


def _outbox_status(db: Database) -> list[str]:
    with db.read() as conn:
        return list(conn.execute(text("SELECT status FROM outbox")).scalars())


def test_counter_sweep_once_expires_and_delivers_due_retries(
    db: Database, cli_env: None
) -> None:
    desk = _plain_desk(db)
    reference = desk.open_case(workflow="chore", actor=TELLER).reference
    _waiting_sms(db, reference)
    runner = CliRunner()

    skipped = runner.invoke(app, ["sweep", "--once", "--no-outbox"])
    assert skipped.exit_code == 0, skipped.output
    assert "expired 1" in skipped.output and _outbox_status(db) == ["pending"]

    result = runner.invoke(app, ["sweep", "--once"])
    assert result.exit_code == 0, result.output
    assert "expired 0" in result.output and "outbox: 1 finished" in result.output
    assert _outbox_status(db) == ["delivered"]
    assert _state(desk, reference) == "expired"


def test_the_loop_runs_until_stopped_and_outlives_a_failed_round(
    db: Database, cli_env: None, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sweeper = Sweeper(_plain_desk(db))
    real_run = sweeper.run_once
    calls: list[int] = []

    def flaky() -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("database restarting")
        return real_run()

    monkeypatch.setattr(sweeper, "run_once", flaky)
    stop = threading.Event()
    lines: list[str] = []

    def echo(line: str) -> None:
        lines.append(line)
        if len(lines) == 2:
            stop.set()

    rounds = run_rounds(sweeper, None, interval=0.01, stop=stop, echo=echo)

    assert rounds == 3 and len(lines) == 2
    assert "sweep round failed" in caplog.text
