"""``/api/status/{reference}``: a customer checks a result; rate-limited in the database."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request

from counter.store.db import utcnow
from counter.web import sessions
from counter.web.context import WebContext
from counter.web.deps import WebDep
from counter.web.lookups import status_of
from counter.web.schemas import StatusOut

router = APIRouter(prefix="/status", tags=["status"])

PER_CLIENT = 10  # lookups a minute from one address
PER_REFERENCE = 20  # lookups an hour of one reference, from anywhere: 4 digits are few


def allow_lookup(web: WebContext, request: Request, reference: str) -> None:
    """Count one lookup; 429 past either limit. The counters live in the database."""
    now = utcnow()
    client = request.client.host if request.client else "unknown"
    within = sessions.hit_rate_limit(
        web.db, key=f"status:{client}", limit=PER_CLIENT, window=timedelta(minutes=1), now=now
    ) and sessions.hit_rate_limit(
        web.db,
        key=f"status-ref:{reference.strip().upper()[:40]}",
        limit=PER_REFERENCE,
        window=timedelta(hours=1),
        now=now,
    )
    if not within:
        raise HTTPException(status_code=429, headers={"Retry-After": "60"})


@router.get("/{reference}", response_model=StatusOut)
def case_status(
    reference: Annotated[str, Path(max_length=40)],
    account_last4: Annotated[str, Query(pattern=r"^\d{4}$")],
    request: Request,
    web: WebDep,
) -> StatusOut:
    """Public: the service, its state and when it completed. A wrong reference and a wrong
    last four digits get the same 404."""
    allow_lookup(web, request, reference)
    return status_of(web, reference=reference, account_last4=account_last4)
