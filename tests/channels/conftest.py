"""The three doors to an unbind on one database: counter (BJ001), online and phone (RC001).

Every test gets a fresh database (``tests/conftest.py``'s ``db``) with the
demo registry, the channel demo users (``load_channel_demo``) and the
counter's teller and supervisor, and a desk wired as the web app wires it.

Two grants here stand in for changes proposed outside these tests'
reach (``docs/channels.md``, "What the other parts need"): the roles
``merchant``, ``reviewer`` and ``service_agent`` are accepted by
``counter.store.users`` and may open and act on cases at the Desk, and the
services carry the case look-up that a referral needs (``extra["cases"]``).
Drop each grant when its change lands.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator

import pytest
from flagship.helpers import BRANCH, PASSWORD, UTC_START, Clock, Counter

from counter.adapters.demo import load_demo
from counter.adapters.demo.channels import CHANNEL_BRANCH, load_channel_demo
from counter.banking.rules.channels import CASES
from counter.cases import desk as desk_module
from counter.cases import reading
from counter.cases.desk import Desk
from counter.cases.services import Services
from counter.cases.wiring import wire
from counter.config import Settings
from counter.engine.loader import Catalog
from counter.engine.types import Actor, CaseSnapshot
from counter.errors import NotFound
from counter.store import users
from counter.store.db import Database

from .helpers import ACTORS, CHANNEL_ROLES, STAFF

_hash_once = functools.lru_cache(maxsize=4)(users.hash_password)


@pytest.fixture
def settings() -> Settings:
    return Settings(
        demo_mode=True,
        secret_key="channel-tests-secret",
        photo_score_threshold=70,
        _env_file=None,
    )


@pytest.fixture
def channel_roles(monkeypatch: pytest.MonkeyPatch) -> None:
    """Grant the channel roles where ``store.users`` and the Desk do not know them yet."""
    if not CHANNEL_ROLES <= users.ROLES:
        monkeypatch.setattr(users, "ROLES", users.ROLES | CHANNEL_ROLES)
    if not hasattr(reading, "OWN_CASE_ROLES"):  # the Desk's own rule for merchants, once there
        for module in (reading, desk_module):
            monkeypatch.setattr(module, "CASE_ROLES", module.CASE_ROLES | CHANNEL_ROLES)


@pytest.fixture
def channel_db(db: Database, monkeypatch: pytest.MonkeyPatch, channel_roles: None) -> Database:
    monkeypatch.setattr(users, "hash_password", _hash_once)
    users.create_branch(db, code=BRANCH, name_zh="北京分行营业部", name_en="Beijing Branch")
    for username, roles in STAFF.items():
        users.create_user(db, username=username, password=PASSWORD, roles=roles, branch=BRANCH)
    load_channel_demo(db, password=PASSWORD)
    users.create_user(
        db,
        username="merchant2",
        password=PASSWORD,
        roles=["merchant"],
        branch=CHANNEL_BRANCH,
        merchant_no=ACTORS["merchant2"].attributes["merchant_no"],
    )
    load_demo(db, today=UTC_START.date())
    return db


def case_lookup(desk: Desk) -> Callable[[str], CaseSnapshot | None]:
    """What ``counter.cases.wiring`` is asked to put in ``services.extra["cases"]``."""

    def find(reference: str) -> CaseSnapshot | None:
        try:
            return desk.snapshot(reference=reference, actor=Actor.system())
        except NotFound:
            return None

    return find


@pytest.fixture
def make_desk(channel_db: Database, settings: Settings) -> Iterator[Callable[..., Counter]]:
    """``make_desk(catalog=None)``: a desk over the shared database; actors by name."""
    clock = Clock(UTC_START)

    def make(*, catalog: Catalog | None = None) -> Counter:
        services = Services(settings=settings, clock=clock, db=channel_db)
        wired = wire(channel_db, settings=settings, services=services, catalog=catalog)
        services.extra.setdefault(CASES, case_lookup(wired.desk))
        return Counter(wired=wired, clock=clock, actors=ACTORS)

    yield make


@pytest.fixture
def desk(make_desk: Callable[..., Counter]) -> Counter:
    return make_desk()
