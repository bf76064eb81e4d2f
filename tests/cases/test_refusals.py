"""A refused step is an event: the case stays as it was, the journal says who tried what."""

from __future__ import annotations

import json
import threading

import pytest
from engine.parcel import AUDITOR, IDENTITY, SUPERVISOR, TELLER, parcel_runtime
from sqlalchemy import text

from counter.cases.desk import Desk
from counter.cases.services import Services
from counter.cases.views import CaseView
from counter.engine.types import Actor
from counter.errors import (
    BlockedByFindings,
    FourEyesViolation,
    InvalidInput,
    InvalidTrigger,
    PermissionDenied,
)
from counter.store import journal
from counter.store.db import Database


def _row(db: Database, reference: str) -> tuple[object, ...]:
    """What a refusal must leave alone: state, data, version, pending, updated_at."""
    with db.read() as conn:
        row = conn.execute(
            text("SELECT state, data, version, pending, updated_at FROM teller_case "
                 "WHERE reference = :r"),
            {"r": reference},
        ).one()
    return tuple(row)


def _refusals(desk: Desk, reference: str) -> list[dict[str, object]]:
    return [
        {"actor": e.actor, "trigger": e.trigger, "from": e.from_state, "to": e.to_state,
         "codes": [f.code for f in e.findings], "cause": json.loads(e.note or "{}")["cause"],
         "digest": e.data_digest}
        for e in desk.journal(reference=reference)
        if e.kind == "refused"
    ]


@pytest.mark.postgres
def test_each_kind_of_refusal_changes_nothing_and_is_journaled(desk: Desk) -> None:
    view = desk.open_case(workflow="parcel_pickup", actor=TELLER)
    before = _row(desk.db, view.reference)
    blocked = {**IDENTITY, "id_number": "000123"}
    for trigger, actor, data, error in [
        ("submit_identity", SUPERVISOR, IDENTITY, PermissionDenied),
        ("submit_identity", TELLER, blocked, BlockedByFindings),
        ("submit_identity", AUDITOR, IDENTITY, PermissionDenied),
    ]:
        with pytest.raises(error):
            desk.fire(reference=view.reference, trigger=trigger, actor=actor, data=data,
                      version=view.version)
        assert _row(desk.db, view.reference) == before
        assert desk.get(reference=view.reference, actor=TELLER) == view
    assert _refusals(desk, view.reference) == [
        {"actor": "sam", "trigger": "submit_identity", "from": "identify", "to": None,
         "codes": ["forbidden"], "cause": "forbidden", "digest": None},
        {"actor": "tina", "trigger": "submit_identity", "from": "identify", "to": None,
         "codes": ["id_refused"], "cause": "findings", "digest": None},
        {"actor": "ada", "trigger": "submit_identity", "from": "identify", "to": None,
         "codes": ["forbidden"], "cause": "forbidden", "digest": None},
    ]
    report = journal.verify(desk.db)
    assert report.ok, report.first_broken
    # the case goes on at the same version, after its refusals
    after = desk.fire(reference=view.reference, trigger="submit_identity", actor=TELLER,
                      data=IDENTITY, version=view.version)
    assert after.version == view.version + 1
    assert [e.kind for e in desk.journal(reference=view.reference)] == [
        "open", "refused", "refused", "refused", "trigger"
    ]
    assert journal.verify(desk.db).ok


def test_a_refusal_keeps_no_form_values(desk: Desk) -> None:
    view = desk.open_case(workflow="parcel_pickup", actor=TELLER)
    with pytest.raises(BlockedByFindings):
        desk.fire(reference=view.reference, trigger="submit_identity", actor=TELLER,
                  data={**IDENTITY, "id_number": "000987654", "recipient_name": "Wang Wu"},
                  version=view.version)
    with desk.db.read() as conn:
        stored = conn.execute(
            text("SELECT * FROM case_events WHERE kind = 'refused'")
        ).one()._mapping
    written = json.dumps({k: str(v) for k, v in stored.items()}, ensure_ascii=False)
    assert "000987654" not in written and "Wang Wu" not in written


def test_field_errors_and_impossible_triggers_are_not_refusals(desk: Desk) -> None:
    """A typo or a stale button is not an attempt: nothing is journaled for it."""
    view = desk.open_case(workflow="parcel_pickup", actor=TELLER)
    with pytest.raises(InvalidInput):
        desk.fire(reference=view.reference, trigger="submit_identity", actor=TELLER,
                  data={"id_number": "12a"}, version=view.version)
    with pytest.raises(InvalidTrigger):
        desk.fire(reference=view.reference, trigger="hand_over", actor=TELLER, data={},
                  version=view.version)
    assert [e.kind for e in desk.journal(reference=view.reference)] == ["open"]


def test_four_eyes_is_journaled_as_such(desk: Desk) -> None:
    view = desk.open_case(workflow="parcel_pickup", actor=TELLER)
    view = desk.fire(reference=view.reference, trigger="submit_identity", actor=TELLER,
                     data={**IDENTITY, "recipient_name": "Nobody"}, version=view.version)
    boss = Actor("tina", frozenset({"teller", "supervisor"}), branch="BJ001")
    with pytest.raises(FourEyesViolation):
        desk.approve(reference=view.reference, actor=boss, version=view.version)
    assert desk.get(reference=view.reference, actor=SUPERVISOR).version == view.version
    (refusal,) = _refusals(desk, view.reference)
    assert (refusal["trigger"], refusal["cause"], refusal["codes"]) == (
        "approve", "four_eyes", ["four_eyes"]
    )
    assert journal.verify(desk.db).ok


@pytest.mark.postgres
def test_parallel_refusals_on_one_case_are_all_journaled(db: Database) -> None:
    desks = [Desk(Database(db.url), parcel_runtime(), Services(db=db)) for _ in range(6)]
    case: CaseView = desks[0].open_case(workflow="parcel_pickup", actor=TELLER)
    barrier = threading.Barrier(len(desks))
    outcomes: list[str] = []
    lock = threading.Lock()

    def refuse(desk: Desk) -> None:
        barrier.wait()
        try:
            desk.fire(reference=case.reference, trigger="submit_identity", actor=TELLER,
                      data={**IDENTITY, "id_number": "000123"}, version=1)
            outcome = "went through"
        except BlockedByFindings:
            outcome = "refused"
        except Exception as other:
            outcome = type(other).__name__
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=refuse, args=(d,)) for d in desks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes == ["refused"] * len(desks)
    entries = desks[0].journal(reference=case.reference)
    assert [e.kind for e in entries] == ["open"] + ["refused"] * len(desks)
    assert desks[0].get(reference=case.reference, actor=TELLER).version == 1
    report = journal.verify(db)
    assert report.ok, report.first_broken
    for desk in desks:
        desk.db.dispose()
