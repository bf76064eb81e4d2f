"""``POST /api/bench/floor``: one bare database commit, the floor of the HTTP load test.

Mounted only when the process starts with ``COUNTER_BENCH_FLOOR=1``
(``bench/load.py`` sets it for the servers it starts); otherwise ``router``
has no route at all, and it is never in ``/openapi.json``. It authenticates
like every API route, then inserts one row in its own table in one write
transaction, so that the load test can set each step of a case against the
cheapest thing the same app, database and session check can do.
"""

from __future__ import annotations

import os

from fastapi import APIRouter
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table
from sqlalchemy.exc import DatabaseError

from counter.store.db import Database, utcnow
from counter.web.deps import ApiUser, WebDep

__all__ = ["ENABLE_VARIABLE", "enabled", "ensure_floor_table", "floor_table", "router"]

ENABLE_VARIABLE = "COUNTER_BENCH_FLOOR"

# A metadata of its own: migrations and the app's tables never see this table.
_metadata = MetaData()
floor_table = Table(
    "bench_floor_commit",
    _metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)


def enabled() -> bool:
    """Whether this process serves the floor endpoint."""
    return os.environ.get(ENABLE_VARIABLE, "") == "1"


def ensure_floor_table(db: Database) -> None:
    """Create the floor's table if it is missing (a concurrent creator may win: fine)."""
    try:
        _metadata.create_all(db.engine, checkfirst=True)
    except DatabaseError:
        with db.engine.connect() as conn:
            if not db.engine.dialect.has_table(conn, floor_table.name):
                raise


_ready: set[str] = set()
router = APIRouter(prefix="/bench", tags=["bench"], include_in_schema=False)


def _floor(principal: ApiUser, web: WebDep) -> dict[str, int]:
    """One insert, one commit, nothing else."""
    if web.db.url not in _ready:
        ensure_floor_table(web.db)
        _ready.add(web.db.url)
    with web.db.transaction() as conn:
        conn.execute(floor_table.insert().values(username=principal.username, at=utcnow()))
    return {"committed": 1}


if enabled():
    router.add_api_route("/floor", _floor, methods=["POST"])
