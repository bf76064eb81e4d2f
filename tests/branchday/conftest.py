"""A branch per test with counter sessions: BJ001, its staff, the demo registry, a CounterDesk.

The flagship's ``staffed_db`` (a fresh database, branch BJ001, tellers
teller1 and teller2, supervisors supervisor1 and supervisor2, the demo
registry) and its walk helpers are reused; the desk is
:class:`~counter.branchday.sessions.CounterDesk`, wired by ``wire_counter``.
"""

from __future__ import annotations

import pytest
from flagship.conftest import STAFF, staffed_db
from flagship.helpers import BRANCH, UTC_START, Clock, Counter

import counter.store.branchday_tables
from counter.branchday.wiring import wire_counter
from counter.cases.services import Services
from counter.config import Settings
from counter.engine.types import Actor
from counter.store.db import Database

__all__ = ["staffed_db"]  # the flagship's fixture, used here


@pytest.fixture
def settings() -> Settings:
    return Settings(
        demo_mode=True,
        secret_key="branchday-tests-secret",
        photo_score_threshold=70,
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest.fixture
def counter(staffed_db: Database, settings: Settings) -> Counter:
    clock = Clock(UTC_START)
    services = Services(settings=settings, clock=clock, db=staffed_db)
    wired = wire_counter(staffed_db, settings=settings, services=services)
    actors = {
        name: Actor(username=name, roles=frozenset(roles), branch=BRANCH)
        for name, roles in STAFF.items()
    }
    return Counter(wired=wired, clock=clock, actors=actors)
