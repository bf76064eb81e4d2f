"""End of day: refused while anything is open, then the report equals the journal's own counts."""

from __future__ import annotations

import hashlib
import io
import json
from collections import Counter as Tally

import pytest
from flagship.helpers import Counter
from pypdf import PdfReader
from sqlalchemy import select

from counter.branchday import _tables as t
from counter.branchday import close_counter, open_counter
from counter.branchday.closing import ClosedDay, close_day, closed_day
from counter.branchday.figures import day_figures
from counter.branchday.report import report_html
from counter.engine.types import Actor
from counter.errors import InvalidInput, PermissionDenied
from counter.slips.issue import reprint_slip
from counter.store import journal

from .helpers import awaiting_approval, cancelled, completed, identified, open_at

DAY_PREFIX = "BJ001-20261125-"

pytestmark = pytest.mark.postgres  # SQLite and PostgreSQL


def _close(counter: Counter, who: str = "supervisor1") -> ClosedDay:
    return close_day(
        counter.desk.db,
        branch="BJ001",
        actor=counter.actors[who],
        describe=counter.desk.workflow_of,
        now=counter.clock.now,
    )


def _close_counters(counter: Counter, *tellers: str) -> None:
    for teller in tellers:
        close_counter(counter.desk.db, actor=counter.actors[teller], now=counter.clock.now)


def _a_day(counter: Counter) -> dict[str, str]:
    """Two tellers' day: done and reprinted, cancelled, approved then cancelled, expired."""
    open_at(counter, "teller1", window=1)
    open_at(counter, "teller2", window=2)
    done = completed(counter, "teller1")
    gone = cancelled(counter, "teller1", reason="客户资料不全")
    review = awaiting_approval(counter, "teller2")
    idle = identified(counter, "teller1")
    counter.clock.advance(minutes=7)
    counter.fire(review, "approve", {}, actor="supervisor1")
    counter.clock.advance(minutes=2)
    counter.fire(review, "cancel", {"reason": "客户改期"}, actor="teller2")
    counter.clock.advance(minutes=1)
    counter.desk.fire(
        reference=idle.reference,
        trigger="expire",
        actor=Actor.system(),
        data={"reason": "idle for too long"},
    )
    reprint_slip(counter.desk, reference=done.reference, actor=counter.actors["teller1"])
    return {
        "done": done.reference,
        "gone": gone.reference,
        "review": review.reference,
        "idle": idle.reference,
    }


def test_refused_with_an_open_case_then_a_waiting_approval_then_open_counters(
    counter: Counter,
) -> None:
    open_at(counter, "teller1")
    case = identified(counter)
    with pytest.raises(InvalidInput) as refused:
        _close(counter)
    assert refused.value.context["open_cases"] == [case.reference]
    assert "未办结" in refused.value.message.zh and "still open" in refused.value.message.en

    counter.fire(case, "cancel", {"reason": "客户离开"}, actor="teller1")
    waiting = awaiting_approval(counter)
    with pytest.raises(InvalidInput) as refused:
        _close(counter)
    assert refused.value.context["waiting_approvals"] == [waiting.reference]
    assert "待主管审批" in refused.value.message.zh

    counter.fire(waiting, "reject", {"reason": "照片不符"}, actor="supervisor1")
    with pytest.raises(InvalidInput) as refused:
        _close(counter)
    assert refused.value.context["open_counters"] == ["teller1"]

    _close_counters(counter, "teller1")
    closed = _close(counter)
    assert closed.pdf.startswith(b"%PDF")


def test_only_a_supervisor_of_the_branch_closes_it(counter: Counter) -> None:
    with pytest.raises(PermissionDenied):
        _close(counter, "teller1")
    stranger = Actor("supervisor9", frozenset({"supervisor"}), "B002")
    with pytest.raises(PermissionDenied):
        close_day(
            counter.desk.db,
            branch="BJ001",
            actor=stranger,
            describe=counter.desk.workflow_of,
            now=counter.clock.now,
        )


def test_closing_is_journaled_with_the_report_hash_and_happens_once(counter: Counter) -> None:
    refs = _a_day(counter)
    _close_counters(counter, "teller1", "teller2")
    counter.clock.advance(minutes=30)
    closed = _close(counter)
    sha = hashlib.sha256(closed.pdf).hexdigest()
    assert closed.report_sha256 == sha
    db = counter.desk.db
    with db.read() as conn:
        entries = journal.entries(conn, "branch:BJ001")
    assert [(e.kind, e.actor, e.data_digest) for e in entries] == [
        ("day_close", "supervisor1", sha)
    ]
    assert json.loads(entries[0].note or "{}")["cases"] == len(refs)
    stored = closed_day(db, branch="BJ001", day=closed.day)
    assert stored.pdf == closed.pdf and stored.figures == closed.figures
    with pytest.raises(InvalidInput, match="closed 2026-11-25 already"):
        _close(counter)
    with pytest.raises(InvalidInput, match="closed today's business"):
        open_counter(db, actor=counter.actors["teller1"], window=1, now=counter.clock.now)
    assert journal.verify(db).ok


def _independent_counts(counter: Counter) -> dict[str, object]:
    """The day's counts straight from case_events (and teller_case for the workflow)."""
    e, c = t.events, t.cases
    with counter.desk.db.read() as conn:
        rows = conn.execute(
            select(
                e.c.stream,
                e.c.seq,
                e.c.actor,
                e.c.kind,
                e.c.trigger,
                e.c.to_state,
                e.c.findings,
                c.c.workflow,
            )
            .join(c, c.c.reference == e.c.stream)
            .where(e.c.stream.like(DAY_PREFIX + "%"))
            .order_by(e.c.stream, e.c.seq)
        ).all()
    last_state: dict[str, str] = {}
    workflow: dict[str, str] = {}
    opener: dict[str, str] = {}
    findings: Tally[str] = Tally()
    approved: Tally[tuple[str, str]] = Tally()
    pending_codes: list[str] = []
    for row in rows:
        workflow[row.stream] = row.workflow
        if row.kind in ("open", "trigger", "approval"):
            last_state[row.stream] = row.to_state
            if row.kind == "approval" and row.trigger == "approve":
                approved.update((code, row.actor) for code in pending_codes)
            pending_codes = [f["code"] for f in row.findings]
            findings.update(pending_codes)
        if row.kind == "open":
            opener[row.stream] = row.actor
    return {
        "cases": len(last_state),
        "by_workflow": Tally((workflow[s], state) for s, state in last_state.items()),
        "opened": Tally(opener.values()),
        "cancelled": sum(1 for r in rows if r.trigger == "cancel"),
        "expired": sum(1 for r in rows if r.to_state == "expired"),
        "reprints": sum(1 for r in rows if r.kind == "reprint"),
        "slips": sum(1 for r in rows if r.kind == "slip"),
        "findings": findings,
        "approved": approved,
    }


def test_the_report_figures_equal_counts_from_the_journal(counter: Counter) -> None:
    _a_day(counter)
    _close_counters(counter, "teller1", "teller2")
    closed = _close(counter)
    f = closed.figures
    expected = _independent_counts(counter)
    assert f.cases == expected["cases"] == 4
    assert (
        Tally({(w.workflow, state): n for w in f.workflows for state, n in w.outcomes.items()})
        == expected["by_workflow"]
    )
    assert {p.teller: p.opened for p in f.tellers if p.opened} == dict(expected["opened"])
    assert len(f.cancellations) == expected["cancelled"] == 2
    assert len(f.expiries) == expected["expired"] == 1
    assert len(f.reprints) == expected["reprints"] == 1
    assert f.slips == expected["slips"] == 1
    assert {x.code: x.raised for x in f.findings} == dict(expected["findings"])
    assert (
        Tally({(x.code, who): n for x in f.findings for who, n in x.approved_by.items()})
        == expected["approved"]
    )
    assert expected["approved"], "the day should hold an approved finding"
    assert f.outcomes == {"cancelled": 2, "completed": 1, "expired": 1}
    assert f.chain.ok and f.chain.streams == 4  # branch:BJ001 has no entry before the close


def test_handling_times_are_median_and_p90_of_journal_gaps(counter: Counter) -> None:
    refs = _a_day(counter)
    _close_counters(counter, "teller1", "teller2")
    f = _close(counter).figures
    entries = counter.desk.journal(reference=refs["review"])
    raised = next(e for e in entries if e.to_state == "supervisor_review")
    decided = next(e for e in entries if e.kind == "approval")
    review = next(s for s in f.step_times if s.state == "supervisor_review")
    assert review.count == 1
    assert review.median == review.p90 == (decided.at - raised.at).total_seconds() == 450
    identity = next(
        s for s in f.step_times if s.workflow == "pos_unbind" and s.state == "identity_check"
    )
    assert identity.samples == [15, 30, 30, 30]  # three identities, one cancel at 15 s
    assert (identity.median, identity.p90) == (30, 30)


def test_the_pdf_holds_the_chinese_title_and_the_figures(counter: Counter) -> None:
    _a_day(counter)
    _close_counters(counter, "teller1", "teller2")
    closed = _close(counter)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(closed.pdf)).pages)
    squeezed = "".join(text.split())
    assert "网点日终报告" in squeezed
    assert "End-of-dayreport" in squeezed
    assert "北京分行营业部" in squeezed
    for needle in ("teller1", "teller2", "supervisor1", "客户资料不全", "2026-11-25"):
        assert needle in squeezed, needle
    assert "校验通过" in squeezed


def test_the_report_escapes_what_people_typed(counter: Counter) -> None:
    open_at(counter)
    cancelled(counter, reason='<img src=x onerror="alert(1)">')
    figures = day_figures(
        counter.desk.db,
        branch="BJ001",
        day=counter.today(),
        describe=counter.desk.workflow_of,
        now=counter.clock.now,
    )
    html = report_html(figures, closed_by=None)
    assert "<img" not in html and "&lt;img src=x" in html
    assert "预览" in html  # not closed: a preview
