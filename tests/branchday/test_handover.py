"""Handing a case over: pending until the receiving teller accepts it, all of it journaled."""

from __future__ import annotations

import pytest
from flagship.helpers import Counter

from counter.branchday import (
    accept_handover,
    close_counter,
    decline_handover,
    offer_handover,
    pending_handovers,
    withdraw_handover,
)
from counter.errors import InvalidInput, NotFound, PermissionDenied
from counter.store import journal

from .helpers import identified, open_at

pytestmark = pytest.mark.postgres  # SQLite and PostgreSQL


def _offer(counter: Counter, reference: str, to: str = "teller2") -> None:
    offer_handover(
        counter.desk.db,
        reference=reference,
        actor=counter.actors["teller1"],
        to_teller=to,
        note="午休交接",
        now=counter.clock.now,
    )


def test_handover_requires_acceptance_before_the_counter_closes(counter: Counter) -> None:
    db = counter.desk.db
    open_at(counter, "teller1", window=1)
    open_at(counter, "teller2", window=2)
    case = identified(counter)
    _offer(counter, case.reference)
    assert [h.case_reference for h in pending_handovers(db, branch="BJ001")] == [case.reference]
    with pytest.raises(InvalidInput):  # offered, not yet accepted: still teller1's
        close_counter(db, actor=counter.actors["teller1"], now=counter.clock.now)
    with pytest.raises(PermissionDenied):  # only the receiving teller accepts
        accept_handover(
            db, reference=case.reference, actor=counter.actors["senior1"], now=counter.clock.now
        )
    counter.clock.advance(minutes=1)
    accepted = accept_handover(
        db, reference=case.reference, actor=counter.actors["teller2"], now=counter.clock.now
    )
    assert accepted.status == "accepted"
    close_counter(db, actor=counter.actors["teller1"], now=counter.clock.now)
    with pytest.raises(InvalidInput):  # now it is teller2's
        close_counter(db, actor=counter.actors["teller2"], now=counter.clock.now)
    kinds = [e.kind for e in counter.desk.journal(reference=case.reference)]
    assert kinds[-2:] == ["handover_offer", "handover_accept"]
    assert journal.verify(db).ok
    again = counter.desk.get(reference=case.reference, actor=counter.actors["teller2"])
    assert again.version == case.version  # a handover is no step of the workflow


def test_accepting_needs_an_open_counter(counter: Counter) -> None:
    open_at(counter, "teller1")
    case = identified(counter)
    _offer(counter, case.reference)
    with pytest.raises(PermissionDenied, match="Open your counter"):
        accept_handover(
            counter.desk.db,
            reference=case.reference,
            actor=counter.actors["teller2"],
            now=counter.clock.now,
        )


def test_declined_and_withdrawn_offers_leave_the_case_where_it_was(counter: Counter) -> None:
    db = counter.desk.db
    open_at(counter, "teller1")
    case = identified(counter)
    _offer(counter, case.reference)
    with pytest.raises(InvalidInput, match="already has a pending handover"):
        _offer(counter, case.reference, to="senior1")
    decline_handover(
        db, reference=case.reference, actor=counter.actors["teller2"], now=counter.clock.now
    )
    _offer(counter, case.reference, to="senior1")
    with pytest.raises(PermissionDenied):
        withdraw_handover(
            db, reference=case.reference, actor=counter.actors["teller2"], now=counter.clock.now
        )
    withdraw_handover(
        db, reference=case.reference, actor=counter.actors["teller1"], now=counter.clock.now
    )
    with pytest.raises(NotFound):
        accept_handover(
            db, reference=case.reference, actor=counter.actors["senior1"], now=counter.clock.now
        )
    assert pending_handovers(db, branch="BJ001") == []
    with pytest.raises(InvalidInput):
        close_counter(db, actor=counter.actors["teller1"], now=counter.clock.now)


def test_only_the_responsible_teller_offers_and_only_to_a_teller(counter: Counter) -> None:
    open_at(counter, "teller1")
    case = identified(counter)
    with pytest.raises(PermissionDenied):
        offer_handover(
            counter.desk.db,
            reference=case.reference,
            actor=counter.actors["teller2"],
            to_teller="senior1",
            now=counter.clock.now,
        )
    with pytest.raises(InvalidInput, match="not an active teller"):
        _offer(counter, case.reference, to="supervisor1")
    with pytest.raises(InvalidInput, match="oneself"):
        _offer(counter, case.reference, to="teller1")


def test_a_handover_note_follows_the_text_rules(counter: Counter) -> None:
    open_at(counter, "teller1", window=1)
    open_at(counter, "teller2", window=2)
    case = identified(counter)
    with pytest.raises(InvalidInput) as refused:
        offer_handover(
            counter.desk.db,
            reference=case.reference,
            actor=counter.actors["teller1"],
            to_teller="teller2",
            note="午休\x1b[2J交接",
            now=counter.clock.now,
        )
    assert [(f.field, f.code) for f in refused.value.fields] == [("note", "control_character")]
    assert pending_handovers(counter.desk.db, branch="BJ001", to_teller="teller2") == []
