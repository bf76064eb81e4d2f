"""Every router of the app, combined in one place: the JSON API and the console pages."""

from __future__ import annotations

from fastapi import APIRouter

from counter.web.errors import ERROR_RESPONSES
from counter.web.openapi import BEARER_AUTH
from counter.web.routes import (
    api_approvals,
    api_cases,
    api_reviews,
    api_session,
    api_status,
    api_workflows,
    audit_pages,
    auth_pages,
    branchday,
    case_pages,
    floor,
    fonts,
    metrics,
    migration_pages,
    portal,
    review_pages,
    slip_pages,
    status_pages,
    supervisor_pages,
)

__all__ = ["api_router", "page_router"]

api_router = APIRouter(prefix="/api", responses=ERROR_RESPONSES)
api_router.include_router(api_session.router)  # DELETE declares the token itself
api_router.include_router(api_workflows.router, dependencies=[BEARER_AUTH])
api_router.include_router(api_cases.router, dependencies=[BEARER_AUTH])
api_router.include_router(api_approvals.router, dependencies=[BEARER_AUTH])
api_router.include_router(api_reviews.router, dependencies=[BEARER_AUTH])
api_router.include_router(api_status.router)
api_router.include_router(branchday.api_router, dependencies=[BEARER_AUTH])
api_router.include_router(floor.router)  # no route unless COUNTER_BENCH_FLOOR=1

page_router = APIRouter()
page_router.include_router(auth_pages.router)
page_router.include_router(case_pages.router)
page_router.include_router(slip_pages.router)
page_router.include_router(supervisor_pages.router)
page_router.include_router(audit_pages.router)
page_router.include_router(review_pages.router)
page_router.include_router(migration_pages.router)
page_router.include_router(status_pages.router)
page_router.include_router(branchday.router)
page_router.include_router(portal.router)
page_router.include_router(metrics.router)
page_router.include_router(fonts.router)
