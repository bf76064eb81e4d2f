"""Idle flagship cases expire by the sweeper; a request with the acquirer never does."""

from __future__ import annotations

from datetime import timedelta

from counter.cases.sweeper import Sweeper

from .helpers import ZHANG_SAN, Counter


def test_an_idle_case_expires_with_its_reason_journaled(counter_manual: Counter) -> None:
    counter = counter_manual
    case = counter.through_identity(ZHANG_SAN)
    counter.clock.advance(hours=9)

    report = Sweeper(counter.desk, idle=timedelta(hours=8)).run_once()

    assert case.reference in report.expired
    expired = counter.reloaded(
        counter.desk.get(reference=case.reference, actor=counter.actors["supervisor1"])
    )
    assert expired.state == "expired"
    last = counter.desk.journal(reference=case.reference)[-1]
    assert (last.actor, last.trigger, last.to_state) == ("system", "expire", "expired")
    assert last.note


def test_a_case_touched_within_the_limit_stays_open(counter_manual: Counter) -> None:
    counter = counter_manual
    case = counter.through_identity(ZHANG_SAN)
    counter.clock.advance(hours=7)

    assert Sweeper(counter.desk, idle=timedelta(hours=8)).run_once().expired == []
    assert counter.desk.get(reference=case.reference, actor=counter.actors["teller1"]).state == (
        "info_check"
    )
