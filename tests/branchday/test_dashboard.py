"""The dashboard's figures: open cases per state, the queue, today against the usual day."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flagship.helpers import CLEAN, FROZEN, Counter, blocked

from counter.branchday import close_counter
from counter.branchday.dashboard import Dashboard, dashboard
from counter.errors import PermissionDenied

from .helpers import awaiting_approval, cancelled, identified, open_at

pytestmark = pytest.mark.postgres  # SQLite and PostgreSQL


def _board(counter: Counter) -> Dashboard:
    return dashboard(
        counter.desk.db,
        branch="BJ001",
        approvals=counter.desk.approvals(actor=counter.actors["supervisor1"]),
        describe=counter.desk.workflow_of,
        now=counter.clock.now,
    )


def test_today_against_the_usual_day_and_the_branch_now(counter: Counter) -> None:
    # Two earlier business days: 10:xx Beijing (02:xx UTC), three cases then one.
    for back, cases in ((2, 3), (1, 1)):
        counter.clock.now -= timedelta(days=back)
        open_at(counter, "teller2", window=2)
        for _ in range(cases):
            cancelled(counter, "teller2")
        close_counter(counter.desk.db, actor=counter.actors["teller2"], now=counter.clock.now)
        counter.clock.now += timedelta(days=back)
    open_at(counter, "teller1", window=1)
    waiting = awaiting_approval(counter)
    counter.clock.advance(minutes=12)
    identified(counter)
    board = _board(counter)
    assert board.today_per_hour[10] == 2 and board.opened_today == 2
    assert board.usual_days == 2 and board.usual_per_hour[10] == 2.0  # (3 + 1) / 2
    assert {(s.state, s.count) for s in board.open_states} == {
        ("supervisor_review", 1),
        ("info_check", 1),
    }
    assert [
        (w.approval.case_reference, w.approval.channel, w.waiting_minutes) for w in board.approvals
    ] == [(waiting.reference, "counter", 12)]
    assert [c.teller for c in board.counters] == ["teller1"]
    assert board.slowest[0].median >= board.slowest[-1].median
    assert board.charts.hourly.svg.startswith("<svg")


def test_todays_refusals_are_counted_by_reason(counter: Counter) -> None:
    open_at(counter, "teller1", window=1)
    case = identified(counter)
    for _ in range(2):
        assert blocked(counter, case, "submit_binding", FROZEN.form())
    with pytest.raises(PermissionDenied):
        counter.fire(case, "submit_binding", CLEAN.form(), actor="supervisor1")
    counter.clock.now -= timedelta(days=1)  # yesterday's refusal is not today's
    older = identified(counter)
    assert blocked(counter, older, "submit_binding", FROZEN.form())
    counter.clock.now += timedelta(days=1)
    board = _board(counter)
    assert board.refused_today == 3
    reasons = {r.code: r.count for r in board.refusal_reasons}
    assert reasons["merchant_frozen_judicial"] == 2 and reasons["forbidden"] == 1
    frozen = next(r for r in board.refusal_reasons if r.code == "merchant_frozen_judicial")
    assert "冻结" in frozen.message.zh
