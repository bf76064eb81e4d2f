"""The figures of a branch's day, read from the journal (``case_events``).

The cases of a day are those numbered that day (a case reference carries
its branch and local day: ``BJ001-20261125-000001``). Every figure comes
from their journal entries: outcome is the last step's ``to_state``, the
teller is whoever wrote the ``open`` entry, a finding is approved by whoever
wrote the ``approval`` entry that follows it, and a step's handling time is
the time from the case's previous step to it, counted against the state it
left (the time a teller, a supervisor or the acquirer spent in that state).
The chain verification recomputes the hashes of those streams and of the
branch's own stream.
"""

from __future__ import annotations

import json
import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from itertools import pairwise
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Connection, select

from counter.branchday import _tables as t
from counter.cases.post_review import open_issues, review_backlog
from counter.engine.loader import Workflow
from counter.store import journal
from counter.store.db import Database
from counter.text import Text

__all__ = [
    "CaseEnd",
    "ChainCheck",
    "DayFigures",
    "FindingTally",
    "ReviewBacklog",
    "StepTime",
    "TellerTally",
    "WorkflowTally",
    "day_figures",
    "percentile",
    "step_times",
]

Describe = Callable[[str], Workflow]
"""The definition version of a case by its hash (``Desk.workflow_of``), for titles."""
Progress = Callable[[int, int], None]


class _Figure(BaseModel):
    model_config = ConfigDict(frozen=True)


class WorkflowTally(_Figure):
    """Cases of one workflow by outcome (final or current state)."""

    workflow: str
    title: Text
    outcomes: dict[str, int]
    outcome_titles: dict[str, Text]

    @property
    def total(self) -> int:
        return sum(self.outcomes.values())


class TellerTally(_Figure):
    """What one person did that day on the day's cases."""

    teller: str
    opened: int
    outcomes: dict[str, int]  # of the cases they opened
    steps: int  # steps they fired (opening excluded)
    approvals: int  # approve or reject decisions they made
    reprints: int
    handovers_accepted: int


class FindingTally(_Figure):
    """One finding code: how often steps raised it and who decided on it."""

    code: str
    severity: str
    message: Text
    raised: int
    approved_by: dict[str, int]
    rejected_by: dict[str, int]


class CaseEnd(_Figure):
    """A cancelled or expired case, who ended it and why."""

    reference: str
    workflow: str
    actor: str
    at: datetime
    reason: str | None


class Reprint(_Figure):
    reference: str
    actor: str
    at: datetime


class StepTime(_Figure):
    """Handling time in one state of one workflow, in seconds."""

    workflow: str
    state: str
    title: Text
    count: int
    median: float
    p90: float
    samples: list[float]


class ChainCheck(_Figure):
    """The journal chain verification of the day's streams."""

    streams: int
    entries: int
    broken: list[str]

    @property
    def ok(self) -> bool:
        return not self.broken


class ReviewIssue(_Figure):
    """An issue the back office raised on a case that the branch has yet to answer."""

    review: int
    reference: str
    day: str
    reviewer: str | None
    issue: str | None


class ReviewBacklog(_Figure):
    """The branch's post-transaction review backlog when the report was drawn."""

    to_review: int = 0  # drawn cases the back office has yet to review
    to_answer: int = 0  # issues raised that the branch's supervisor has yet to answer
    issues: list[ReviewIssue] = []


class DayFigures(_Figure):
    """Everything the end-of-day report shows; stored as JSON with the closed day."""

    branch: str
    branch_name: Text
    day: date
    generated_at: datetime
    cases: int
    outcomes: dict[str, int]
    workflows: list[WorkflowTally]
    tellers: list[TellerTally]
    findings: list[FindingTally]
    slips: int
    reprints: list[Reprint]
    cancellations: list[CaseEnd]
    expiries: list[CaseEnd]
    step_times: list[StepTime]
    chain: ChainCheck
    reviews: ReviewBacklog = ReviewBacklog()  # days closed before it was shown: none


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (``share`` from 0 to 1) of ``values``; 0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return float(ordered[rank - 1])


class _Entry:
    """One journal row with the case's workflow, as this module reads it."""

    __slots__ = (
        "actor",
        "at",
        "definition_hash",
        "findings",
        "from_state",
        "kind",
        "note",
        "stream",
        "to_state",
        "trigger",
        "workflow",
    )

    def __init__(self, row: Any) -> None:
        for name in self.__slots__:
            setattr(self, name, getattr(row, name))


def _entries(
    conn: Connection, branch: str, since: datetime | None, prefix: str | None
) -> list[Any]:
    e, c = t.events, t.cases
    query = (
        select(
            e.c.stream,
            e.c.seq,
            e.c.at,
            e.c.actor,
            e.c.kind,
            e.c.trigger,
            e.c.from_state,
            e.c.to_state,
            e.c.findings,
            e.c.note,
            c.c.workflow,
            c.c.definition_hash,
        )
        .join(c, c.c.reference == e.c.stream)
        .where(c.c.branch == branch)
        .order_by(e.c.stream, e.c.seq)
    )
    if prefix is not None:
        query = query.where(e.c.stream.startswith(prefix, autoescape=True))
    if since is not None:
        query = query.where(c.c.opened_at >= since)
    return [_Entry(row) for row in conn.execute(query)]


def _streams(entries: Iterable[Any]) -> dict[str, list[Any]]:
    by_stream: dict[str, list[Any]] = defaultdict(list)
    for entry in entries:
        by_stream[entry.stream].append(entry)
    return by_stream


def _durations(streams: dict[str, list[Any]]) -> dict[tuple[str, str, str], list[float]]:
    """Seconds spent in each (workflow, definition hash, state) before the step that left it."""
    spent: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for entries in streams.values():
        steps = [e for e in entries if e.kind in journal.STEP_KINDS]
        for before, step in pairwise(steps):
            if step.from_state is None:
                continue
            seconds = (step.at - before.at).total_seconds()
            spent[(step.workflow, step.definition_hash, step.from_state)].append(max(0.0, seconds))
    return spent


def step_times(
    streams: dict[str, list[Any]], describe: Describe, *, slowest: int | None = None
) -> list[StepTime]:
    """Median and p90 per (workflow, state); the slowest first when ``slowest`` is given."""
    pooled: dict[tuple[str, str], list[float]] = defaultdict(list)
    hashes: dict[tuple[str, str], str] = {}
    for (workflow, definition_hash, state), seconds in _durations(streams).items():
        pooled[(workflow, state)].extend(seconds)
        hashes[(workflow, state)] = definition_hash
    times = [
        StepTime(
            workflow=workflow,
            state=state,
            title=_state_title(describe, hashes[(workflow, state)], state),
            count=len(seconds),
            median=float(statistics.median(seconds)),
            p90=percentile(seconds, 0.9),
            samples=sorted(seconds),
        )
        for (workflow, state), seconds in pooled.items()
    ]
    if slowest is not None:
        return sorted(times, key=lambda s: (-s.median, -s.p90, s.workflow, s.state))[:slowest]
    return sorted(times, key=lambda s: (s.workflow, s.state))


def _state_title(describe: Describe, definition_hash: str, state: str) -> Text:
    try:
        return describe(definition_hash).definition.state_title(state)
    except Exception:  # a definition that cannot be brought back still has a name
        return Text(zh=state, en=state)


def _workflow_title(describe: Describe, definition_hash: str, workflow: str) -> Text:
    try:
        return describe(definition_hash).definition.title
    except Exception:
        return Text(zh=workflow, en=workflow)


def entries_since(db: Database, *, branch: str, since: datetime) -> dict[str, list[Any]]:
    """The journal of the branch's cases opened since ``since``, by case (for the dashboard)."""
    with db.read() as conn:
        return _streams(_entries(conn, branch, since, None))


def day_figures(
    db: Database,
    *,
    branch: str,
    day: date,
    describe: Describe,
    now: datetime,
    on_progress: Progress | None = None,
) -> DayFigures:
    """The figures of ``branch``'s business day ``day`` (see the module docstring)."""
    prefix = f"{branch}-{day:%Y%m%d}-"
    with db.read() as conn:
        streams = _streams(_entries(conn, branch, None, prefix))
        name = conn.execute(
            select(t.branches.c.name_zh, t.branches.c.name_en).where(t.branches.c.code == branch)
        ).first()
    tally = _Tally(describe)
    for entries in streams.values():
        tally.case(entries)
    return DayFigures(
        branch=branch,
        branch_name=Text(zh=name.name_zh, en=name.name_en) if name else Text(zh=branch, en=branch),
        day=day,
        generated_at=now,
        cases=len(streams),
        outcomes=dict(sorted(Counter(tally.outcome.values()).items())),
        workflows=tally.workflows(),
        tellers=tally.tellers(),
        findings=tally.findings(),
        slips=tally.slips,
        reprints=tally.reprints,
        cancellations=tally.cancellations,
        expiries=tally.expiries,
        step_times=step_times(streams, describe),
        chain=verify_streams(db, [*sorted(streams), f"branch:{branch}"], on_progress),
        reviews=backlog_of(db, branch),
    )


def backlog_of(db: Database, branch: str) -> ReviewBacklog:
    """The branch's review backlog now, with the issues it must answer."""
    issues = [
        ReviewIssue(review=r.id, reference=r.case_reference, day=r.day,
                    reviewer=r.reviewer, issue=r.issue)
        for r in open_issues(db, branch=branch)
    ]
    return ReviewBacklog(
        to_review=review_backlog(db, branch=branch)["open"],
        to_answer=len(issues),
        issues=issues,
    )


def verify_streams(
    db: Database, streams: Sequence[str], on_progress: Progress | None
) -> ChainCheck:
    """Recompute the chain of each stream (and check each case against its journal)."""
    entries = checked = 0
    broken: list[str] = []
    for done, stream in enumerate(streams, start=1):
        report = journal.verify(db, stream=stream)
        checked += report.streams
        entries += report.entries
        broken.extend(str(b) for b in report.broken)
        if on_progress is not None:
            on_progress(done, len(streams))
    return ChainCheck(streams=checked, entries=entries, broken=broken)


class _Tally:
    """Walks the day's cases one at a time and counts (see the module docstring)."""

    def __init__(self, describe: Describe) -> None:
        self.describe = describe
        self.outcome: dict[str, str] = {}
        self.workflow_of: dict[str, tuple[str, str]] = {}
        self.opened_by: dict[str, str] = {}
        self.steps: Counter[str] = Counter()
        self.decisions: Counter[str] = Counter()
        self.reprint_count: Counter[str] = Counter()
        self.accepted: Counter[str] = Counter()
        self.raised: dict[str, dict[str, Any]] = {}
        self.slips = 0
        self.reprints: list[Reprint] = []
        self.cancellations: list[CaseEnd] = []
        self.expiries: list[CaseEnd] = []

    def case(self, entries: list[Any]) -> None:
        reference = entries[0].stream
        self.workflow_of[reference] = (entries[0].workflow, entries[0].definition_hash)
        steps = [e for e in entries if e.kind in journal.STEP_KINDS]
        if steps:
            self.outcome[reference] = steps[-1].to_state
        for number, entry in enumerate(entries):
            self._entry(reference, entry, entries[number + 1 :])

    def _entry(self, reference: str, entry: Any, later: list[Any]) -> None:
        if entry.kind == "open":
            self.opened_by[reference] = entry.actor
        elif entry.kind in journal.STEP_KINDS and entry.actor != "system":
            self.steps[entry.actor] += 1
            if entry.kind == "approval":
                self.decisions[entry.actor] += 1
        elif entry.kind == "slip":
            self.slips += 1
        elif entry.kind == "reprint":
            self.reprint_count[entry.actor] += 1
            self.reprints.append(Reprint(reference=reference, actor=entry.actor, at=entry.at))
        elif entry.kind == "handover_accept":
            self.accepted[entry.actor] += 1
        if entry.kind in journal.STEP_KINDS:
            if entry.findings:
                self._findings(entry, later)
            ended = CaseEnd(
                reference=reference,
                workflow=entry.workflow,
                actor=entry.actor,
                at=entry.at,
                reason=entry.note,
            )
            if entry.trigger == "cancel":
                self.cancellations.append(ended)
            elif entry.to_state == "expired":
                self.expiries.append(ended)

    def _findings(self, entry: Any, later: list[Any]) -> None:
        decision = next((e for e in later if e.kind in journal.STEP_KINDS), None)
        for finding in entry.findings:
            code = str(finding.get("code", "?"))
            seen = self.raised.setdefault(
                code,
                {
                    "severity": str(finding.get("severity", "")),
                    "message": Text.model_validate(
                        finding.get("message") or {"zh": code, "en": code}
                    ),
                    "raised": 0,
                    "approved_by": Counter(),
                    "rejected_by": Counter(),
                },
            )
            seen["raised"] += 1
            if decision is not None and decision.kind == "approval":
                side = "approved_by" if decision.trigger == "approve" else "rejected_by"
                seen[side][decision.actor] += 1

    def workflows(self) -> list[WorkflowTally]:
        by_workflow: dict[str, Counter[str]] = defaultdict(Counter)
        hashes: dict[str, str] = {}
        for reference, outcome in self.outcome.items():
            workflow, definition_hash = self.workflow_of[reference]
            by_workflow[workflow][outcome] += 1
            hashes[workflow] = definition_hash
        return [
            WorkflowTally(
                workflow=workflow,
                title=_workflow_title(self.describe, hashes[workflow], workflow),
                outcomes=dict(sorted(outcomes.items())),
                outcome_titles={
                    state: _state_title(self.describe, hashes[workflow], state)
                    for state in outcomes
                },
            )
            for workflow, outcomes in sorted(by_workflow.items())
        ]

    def tellers(self) -> list[TellerTally]:
        people = set(self.opened_by.values()) | set(self.steps) | set(self.reprint_count)
        people |= set(self.accepted)
        rows = []
        for person in sorted(people):
            mine = [r for r, who in self.opened_by.items() if who == person]
            rows.append(
                TellerTally(
                    teller=person,
                    opened=len(mine),
                    outcomes=dict(sorted(Counter(self.outcome[r] for r in mine).items())),
                    steps=self.steps[person],
                    approvals=self.decisions[person],
                    reprints=self.reprint_count[person],
                    handovers_accepted=self.accepted[person],
                )
            )
        return rows

    def findings(self) -> list[FindingTally]:
        return [
            FindingTally(
                code=code,
                severity=seen["severity"],
                message=seen["message"],
                raised=seen["raised"],
                approved_by=dict(sorted(seen["approved_by"].items())),
                rejected_by=dict(sorted(seen["rejected_by"].items())),
            )
            for code, seen in sorted(self.raised.items())
        ]


def figures_json(figures: DayFigures) -> dict[str, Any]:
    """The figures as plain JSON (what ``branch_day.figures`` stores)."""
    loaded: dict[str, Any] = json.loads(figures.model_dump_json())
    return loaded
