"""Console pages of the branch's day: a teller's counter, the supervisors' dashboard, end of day.

* ``/counter`` (tellers): open and close the counter, hand cases over and
  answer handovers;
* ``/dashboard`` (supervisors): the branch now; ``/dashboard/live`` is the
  part htmx fetches every 15 seconds (no inline script: the CSP forbids it);
* ``/branch-day`` (supervisors): what keeps the day open, the close, the
  closed days; ``/branch-day/{day}`` the report (supervisors and auditors of
  the branch), ``/branch-day/{day}/report.pdf`` the stored PDF.

Every rule is ``counter.branchday``'s; these routes only call it. The words
are in ``templates/branchday/messages.yaml``, merged with the console's
catalog for these pages.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from counter.branchday import closing, dashboard, handover, local_day, sessions
from counter.branchday import report as eod_report
from counter.branchday.figures import day_figures
from counter.errors import InvalidInput, NotFound, PermissionDenied
from counter.text import Text
from counter.web.auth import Principal
from counter.web.context import WebContext
from counter.web.deps import ConsoleUser, CsrfChecked, WebDep
from counter.web.i18n import MessageCatalog, Translator, catalog
from counter.web.templating import TEMPLATES_DIR, render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

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


@router.get("/counter")
def counter_page(request: Request, web: WebDep, principal: ConsoleUser) -> Response:
    return _counter_page(request, web, principal)


def _counter_action(
    request: Request, web: WebContext, principal: Principal, action: Any, done: Text
) -> Response:
    _branch_of(principal, "teller")
    try:
        action()
    except InvalidInput as refused:
        return _counter_page(request, web, principal, alert=refused.message, status_code=422)
    return _counter_page(request, web, principal, done=done)


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
        words().text("bd.counter.opened"),
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
        words().text("bd.counter.closed_ok"),
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
        words().text("bd.counter.done", reference=reference),
    )


_DECISIONS = {
    "accept": handover.accept_handover,
    "decline": handover.decline_handover,
    "withdraw": handover.withdraw_handover,
}


@router.post("/counter/handover/{reference}/{decision}")
def answer_handover(
    request: Request,
    reference: str,
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
        words().text("bd.counter.done", reference=reference),
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
    )
    return {"board": board, "duration": eod_report.duration}


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
    branch = _branch_of(principal, "supervisor", "auditor")
    closed = closing.closed_day(web.db, branch=branch, day=day)
    name = f"end-of-day-{branch}-{day.isoformat()}.pdf"
    return Response(
        closed.pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
