"""What a supervisor watches during the day: the branch right now, as figures and charts.

* open cases per state (every open case of the branch);
* the approval queue, oldest first, with how long each has waited;
* cases opened per hour today against the branch's usual day: the average
  per hour over the previous days (up to four weeks) on which the branch
  opened any case, so that closed days do not pull the average down;
* the slowest steps this week (cases opened in the last seven days), by
  median handling time: where tellers, supervisors or the acquirer lose time;
* who is at which window, and the handovers waiting for acceptance;
* the post-transaction review backlog: cases the back office has yet to
  review, and issues it raised that the branch has yet to answer.
* the steps refused today (``refused`` journal entries of the branch's
  cases: blocked by a check, forbidden, four eyes), by reason.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from counter.branchday import _tables as t
from counter.branchday.charts import Bar, Chart, Strip, bar_chart, hourly_chart, strip_chart
from counter.branchday.figures import Describe, StepTime, entries_since, step_times
from counter.branchday.handover import HandoverView, pending_handovers
from counter.branchday.sessions import CounterSessionView, branch_sessions
from counter.cases.post_review import review_backlog
from counter.cases.views import ApprovalView
from counter.store import journal
from counter.store.db import Database, as_utc
from counter.text import Text

__all__ = [
    "USUAL_DAYS",
    "Dashboard",
    "OpenState",
    "RefusalCount",
    "WaitingApproval",
    "dashboard",
    "refusals_today",
]

USUAL_DAYS = 28
SLOWEST = 6


@dataclass(frozen=True)
class OpenState:
    workflow: str
    workflow_title: Text
    state: str
    state_title: Text
    count: int


@dataclass(frozen=True)
class WaitingApproval:
    approval: ApprovalView
    waiting_minutes: int


@dataclass(frozen=True)
class RefusalCount:
    """How many of today's refusals gave one reason (a finding code, ``forbidden``, ...)."""

    code: str
    message: Text
    count: int


@dataclass(frozen=True)
class DashboardCharts:
    open_states: Chart
    hourly: Chart
    slowest: Chart


@dataclass(frozen=True)
class Dashboard:
    branch: str
    now: datetime
    open_states: list[OpenState]
    approvals: list[WaitingApproval]
    today_per_hour: list[int]
    usual_per_hour: list[float]
    usual_days: int
    slowest: list[StepTime]
    counters: list[CounterSessionView]
    handovers: list[HandoverView]
    charts: DashboardCharts
    reviews: dict[str, int] = dataclasses.field(default_factory=dict)  # post review backlog
    refused_today: int = 0
    refusal_reasons: tuple[RefusalCount, ...] = ()

    @property
    def open_cases(self) -> int:
        return sum(s.count for s in self.open_states)

    @property
    def opened_today(self) -> int:
        return sum(self.today_per_hour)


def _open_states(db: Database, branch: str, describe: Describe) -> list[OpenState]:
    c = t.cases
    with db.read() as conn:
        rows = conn.execute(
            select(c.c.workflow, c.c.definition_hash, c.c.state, func.count().label("n"))
            .where(c.c.branch == branch, c.c.closed_at.is_(None))
            .group_by(c.c.workflow, c.c.definition_hash, c.c.state)
        ).all()
    counts: Counter[tuple[str, str]] = Counter()
    hashes: dict[tuple[str, str], str] = {}
    for row in rows:
        counts[(row.workflow, row.state)] += row.n
        hashes[(row.workflow, row.state)] = row.definition_hash
    states = []
    for (workflow, state), count in sorted(counts.items()):
        try:
            definition = describe(hashes[(workflow, state)]).definition
            titles = (definition.title, definition.state_title(state))
        except Exception:  # a definition that cannot be brought back still has a name
            titles = (Text(zh=workflow, en=workflow), Text(zh=state, en=state))
        states.append(OpenState(workflow, titles[0], state, titles[1], count))
    return states


def refusals_today(
    db: Database, *, branch: str, now: datetime
) -> tuple[int, list[RefusalCount]]:
    """Today's refused steps on the branch's cases, and how often each reason came up."""
    start, _ = t.day_bounds(t.local_day(now))
    e, c = t.events, t.cases
    with db.read() as conn:
        rows = conn.execute(
            select(e.c.findings)
            .join(c, c.c.reference == e.c.stream)
            .where(c.c.branch == branch, e.c.kind == journal.REFUSED, e.c.at >= start)
        ).scalars().all()
    counts: Counter[str] = Counter()
    messages: dict[str, Text] = {}
    for findings in rows:
        for finding in findings or []:
            code = str(finding.get("code"))
            counts[code] += 1
            message = finding.get("message") or {}
            messages.setdefault(code, Text(zh=str(message.get("zh", code)),
                                           en=str(message.get("en", code))))
    reasons = [RefusalCount(code, messages[code], n) for code, n in counts.most_common()]
    return len(rows), reasons


def _per_hour(db: Database, branch: str, now: datetime) -> tuple[list[int], list[float], int]:
    start, _ = t.day_bounds(t.local_day(now))
    since = start - timedelta(days=USUAL_DAYS)
    c = t.cases
    with db.read() as conn:
        opened = conn.execute(
            select(c.c.opened_at).where(c.c.branch == branch, c.c.opened_at >= since)
        ).scalars()
        today = [0] * 24
        before: Counter[int] = Counter()
        days: set[str] = set()
        for at in opened:
            local = as_utc(at).astimezone(t.BRANCH_ZONE)
            if as_utc(at) >= start:
                today[local.hour] += 1
            else:
                before[local.hour] += 1
                days.add(local.date().isoformat())
    usual = [before[hour] / len(days) if days else 0.0 for hour in range(24)]
    return today, usual, len(days)


def dashboard(
    db: Database,
    *,
    branch: str,
    approvals: list[ApprovalView],
    describe: Describe,
    now: datetime,
    lang: str = "zh",
    workflow_titles: Mapping[str, Text] | None = None,
) -> Dashboard:
    """The branch now; ``approvals`` are the desk's open approvals in the supervisor's reach.

    ``workflow_titles`` names the services in the charts (their identifiers otherwise).
    """
    titles = workflow_titles or {}
    open_states = _open_states(db, branch, describe)
    today, usual, days = _per_hour(db, branch, now)
    refused, reasons = refusals_today(db, branch=branch, now=now)
    slowest = step_times(
        entries_since(db, branch=branch, since=now - timedelta(days=7)), describe, slowest=SLOWEST
    )
    waiting = [
        WaitingApproval(a, max(0, int((now - a.raised_at).total_seconds() // 60)))
        for a in approvals
    ]
    words = _CHART_WORDS[lang if lang in _CHART_WORDS else "zh"]
    charts = DashboardCharts(
        open_states=bar_chart(
            [
                Bar(f"{s.workflow_title.pick(lang)} · {s.state_title.pick(lang)}", s.count)
                for s in open_states
            ],
            words["open"],
            label_width=260,
        ),
        hourly=hourly_chart(today, usual, words["hourly"], legend=(words["today"], words["usual"])),
        slowest=strip_chart(
            [
                Strip(
                    f"{titles[s.workflow].pick(lang) if s.workflow in titles else s.workflow}"
                    f" · {s.title.pick(lang)}",
                    s.samples,
                    s.median,
                    s.p90,
                )
                for s in slowest
            ],
            words["slowest"],
            label_width=260,
        ),
    )
    return Dashboard(
        branch=branch,
        now=now,
        open_states=open_states,
        approvals=waiting,
        today_per_hour=today,
        usual_per_hour=usual,
        usual_days=days,
        slowest=slowest,
        counters=branch_sessions(db, branch=branch),
        handovers=pending_handovers(db, branch=branch),
        charts=charts,
        reviews=review_backlog(db, branch=branch),
        refused_today=refused,
        refusal_reasons=tuple(reasons),
    )


_CHART_WORDS = {
    "zh": {
        "open": "在办业务(按环节)",
        "hourly": "今日每小时受理量与平日对比",
        "today": "今日",
        "usual": "平日均值",
        "slowest": "本周最慢环节(黑线:中位数,橙线:P90)",
    },
    "en": {
        "open": "Open cases by state",
        "hourly": "Cases opened per hour: today against the usual day",
        "today": "Today",
        "usual": "Usual day",
        "slowest": "Slowest steps this week (black: median, orange: p90)",
    },
}
