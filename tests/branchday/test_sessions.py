"""Counter sessions: a teller takes cases only at an open counter and closes it with none left."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from flagship.helpers import Counter
from sqlalchemy import select

from counter.branchday import _tables as t
from counter.branchday import close_counter, current_session, open_counter
from counter.branchday.wiring import wire_counter
from counter.config import Settings
from counter.errors import InvalidInput, NotFound, PermissionDenied
from counter.store import journal
from counter.store.db import Database

from .helpers import cancelled, completed, identified, open_at

pytestmark = pytest.mark.postgres  # SQLite and PostgreSQL


def test_a_teller_cannot_open_a_case_with_the_counter_closed(counter: Counter) -> None:
    with pytest.raises(PermissionDenied) as refused:
        counter.open(actor="teller1")
    assert "开启柜台" in refused.value.message.zh
    assert "Open your counter" in refused.value.message.en


def test_a_case_belongs_to_the_session_it_was_opened_in(counter: Counter) -> None:
    open_at(counter, "teller1", window=3)
    case = counter.open(actor="teller1")
    session = current_session(counter.desk.db, teller="teller1")
    assert session is not None and session.window == 3
    with counter.desk.db.read() as conn:
        row = conn.execute(
            select(t.case_sessions).where(t.case_sessions.c.case_reference == case.reference)
        ).one()
    assert (row.session_id, row.responsible, row.responsible_session_id) == (
        session.id,
        "teller1",
        session.id,
    )


def test_a_supervisor_away_from_a_counter_opens_cases_without_a_session(
    counter: Counter,
) -> None:
    case = counter.open(actor="supervisor1")
    assert case.state == "identity_check"


def test_one_counter_per_teller_and_one_teller_per_window(counter: Counter) -> None:
    open_at(counter, "teller1", window=2)
    with pytest.raises(InvalidInput, match="already open at window 2"):
        open_at(counter, "teller1", window=4)
    with pytest.raises(InvalidInput, match="Window 2 is already open"):
        open_at(counter, "teller2", window=2)
    open_at(counter, "teller2", window=4)
    with pytest.raises(InvalidInput, match="between 1 and 99"):
        open_counter(
            counter.desk.db, actor=counter.actors["senior1"], window=0, now=counter.clock.now
        )


def test_only_tellers_have_a_counter(counter: Counter) -> None:
    with pytest.raises(PermissionDenied):
        open_at(counter, "supervisor1")


def test_closing_is_refused_while_the_teller_has_open_cases(counter: Counter) -> None:
    open_at(counter)
    case = identified(counter)
    with pytest.raises(InvalidInput) as refused:
        close_counter(counter.desk.db, actor=counter.actors["teller1"], now=counter.clock.now)
    assert refused.value.context["cases"] == [case.reference]
    assert "移交" in refused.value.message.zh and "hand them over" in refused.value.message.en
    assert current_session(counter.desk.db, teller="teller1") is not None


def test_closing_after_cancelling_and_finishing_every_case(counter: Counter) -> None:
    open_at(counter)
    done = completed(counter)
    gone = cancelled(counter)
    counter.clock.advance(minutes=5)
    closed = close_counter(counter.desk.db, actor=counter.actors["teller1"], now=counter.clock.now)
    assert closed.closed_at == counter.clock.now
    assert current_session(counter.desk.db, teller="teller1") is None
    with counter.desk.db.read() as conn:
        entries = journal.entries(conn, "user:teller1")
        cancel = [e for e in journal.entries(conn, gone.reference) if e.trigger == "cancel"]
    assert [e.kind for e in entries] == ["counter_open", "counter_close"]
    assert json.loads(entries[1].note or "{}")["window"] == 1
    assert cancel[0].note == "客户改期"
    assert done.state == "completed"
    assert journal.verify(counter.desk.db).ok


def test_closing_a_counter_that_is_not_open(counter: Counter) -> None:
    with pytest.raises(NotFound):
        close_counter(counter.desk.db, actor=counter.actors["teller1"], now=counter.clock.now)


def test_the_workers_dispatcher_takes_the_outbox_settings(
    staffed_db: Database, settings: Settings
) -> None:
    """``counter worker`` wires with ``wire_counter``: its retries, lease and threads are the
    settings' (they were the dispatcher's defaults: 5 attempts, not the 12 documented)."""
    chosen = settings.model_copy(update={
        "outbox_max_attempts": 12, "outbox_lease_seconds": 30.0, "outbox_threads": 3,
        "outbox_retry_base_seconds": 4.0})
    dispatcher = wire_counter(staffed_db, settings=chosen, attach=False).dispatcher
    assert (dispatcher.max_attempts, dispatcher.lease, dispatcher.threads,
            dispatcher.base_delay) == (12, timedelta(seconds=30), 3, timedelta(seconds=4))
