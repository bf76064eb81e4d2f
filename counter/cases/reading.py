"""Reading cases: access rules, loading (with a small cache of recent rows), views.

Who sees what: tellers and supervisors see and act on the cases of their own
branch only; auditors, admins and the back office's post reviewers read
every case and change none; the
``system`` actor (dispatcher) acts on any.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select

from counter.banking._clean import normalize_name
from counter.cases import records
from counter.cases.backlog import delivery_progress
from counter.cases.records import CaseRow
from counter.cases.services import Services
from counter.cases.views import (
    ApprovalView,
    CaseSummary,
    CaseView,
    FindingView,
    JournalEntryView,
    WaitingView,
)
from counter.engine.authority import is_remote
from counter.engine.cleaning import clean_field
from counter.engine.loader import Workflow
from counter.engine.runtime import Runtime
from counter.engine.types import Actor, CaseSnapshot, PendingApproval
from counter.errors import NotFound, PermissionDenied
from counter.store import journal
from counter.store.db import Database
from counter.store.tables import CaseEvent
from counter.text import Text

__all__ = [
    "CASE_ROLES",
    "OWN_CASE_ROLES",
    "READ_ALL_ROLES",
    "REMOTE_ROLES",
    "SYSTEM",
    "WAITING",
    "CaseReader",
    "check_change",
    "check_read",
    "not_found",
    "waiting_views",
]

CASE_ROLES = frozenset(
    {"teller", "supervisor", "reviewer", "service_agent", "branch_manager"}
)  # own branch
REMOTE_ROLES = frozenset({"authorizer"})
"""The remote authorization centre: decides approvals of every branch (the workflow's
``authority.remote`` says which approvals; no other trigger names the role), and reads the
cases whose approval waits for it or that it decided, no other (``Reading.check_row``)."""
OWN_CASE_ROLES = frozenset({"merchant"})  # may open cases; reads and acts on its own only
READ_ALL_ROLES = frozenset(
    {"auditor", "admin", "system", "post_reviewer"}
)  # may read any branch's cases (the back office's post reviewers too), change none
SYSTEM = "system"
RECENT_ROWS = 1024  # cases kept in memory between two steps of the same caller

_events = CaseEvent.__table__  # type: ignore[attr-defined]
_last_step_findings = (
    select(_events.c.findings)
    .where(_events.c.stream == bindparam("stream"), _events.c.kind.in_(journal.STEP_KINDS))
    .order_by(_events.c.seq.desc())
    .limit(1)
)
_decided_by = select(records.approvals.c.id).where(
    records.approvals.c.case_reference == bindparam("reference"),
    records.approvals.c.decided_by == bindparam("actor"),
).limit(1)
_open_approval = select(records.approvals).where(
    records.approvals.c.case_reference == bindparam("reference"),
    records.approvals.c.decided_at.is_(None),
)
_undelivered = select(records.outbox.c.kind).where(
    records.outbox.c.case_reference == bindparam("reference"),
    records.outbox.c.status == "pending",
)

WAITING: Mapping[str, Text] = {
    "acquirer": Text(zh="等待收单机构答复", en="Waiting for the acquirer"),
    "slip": Text(zh="凭条打印中", en="Slip being printed"),
}
"""What a case shows while an outbox message of a kind (``acquirer.unbind``: its part
before the dot) is undelivered. Each delivery moves the case's journal head (the
follow-up step, the slip's entry), so a page watching ``live_mark`` sees it end."""


def waiting_views(kinds: Iterable[str]) -> list[WaitingView]:
    """The ``WAITING`` lines for undelivered outbox ``kinds``, each once, in ``WAITING``'s order."""
    present = {kind.partition(".")[0] for kind in kinds}
    return [WaitingView(kind=kind, message=text) for kind, text in WAITING.items()
            if kind in present]


def plain(data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` as it reads back from a JSON column (dates as text, tuples as lists)."""
    loaded: dict[str, Any] = json.loads(journal.canonical_json(data))
    return loaded


def finding_views(raw: Any) -> list[FindingView]:
    return [FindingView.model_validate(f) for f in raw or []]


def approval_view(row: Any, **extra: Any) -> ApprovalView:
    return ApprovalView(
        id=row.id,
        case_reference=row.case_reference,
        trigger=row.trigger,
        source=row.source,
        dest=row.dest,
        raised_by=row.raised_by,
        raised_at=row.raised_at,
        findings=finding_views(row.findings),
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        decision=row.decision,
        reason=row.reason,
        level=row.level,
        escalated_to=row.escalated_to,
        escalated_at=row.escalated_at,
        **extra,
    )


def not_found(reference: str) -> NotFound:
    """What every case out of reach answers: the same as one that does not exist."""
    return NotFound(Text(zh=f"没有案件 {reference}", en=f"No case {reference}"), case=reference)


def own(actor: Actor, opened_by: str | None) -> bool:
    """A merchant's own case: one they opened."""
    return bool(actor.roles & OWN_CASE_ROLES) and opened_by == actor.username


def check_read(branch: str, reference: str, actor: Actor, opened_by: str | None = None) -> None:
    """Raise ``not_found`` unless ``actor`` may read the case."""
    if actor.roles & (READ_ALL_ROLES | REMOTE_ROLES) or own(actor, opened_by):
        return
    if not actor.roles & CASE_ROLES or actor.branch != branch:
        raise not_found(reference)


def check_change(branch: str, reference: str, actor: Actor, opened_by: str | None = None) -> None:
    """Raise unless ``actor`` may act on the case (not only read it).

    Unreadable cases are "not found" (their existence is not disclosed);
    readable ones that the actor may not change raise ``PermissionDenied``.
    Whatever else names a case (a handover, a reprint) asks this too.
    """
    check_read(branch, reference, actor, opened_by)
    if actor.roles & (REMOTE_ROLES | {SYSTEM}) or own(actor, opened_by):
        return
    if not actor.roles & CASE_ROLES or actor.branch != branch:
        raise PermissionDenied(
            Text(
                zh=f"{actor.username} 只能查看案件 {reference},不能办理",
                en=f"{actor.username} may read case {reference} but not act on it",
            ),
            case=reference,
            actor=actor.username,
        )


class CaseReader:
    """The reading half of ``Desk`` (see the module docstring)."""

    def __init__(self, db: Database, runtime: Runtime, services: Services | None = None) -> None:
        self.db = db
        self.runtime = runtime
        self.services = services if services is not None else Services(db=db)
        self._recent: OrderedDict[str, CaseRow] = OrderedDict()
        self._recent_lock = threading.Lock()

    # --- access (the module's functions, where the reader is at hand) ------

    _not_found = staticmethod(not_found)
    _own = staticmethod(own)
    check_change = staticmethod(check_change)

    def check_row(self, row: Any, actor: Actor, *, change: bool = False) -> None:
        """``check_read`` (``check_change``) on a stored case row, and the remote centre's
        narrower reach: an authorizer from outside the case's branch reaches only a case
        whose approval waits for their role or that they decided; any other answers as
        one that does not exist."""
        (check_change if change else check_read)(row.branch, row.reference, actor, row.opened_by)
        remote_only = (
            actor.roles & REMOTE_ROLES
            and not actor.roles & READ_ALL_ROLES
            and not (actor.roles & CASE_ROLES and actor.branch == row.branch)
        )
        if remote_only and not self._remote_waits(row, actor) and not self._decided(row, actor):
            raise not_found(row.reference)

    def _remote_waits(self, row: Any, actor: Actor) -> bool:
        """Whether the case waits at an approval the actor decides as the remote centre."""
        return bool(row.pending) and self._remote_state(row, actor)

    def _remote_state(self, row: Any, actor: Actor) -> bool:
        state = self.workflow_of(row.definition_hash).definition.states.get(row.state)
        return state is not None and is_remote(state, actor)

    def _decided(self, row: Any, actor: Actor) -> bool:
        with self.db.read() as conn:
            found = conn.execute(
                _decided_by, {"reference": row.reference, "actor": actor.username}
            ).first()
        return found is not None

    # --- loading -----------------------------------------------------------

    def _row(self, reference: str, version: int | None = None) -> CaseRow:
        """The stored case; the copy kept from this desk's last step when ``version`` matches.

        A kept copy can be stale only if someone else moved the case on, and
        then the step's compare-and-set on ``version`` refuses it anyway.
        """
        if version is not None:
            with self._recent_lock:
                kept = self._recent.get(reference)
            if kept is not None and kept.version == version:
                return kept
        with self.db.read() as conn:
            found = conn.execute(records.load_case, {"reference": reference}).first()
        if found is None:
            raise self._not_found(reference)
        return CaseRow.from_row(found)

    def _remember(self, row: CaseRow) -> None:
        with self._recent_lock:
            self._recent[row.reference] = row
            self._recent.move_to_end(row.reference)
            while len(self._recent) > RECENT_ROWS:
                self._recent.popitem(last=False)

    def _forget(self, reference: str) -> None:
        with self._recent_lock:
            self._recent.pop(reference, None)

    def workflow_of(self, definition_hash: str) -> Workflow:
        """A definition version: from the catalog, or brought back from its stored bundle."""
        if definition_hash in self.runtime.catalog:
            return self.runtime.catalog.get(definition_hash)
        with self.db.read() as conn:
            bundle = conn.execute(
                select(records.definitions.c.bundle).where(
                    records.definitions.c.hash == definition_hash
                )
            ).scalar()
        if bundle is None:
            return self.runtime.catalog.get(definition_hash)  # raises NotFound
        return self.runtime.catalog.add_bundle(bundle)

    @staticmethod
    def _snapshot(row: CaseRow) -> CaseSnapshot:
        return CaseSnapshot(
            reference=row.reference,
            workflow=row.workflow,
            definition_hash=row.definition_hash,
            state=row.state,
            version=row.version,
            data=row.data,
            opened_by=row.opened_by,
            branch=row.branch,
            pending=PendingApproval.from_dict(row.pending) if row.pending else None,
            opened_at=row.opened_at,
            channel=row.channel,
        )

    def _view(
        self,
        snapshot: CaseSnapshot,
        row: CaseRow,
        *,
        actor: Actor,
        findings: list[FindingView],
        pending: ApprovalView | None,
        updated_at: datetime,
        closed_at: datetime | None,
        waiting: Iterable[str] = (),
    ) -> CaseView:
        """``waiting``: the kinds of the case's undelivered outbox messages."""
        workflow = self.workflow_of(snapshot.definition_hash).definition
        final = workflow.states[snapshot.state].final
        may_act = (
            bool(actor.roles & (CASE_ROLES | {SYSTEM}))
            and (SYSTEM in actor.roles or actor.branch == row.branch)
        ) or self._own(actor, row.opened_by) or bool(actor.roles & REMOTE_ROLES)
        return CaseView(
            reference=snapshot.reference,
            workflow=snapshot.workflow,
            title=workflow.title,
            definition_hash=snapshot.definition_hash,
            state=snapshot.state,
            state_title=workflow.state_title(snapshot.state),
            final=final,
            version=snapshot.version,
            data=dict(snapshot.data),
            findings=findings,
            pending=pending,
            available_triggers=(
                self.runtime.available_triggers(snapshot, actor) if may_act and not final else []
            ),
            opened_by=snapshot.opened_by,
            branch=row.branch,
            channel=row.channel,
            opened_at=row.opened_at,
            updated_at=updated_at,
            closed_at=closed_at,
            waiting=waiting_views(waiting),
        )

    # --- reading -----------------------------------------------------------

    def get(self, *, reference: str, actor: Actor) -> CaseView:
        with self.db.read() as conn:
            row = conn.execute(records.load_case, {"reference": reference}).first()
            if row is None:
                raise self._not_found(reference)
            self.check_row(row, actor)
            findings = conn.execute(_last_step_findings, {"stream": reference}).scalar()
            approval = (
                conn.execute(_open_approval, {"reference": reference}).first()
                if row.pending
                else None
            )
            undelivered = conn.execute(_undelivered, {"reference": reference}).scalars().all()
        case = CaseRow.from_row(row)
        return self._view(
            self._snapshot(case),
            case,
            actor=actor,
            findings=finding_views(findings),
            pending=approval_view(approval, channel=row.channel) if approval is not None else None,
            updated_at=row.updated_at,
            closed_at=row.closed_at,
            waiting=undelivered,
        )

    def snapshot(self, *, reference: str, actor: Actor) -> CaseSnapshot:
        """The case as the engine sees it (for presenters that need its definition)."""
        row = self._row(reference)
        self.check_row(row, actor)
        return self._snapshot(row)

    def live_mark(self, *, reference: str, actor: Actor) -> int:
        """A number that moves whenever the case's page would show something new: a journal
        entry (slips included), or a delivery of its outbox attempted or settled (an SMS
        sent writes no entry). Pages poll it (see ``counter.web.routes.case_pages``)."""
        with self.db.read() as conn:
            row = conn.execute(records.load_case, {"reference": reference}).first()
            if row is None:
                raise self._not_found(reference)
            self.check_row(row, actor)
            return int(row.journal_seq) + delivery_progress(conn, reference)

    def branch_head(self, *, actor: Actor) -> int:
        """A number that moves whenever any journal entry is written for a case of the actor's
        branch (the sum of their journal heads): what lists and queues poll for."""
        if actor.branch is None or not actor.roles & CASE_ROLES:
            return 0
        cases = records.cases
        query = select(func.coalesce(func.sum(cases.c.journal_seq), 0)).where(
            cases.c.branch == actor.branch
        )
        with self.db.read() as conn:
            return int(conn.execute(query).scalar_one())

    def journal(self, *, reference: str, actor: Actor | None = None) -> list[JournalEntryView]:
        """The case's journal, oldest first (``actor`` None: no access check, internal use)."""
        row = self._row(reference)
        if actor is not None:
            self.check_row(row, actor)
        with self.db.read() as conn:
            entries = journal.entries(conn, reference)
        return [  # a shallow copy of each entry: asdict would deep-copy every finding first
            JournalEntryView(**{**vars(e), "findings": finding_views(e.findings)})
            for e in entries
        ]

    def list_cases(
        self,
        *,
        actor: Actor,
        state: str | None = None,
        merchant_name: str | None = None,
        limit: int = 200,
    ) -> list[CaseSummary]:
        """The newest cases the actor may see, optionally in one state, optionally of the
        merchants whose name holds ``merchant_name`` (cleaned as a typed name is)."""
        cases = records.cases
        query = select(cases).order_by(cases.c.updated_at.desc(), cases.c.id.desc()).limit(limit)
        if merchant_name is not None:
            wanted = _searched_name(merchant_name)
            if wanted is None:
                return []
            query = query.where(_MERCHANT_NAME.icontains(wanted, autoescape=True))
        if not actor.roles & READ_ALL_ROLES:
            if actor.roles & CASE_ROLES and actor.branch is not None:
                query = query.where(cases.c.branch == actor.branch)
            elif actor.roles & OWN_CASE_ROLES:
                query = query.where(cases.c.opened_by == actor.username)
            else:
                return []
        if state is not None:
            query = query.where(cases.c.state == state)
        with self.db.read() as conn:
            rows = conn.execute(query).all()
        return [
            CaseSummary(
                reference=r.reference,
                workflow=r.workflow,
                state=r.state,
                version=r.version,
                branch=r.branch,
                channel=r.channel,
                opened_by=r.opened_by,
                opened_at=r.opened_at,
                updated_at=r.updated_at,
                closed_at=r.closed_at,
                awaiting_approval=r.pending is not None,
                merchant_name=_merchant_name(r.data),
            )
            for r in rows
        ]

    def approvals(self, *, actor: Actor, include_decided: bool = False) -> list[ApprovalView]:
        """Approvals waiting (or, with ``include_decided``, all) in the actor's reach."""
        a, c = records.approvals, records.cases
        query = (
            select(a, c.c.workflow, c.c.branch, c.c.channel, c.c.definition_hash, c.c.state)
            .join(c, c.c.reference == a.c.case_reference)
            .order_by(a.c.raised_at, a.c.id)
        )
        if not include_decided:
            query = query.where(a.c.decided_at.is_(None))
        remote = bool(actor.roles & REMOTE_ROLES) and not actor.roles & READ_ALL_ROLES
        if not actor.roles & READ_ALL_ROLES and not remote:
            if not actor.roles & CASE_ROLES or actor.branch is None:
                return []
            query = query.where(c.c.branch == actor.branch)
        with self.db.read() as conn:
            rows = conn.execute(query).all()
        if remote:  # the centre's queue: every branch's approvals that name its role
            rows = [r for r in rows if self._remote_may_decide(r, actor)]
        return [
            approval_view(r, workflow=r.workflow, branch=r.branch, channel=r.channel) for r in rows
        ]

    def _remote_may_decide(self, row: Any, actor: Actor) -> bool:
        if row.branch == actor.branch and actor.roles & CASE_ROLES:
            return True
        return self._remote_state(row, actor)


_MERCHANT_NAME = records.cases.c.data["vars"]["merchant"]["merchant_name"].as_string()
"""Where ``note_merchant`` keeps the registry's name of the case's merchant."""
_SEARCH_LABEL = Text(zh="商户名称", en="Merchant name")


def _searched_name(typed: str) -> str | None:
    """A typed search for a merchant name, cleaned like the name it looks for (None: empty)."""
    text = clean_field(typed, field="merchant_name", label=_SEARCH_LABEL)
    return normalize_name(text) if text is not None else None


def _merchant_name(data: Any) -> str | None:
    found = data.get("vars", {}).get("merchant", {}) if isinstance(data, Mapping) else {}
    name = found.get("merchant_name") if isinstance(found, Mapping) else None
    return str(name) if name else None
