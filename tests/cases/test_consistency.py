"""One step is one transaction: conflicts, repeats and crashes never leave half a step."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from engine.parcel import IDENTITY, TELLER, TELLER2, parcel_runtime
from sqlalchemy import text

from counter.cases.desk import Desk
from counter.cases.services import Services
from counter.cases.views import CaseView
from counter.errors import InvalidInput, StaleVersion
from counter.store import journal
from counter.store.db import Database


def _counts(db: Database) -> dict[str, int]:
    with db.read() as conn:
        return {
            table: int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
            for table in ("case_events", "approvals", "outbox", "idempotency_keys")
        }


@pytest.mark.postgres
def test_two_sessions_on_one_version_exactly_one_wins(db: Database) -> None:
    first = Desk(db, parcel_runtime(), Services(db=db))
    second = Desk(Database(db.url), parcel_runtime(), Services(db=db))
    case = first.open_case(workflow="parcel_pickup", actor=TELLER)
    seen_by_first = first.get(reference=case.reference, actor=TELLER)
    seen_by_second = second.get(reference=case.reference, actor=TELLER2)
    assert seen_by_first.version == seen_by_second.version == 1
    first.fire(reference=case.reference, trigger="submit_identity", actor=TELLER,
               data=IDENTITY, version=seen_by_first.version)
    with pytest.raises(StaleVersion):
        second.fire(reference=case.reference, trigger="cancel", actor=TELLER2,
                    data={"reason": "mine"}, version=seen_by_second.version)
    assert first.get(reference=case.reference, actor=TELLER).state == "verify_code"
    second.db.dispose()


@pytest.mark.postgres
def test_racing_threads_exactly_one_wins(db: Database) -> None:
    """Even when neither sends a version, the compare-and-set lets only one step through."""
    desks = [Desk(Database(db.url), parcel_runtime(), Services(db=db)) for _ in range(4)]
    case = desks[0].open_case(workflow="parcel_pickup", actor=TELLER)
    barrier = threading.Barrier(len(desks))
    outcomes: list[str] = []
    lock = threading.Lock()

    def fire(desk: Desk) -> None:
        barrier.wait()
        try:
            desk.fire(reference=case.reference, trigger="cancel", actor=TELLER,
                      data={"reason": "race"}, version=1)
            outcome = "won"
        except StaleVersion:
            outcome = "stale"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=fire, args=(d,)) for d in desks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["stale", "stale", "stale", "won"]
    after = desks[0].get(reference=case.reference, actor=TELLER)
    assert after.version == 2 and after.state == "cancelled"
    assert journal.verify(db).ok
    for desk in desks:
        desk.db.dispose()


@pytest.mark.postgres
def test_a_repeated_idempotency_key_returns_the_first_answer(desk: Desk) -> None:
    case = desk.open_case(workflow="parcel_pickup", actor=TELLER)
    request: dict[str, Any] = {
        "reference": case.reference, "trigger": "submit_identity", "actor": TELLER,
        "data": IDENTITY, "version": case.version, "idempotency_key": "k-1",
    }
    first = desk.fire(**request)
    before = _counts(desk.db)
    again = desk.fire(**request)
    assert again == first
    assert _counts(desk.db) == before  # no second effect: no journal entry, no SMS
    with pytest.raises(InvalidInput):
        desk.fire(**{**request, "data": {**IDENTITY, "recipient_name": "Han Meimei"}})
    other_actor = desk.fire(**{**request, "actor": TELLER2, "version": first.version,
                               "trigger": "cancel", "data": {"reason": "x"}})
    assert other_actor.state == "cancelled"  # keys are per actor


def test_a_crash_after_the_journal_insert_changes_nothing(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = desk.open_case(workflow="parcel_pickup", actor=TELLER)
    before = _counts(desk.db)
    real_record = journal.record

    def record_then_crash(*args: Any, **kwargs: Any) -> int:
        real_record(*args, **kwargs)
        raise RuntimeError("power cut")

    monkeypatch.setattr(journal, "record", record_then_crash)
    with pytest.raises(RuntimeError):
        desk.fire(reference=case.reference, trigger="submit_identity", actor=TELLER,
                  data=IDENTITY, version=case.version, idempotency_key="k-crash")
    monkeypatch.undo()
    assert _counts(desk.db) == before
    assert desk.get(reference=case.reference, actor=TELLER) == case
    assert journal.verify(desk.db).ok
    after = desk.fire(reference=case.reference, trigger="submit_identity", actor=TELLER,
                      data=IDENTITY, version=case.version, idempotency_key="k-crash")
    assert isinstance(after, CaseView) and after.version == 2


@pytest.mark.postgres
def test_the_same_request_twice_at_once_has_one_effect(db: Database) -> None:
    desks = [Desk(Database(db.url), parcel_runtime(), Services(db=db)) for _ in range(2)]
    case = desks[0].open_case(workflow="parcel_pickup", actor=TELLER)
    before = _counts(db)
    barrier = threading.Barrier(2)
    answers: list[CaseView] = []

    def send(desk: Desk) -> None:
        barrier.wait()
        answers.append(
            desk.fire(reference=case.reference, trigger="submit_identity", actor=TELLER,
                      data=IDENTITY, version=case.version, idempotency_key="double-click")
        )

    threads = [threading.Thread(target=send, args=(d,)) for d in desks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == 2 and answers[0] == answers[1]
    after = _counts(db)
    assert after["case_events"] == before["case_events"] + 1
    assert after["idempotency_keys"] == before["idempotency_keys"] + 1
    for desk in desks:
        desk.db.dispose()


@pytest.mark.postgres
def test_a_step_after_an_entry_written_elsewhere_chains_after_it(desk: Desk) -> None:
    """A slip or hand-over entry moves the case's journal head behind the desk's back."""
    case = desk.open_case(workflow="parcel_pickup", actor=TELLER)
    with desk.db.transaction() as conn:
        slip = journal.append(conn, stream=case.reference, actor=TELLER.username, kind="slip",
                              at=case.opened_at, note="printed")
    assert slip.seq == 2
    after = desk.fire(reference=case.reference, trigger="submit_identity", actor=TELLER,
                      data=IDENTITY, version=case.version)
    assert after.version == 2
    with desk.db.read() as conn:
        entries = journal.entries(conn, case.reference)
        head = conn.execute(
            text("SELECT journal_seq, journal_hash FROM teller_case WHERE reference = :r"),
            {"r": case.reference},
        ).one()
    assert [(e.seq, e.kind) for e in entries] == [(1, "open"), (2, "slip"), (3, "trigger")]
    assert entries[2].prev_hash == slip.hash
    assert tuple(head) == (3, entries[2].hash)
    assert journal.verify(desk.db).ok
