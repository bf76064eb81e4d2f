"""Console pages of the branch's day: a teller's counter, the supervisors' dashboard, end of day.

* ``/counter`` (tellers): open and close the counter, hand cases over and
  answer handovers;
* ``/dashboard`` (supervisors): the branch now; ``/dashboard/live`` is the
  part htmx fetches every 15 seconds (no inline script: the CSP forbids it);
* ``/branch-day`` (supervisors): what keeps the day open, the close, the
  closed days; ``/branch-day/{day}`` the report (supervisors and auditors of
  the branch), ``/branch-day/{day}/report.pdf`` the stored PDF;
* ``api_router`` (under ``/api``): the same for branch systems, with a bearer
  token: ``/api/counter`` (GET, POST, DELETE), ``/api/cases/{reference}/handover``,
  ``/api/branch-day/close``, ``/api/branch-day/{day}`` and its ``report.pdf``.

Every rule is ``counter.branchday``'s; these routes only call it. The words
are in ``templates/branchday/messages.yaml``, merged with the console's
catalog for these pages.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from counter.branchday import closing, dashboard, handover, local_day, sessions
from counter.branchday import report as eod_report
from counter.branchday.figures import DayFigures, day_figures
from counter.errors import InvalidInput, NotFound, PermissionDenied
from counter.text import Text
from counter.web.auth import Principal
from counter.web.context import WebContext
from counter.web.deps import ApiUser, ConsoleUser, CsrfChecked, WebDep
from counter.web.i18n import MessageCatalog, Translator, catalog
from counter.web.templating import TEMPLATES_DIR, render

__all__ = ["api_router", "router"]

router = APIRouter(include_in_schema=False)
Reference = Annotated[str, Path(max_length=40, pattern=r"^[A-Za-z0-9_-]+$")]

WORDS_FILE = TEMPLATES_DIR / "branchday" / "messages.yaml"


@lru_cache(maxsize=1)
def words() -> MessageCatalog:
    """The console's catalog with this package's words added."""
    base = catalog()
    merged = {key: base.text(key) for key in base.names()}
    mine = MessageCatalog.load(WORDS_FILE)
    merged.update({key: mine.text(key) for key in mine.names()})
    return MessageCatalog(merged)


def _page(
    request: Request, name: str, context: dict[str, Any], *, status_code: int = 200
) -> Response:
    lang = getattr(request.state, "lang", "zh")
    return render(
        request,
        f"branchday/{name}",
        {"_": Translator(words(), lang), **context},
        status_code=status_code,
    )


def _branch_of(principal: Principal, *roles: str) -> str:
    if not principal.roles & set(roles) or not principal.branch:
        raise PermissionDenied(words().text("bd.forbidden"), actor=principal.username)
    return principal.branch


# --- a teller's counter --------------------------------------------------------


def _counter_page(
    request: Request,
    web: WebContext,
    principal: Principal,
    *,
    alert: Text | None = None,
    done: Text | None = None,
    status_code: int = 200,
) -> Response:
    branch = _branch_of(principal, "teller")
    me = principal.username
    return _page(
        request,
        "counter.html",
        {
            "session": sessions.current_session(web.db, teller=me),
            "cases": sessions.responsible_cases(web.db, teller=me, branch=branch),
            "tellers": [u for u in handover.branch_tellers(web.db, branch=branch) if u != me],
            "to_me": handover.pending_handovers(web.db, branch=branch, to_teller=me),
            "from_me": handover.pending_handovers(web.db, branch=branch, from_teller=me),
            "alert": alert,
            "done": done,
        },
        status_code=status_code,
    )


_DONE = frozenset({"opened", "closed_ok", "done"})
"""What a counter action that succeeded says, by its key in ``?done=`` (post/redirect/get)."""


@router.get("/counter")
def counter_page(
    request: Request,
    web: WebDep,
    principal: ConsoleUser,
    done: Annotated[str, Query(max_length=16)] = "",
    reference: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    said = words().text(f"bd.counter.{done}", reference=reference) if done in _DONE else None
    return _counter_page(request, web, principal, done=said)


def _counter_action(
    request: Request,
    web: WebContext,
    principal: Principal,
    action: Any,
    done: str,
    reference: str = "",
) -> Response:
    """Do ``action``: refused, the page again (422); done, a redirect (a reload never redoes it)."""
    _branch_of(principal, "teller")
    try:
        action()
    except InvalidInput as refused:
        return _counter_page(request, web, principal, alert=refused.message, status_code=422)
    query = urlencode({"done": done, **({"reference": reference} if reference else {})})
    return RedirectResponse(f"/counter?{query}", status_code=303)


@router.post("/counter/open")
def open_counter(
    request: Request,
    web: WebDep,
    principal: ConsoleUser,
    _csrf: CsrfChecked,
    window: Annotated[int, Form(ge=1, le=sessions.MAX_WINDOW)],
) -> Response:
    return _counter_action(
        request,
        web,
        principal,
        lambda: sessions.open_counter(
            web.db, actor=principal.actor, window=window, now=web.desk.services.now()
        ),
        "opened",
    )


@router.post("/counter/close")
def close_counter(
    request: Request, web: WebDep, principal: ConsoleUser, _csrf: CsrfChecked
) -> Response:
    return _counter_action(
        request,
        web,
        principal,
        lambda: sessions.close_counter(web.db, actor=principal.actor, now=web.desk.services.now()),
        "closed_ok",
    )


@router.post("/counter/handover")
def offer_handover(
    request: Request,
    web: WebDep,
    principal: ConsoleUser,
    _csrf: CsrfChecked,
    reference: Annotated[str, Form(max_length=40)],
    to_teller: Annotated[str, Form(max_length=64)],
    note: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    return _counter_action(
        request,
        web,
        principal,
        lambda: handover.offer_handover(
            web.db,
            reference=reference,
            actor=principal.actor,
            to_teller=to_teller,
            note=note.strip() or None,
            now=web.desk.services.now(),
        ),
        "done",
        reference,
    )


_DECISIONS = {
    "accept": handover.accept_handover,
    "decline": handover.decline_handover,
    "withdraw": handover.withdraw_handover,
}


@router.post("/counter/handover/{reference}/{decision}")
def answer_handover(
    request: Request,
    reference: Reference,
    decision: Literal["accept", "decline", "withdraw"],
    web: WebDep,
    principal: ConsoleUser,
    _csrf: CsrfChecked,
) -> Response:
    decide = _DECISIONS[decision]
    return _counter_action(
        request,
        web,
        principal,
        lambda: decide(
            web.db, reference=reference, actor=principal.actor, now=web.desk.services.now()
        ),
        "done",
        reference,
    )


# --- the supervisors' dashboard ---------------------------------------------------


def _dashboard(request: Request, web: WebContext, principal: Principal) -> dict[str, Any]:
    branch = _branch_of(principal, "supervisor")
    board = dashboard.dashboard(
        web.db,
        branch=branch,
        approvals=web.desk.approvals(actor=principal.actor),
        describe=web.desk.workflow_of,
        now=web.desk.services.now(),
        lang=getattr(request.state, "lang", "zh"),
        workflow_titles=_workflow_titles(web),
    )
    return {"board": board, "duration": eod_report.duration, "titles": _workflow_titles(web)}


def _workflow_titles(web: WebContext) -> dict[str, Text]:
    catalog_ = web.desk.runtime.catalog
    return {name: catalog_.current(name).definition.title for name in catalog_.names()}


@router.get("/dashboard")
def dashboard_page(request: Request, web: WebDep, principal: ConsoleUser) -> Response:
    return _page(request, "dashboard.html", _dashboard(request, web, principal))


@router.get("/dashboard/live")
def dashboard_live(request: Request, web: WebDep, principal: ConsoleUser) -> Response:
    return _page(request, "_live.html", _dashboard(request, web, principal))


# --- end of day -------------------------------------------------------------------


def _day_page(
    request: Request,
    web: WebContext,
    principal: Principal,
    *,
    alert: Text | None = None,
    status_code: int = 200,
) -> Response:
    branch = _branch_of(principal, "supervisor")
    with web.db.read() as conn:
        blocking = closing.blockers(conn, branch=branch)
    today = local_day(web.desk.services.now())
    return _page(
        request,
        "day.html",
        {
            "today": today,
            "blocking": blocking,
            "closed_days": closing.closed_days(web.db, branch=branch),
            "alert": alert,
        },
        status_code=status_code,
    )


@router.get("/branch-day")
def day_page(request: Request, web: WebDep, principal: ConsoleUser) -> Response:
    return _day_page(request, web, principal)


@router.post("/branch-day/close")
def close_day(
    request: Request, web: WebDep, principal: ConsoleUser, _csrf: CsrfChecked
) -> Response:
    branch = _branch_of(principal, "supervisor")
    try:
        closed = closing.close_day(
            web.db,
            branch=branch,
            actor=principal.actor,
            describe=web.desk.workflow_of,
            now=web.desk.services.now(),
        )
    except InvalidInput as refused:
        return _day_page(request, web, principal, alert=refused.message, status_code=422)
    return RedirectResponse(f"/branch-day/{closed.day.isoformat()}", status_code=303)


@router.get("/branch-day/report.css")
def report_stylesheet() -> Response:
    return Response(eod_report.stylesheet_text(), media_type="text/css; charset=utf-8")


@router.get("/branch-day/{day}")
def report_page(request: Request, day: date, web: WebDep, principal: ConsoleUser) -> Response:
    branch = _branch_of(principal, "supervisor", "auditor")
    closed: closing.ClosedDay | None
    try:
        closed = closing.closed_day(web.db, branch=branch, day=day)
        figures = closed.figures
    except NotFound:
        if "supervisor" not in principal.roles:
            raise
        closed = None
        figures = day_figures(
            web.db,
            branch=branch,
            day=day,
            describe=web.desk.workflow_of,
            now=web.desk.services.now(),
        )
    return _page(
        request,
        "report.html",
        {
            "day": day,
            "closed": closed,
            "report": eod_report.report_fragment(
                figures, closed_by=closed.closed_by if closed else None
            ),
        },
    )


@router.get("/branch-day/{day}/report.pdf")
def report_pdf(day: date, web: WebDep, principal: ConsoleUser) -> Response:
    return _pdf(web, _branch_of(principal, "supervisor", "auditor"), day)


def _pdf(web: WebContext, branch: str, day: date) -> Response:
    closed = closing.closed_day(web.db, branch=branch, day=day)
    name = f"end-of-day-{branch}-{day.isoformat()}.pdf"
    return Response(
        closed.pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# --- the JSON API (under /api) -----------------------------------------------------

api_router = APIRouter(tags=["branch day"])


class WindowIn(BaseModel):
    window: int = Field(ge=1, le=sessions.MAX_WINDOW, description="窗口号 / window number")


class HandoverIn(BaseModel):
    to_teller: str = Field(max_length=64)
    note: str | None = Field(default=None, max_length=200)


class CounterOut(BaseModel):
    """The caller's counter: the open session (or none), their open cases, offers to them."""

    session: sessions.CounterSessionView | None
    cases: list[str]
    handovers_to_me: list[handover.HandoverView]


class ClosedDayOut(BaseModel):
    """A closed day without its PDF (``/api/branch-day/{day}/report.pdf``)."""

    branch: str
    day: date
    closed_at: datetime
    closed_by: str
    report_sha256: str
    figures: DayFigures


def _closed_out(closed: closing.ClosedDay) -> ClosedDayOut:
    return ClosedDayOut(
        branch=closed.branch,
        day=closed.day,
        closed_at=closed.closed_at,
        closed_by=closed.closed_by,
        report_sha256=closed.report_sha256,
        figures=closed.figures,
    )


@api_router.get("/counter", response_model=CounterOut)
def api_counter(principal: ApiUser, web: WebDep) -> CounterOut:
    """Your counter session, the open cases you answer for, the handovers offered to you."""
    branch = _branch_of(principal, "teller")
    me = principal.username
    return CounterOut(
        session=sessions.current_session(web.db, teller=me),
        cases=sessions.responsible_cases(web.db, teller=me, branch=branch),
        handovers_to_me=handover.pending_handovers(web.db, branch=branch, to_teller=me),
    )


@api_router.post("/counter", response_model=sessions.CounterSessionView, status_code=201)
def api_open_counter(body: WindowIn, principal: ApiUser, web: WebDep) -> Any:
    """Open your counter at a window (a teller takes cases only at an open counter)."""
    now = web.desk.services.now()
    return sessions.open_counter(web.db, actor=principal.actor, window=body.window, now=now)


@api_router.delete("/counter", response_model=sessions.CounterSessionView)
def api_close_counter(principal: ApiUser, web: WebDep) -> Any:
    """Close your counter: 422 while you answer for an open case."""
    return sessions.close_counter(web.db, actor=principal.actor, now=web.desk.services.now())


@api_router.post(
    "/cases/{reference}/handover", response_model=handover.HandoverView, status_code=201
)
def api_offer_handover(
    reference: Reference, body: HandoverIn, principal: ApiUser, web: WebDep
) -> Any:
    """Offer an open case you answer for to another teller of the branch."""
    return handover.offer_handover(
        web.db,
        reference=reference,
        actor=principal.actor,
        to_teller=body.to_teller,
        note=body.note,
        now=web.desk.services.now(),
    )


@api_router.post("/cases/{reference}/handover/{decision}", response_model=handover.HandoverView)
def api_answer_handover(
    reference: Reference,
    decision: Literal["accept", "decline", "withdraw"],
    principal: ApiUser,
    web: WebDep,
) -> Any:
    """Accept or decline a case offered to you, or withdraw your own offer."""
    return _DECISIONS[decision](
        web.db, reference=reference, actor=principal.actor, now=web.desk.services.now()
    )


@api_router.post("/branch-day/close", response_model=ClosedDayOut, status_code=201)
def api_close_day(principal: ApiUser, web: WebDep) -> ClosedDayOut:
    """Close today's business day of your branch (supervisors); 422 while anything is open."""
    branch = _branch_of(principal, "supervisor")
    closed = closing.close_day(
        web.db,
        branch=branch,
        actor=principal.actor,
        describe=web.desk.workflow_of,
        now=web.desk.services.now(),
    )
    return _closed_out(closed)


@api_router.get("/branch-day/{day}", response_model=ClosedDayOut)
def api_closed_day(day: date, principal: ApiUser, web: WebDep) -> ClosedDayOut:
    """A closed day's figures and report hash (supervisors and auditors of the branch)."""
    branch = _branch_of(principal, "supervisor", "auditor")
    return _closed_out(closing.closed_day(web.db, branch=branch, day=day))


@api_router.get("/branch-day/{day}/report.pdf", response_class=Response)
def api_report_pdf(day: date, principal: ApiUser, web: WebDep) -> Response:
    """The stored end-of-day report PDF (its SHA-256 is in the journal)."""
    return _pdf(web, _branch_of(principal, "supervisor", "auditor"), day)
