"""A counter per test: fresh database, branch BJ001, its staff, the demo registry, the desk.

``db`` (a fresh database with every table) is ``tests/conftest.py``'s.
Outbox messages are delivered right after each commit unless a test asks
for ``counter_manual`` and runs the dispatcher itself.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator

import pytest

from counter.adapters.demo import load_demo
from counter.cases.services import Services
from counter.cases.wiring import wire
from counter.config import Settings
from counter.engine.types import Actor
from counter.store import users
from counter.store.db import Database

from .helpers import BRANCH, PASSWORD, UTC_START, Clock, Counter

STAFF = {
    "teller1": ["teller"],
    "teller2": ["teller"],
    "supervisor1": ["supervisor"],
    "supervisor2": ["supervisor"],
    "senior1": ["teller", "supervisor"],  # a teller who also holds the supervisor role
    "manager1": ["branch_manager"],  # the highest approval level (tiered authority)
}


@pytest.fixture
def settings() -> Settings:
    return Settings(
        demo_mode=True,
        secret_key="flagship-tests-secret",
        photo_score_threshold=70,
        _env_file=None,  # type: ignore[call-arg]
    )


# argon2 takes about 0.2 s a hash on purpose; the staff share one password, so hash it once.
_hash_once = functools.lru_cache(maxsize=4)(users.hash_password)


@pytest.fixture
def staffed_db(db: Database, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.setattr(users, "hash_password", _hash_once)
    users.create_branch(db, code=BRANCH, name_zh="北京分行营业部", name_en="Beijing Branch")
    for username, roles in STAFF.items():
        users.create_user(db, username=username, password=PASSWORD, roles=roles, branch=BRANCH)
    load_demo(db, today=UTC_START.date())
    return db


@pytest.fixture
def make_counter(staffed_db: Database, settings: Settings) -> Iterator[Callable[..., Counter]]:
    """``make_counter(attach=True, **dispatcher_options)``: a desk over the shared database."""
    clock = Clock(UTC_START)

    def make(*, attach: bool = True, **dispatcher_options: object) -> Counter:
        services = Services(settings=settings, clock=clock, db=staffed_db)
        wired = wire(
            staffed_db, settings=settings, services=services, attach=attach, **dispatcher_options
        )
        actors = {
            name: Actor(username=name, roles=frozenset(roles), branch=BRANCH)
            for name, roles in STAFF.items()
        }
        return Counter(wired=wired, clock=clock, actors=actors)

    yield make


@pytest.fixture
def counter(make_counter: Callable[..., Counter]) -> Counter:
    return make_counter()


@pytest.fixture
def counter_manual(make_counter: Callable[..., Counter]) -> Counter:
    """Outbox messages wait until the test runs ``counter.wired.dispatcher.run_once()``."""
    return make_counter(attach=False)
