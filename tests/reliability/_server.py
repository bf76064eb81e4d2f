"""Real ``counter serve`` processes for the reliability tests, and an in-process app's context.

The process management is the load test's (``bench/_load_server.py``), so
that the tests and the benchmark start servers the same way; this module
puts the repository root on ``sys.path`` for it (``bench`` is not an
installed package) and adds what the tests need on top.

PostgreSQL deployments get a database of their own on the server that
``COUNTER_TEST_POSTGRES_URL`` names (the ``postgres_database`` fixture's
server, so that its skip-or-fail rules apply). A teller takes cases only at
an open counter: :func:`sign_in_teller` opens it through the API.
:func:`demo_context` is the in-process alternative: the app's context over a
SQLite file with the demo data, the demo tellers' counters open.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from counter.branchday import open_counter
from counter.cli.demo import BRANCH, DEMO_USERS, ensure_demo_data
from counter.config import Settings
from counter.engine.types import Actor
from counter.store.db import Database, utcnow
from counter.store.migrate import import_table_modules
from counter.web.context import WebContext, build_context

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._load_registry import PASSWORD, LoadMerchant  # noqa: E402
from bench._load_server import Deployment, Server, Staff  # noqa: E402
from bench._load_tellers import Api, CodeReader, LoadRun, Stats  # noqa: E402

__all__ = [
    "PASSWORD",
    "Api",
    "CodeReader",
    "Deployment",
    "LoadMerchant",
    "LoadRun",
    "Server",
    "Staff",
    "Stats",
    "demo_context",
    "deployed",
    "sign_in",
    "sign_in_teller",
]


@contextmanager
def deployed(
    tmp_path: Path,
    request: pytest.FixtureRequest,
    *,
    kind: str = "sqlite",
    servers: int = 1,
    tellers: int = 2,
    supervisors: int = 1,
    cases: int = 20,
    agent_every: int = 5,
    env: dict[str, str] | None = None,
    serve_options: tuple[str, ...] = (),
) -> Iterator[tuple[Deployment, Staff]]:
    """A prepared database with ``servers`` processes on it, stopped and dropped at exit.

    ``env``: more settings for every process; ``serve_options``: for ``counter serve``.
    """
    postgres_server = None
    if kind == "postgres":
        existing: str = request.getfixturevalue("postgres_database")
        postgres_server = make_url(existing).set(database="postgres").render_as_string(
            hide_password=False)
    deployment = Deployment(tmp_path / "deployment", kind=kind, postgres_server=postgres_server,
                            extra_env=dict(env or {}))
    try:
        staff = deployment.prepare(tellers=tellers, supervisors=supervisors, cases=cases,
                                   agent_every=agent_every, demo_data=False)
        deployment.start_servers(servers, *serve_options)
        yield deployment, staff
    finally:
        deployment.close()


def sign_in(url: str, username: str, password: str = PASSWORD) -> dict[str, str]:
    """Bearer headers for ``username`` on the server at ``url``."""
    answer = httpx.post(f"{url}/api/session", json={"username": username, "password": password},
                        timeout=30)
    assert answer.status_code == 200, answer.text
    token: Any = answer.json()["token"]
    return {"Authorization": f"Bearer {token}"}


def sign_in_teller(url: str, username: str, window: int) -> dict[str, str]:
    """Bearer headers for teller ``username``, whose counter is then open at ``window``."""
    headers = sign_in(url, username)
    answer = httpx.post(f"{url}/api/counter", json={"window": window}, headers=headers,
                        timeout=30)
    assert answer.status_code == 201, answer.text
    return headers


@contextmanager
def demo_context(folder: Path) -> Iterator[WebContext]:
    """The web app's context over a new SQLite file in ``folder`` holding the demo data."""
    settings = Settings(database_url=f"sqlite:///{folder / 'counter.db'}", var_dir=folder,
                        demo_mode=True, secret_key="reliability-test-key-not-the-default")
    db = Database(settings.database_url)
    import_table_modules()
    SQLModel.metadata.create_all(db.engine)
    ensure_demo_data(db, settings)
    tellers = [name for name, roles in DEMO_USERS.items() if "teller" in roles]
    for window, name in enumerate(tellers, start=1):
        actor = Actor(username=name, roles=frozenset(DEMO_USERS[name]), branch=BRANCH)
        open_counter(db, actor=actor, window=window, now=utcnow())
    try:
        yield build_context(settings, db=db)
    finally:
        db.dispose()
