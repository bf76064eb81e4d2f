"""Fixtures shared by every test: a fresh database per test, on SQLite and PostgreSQL.

Every test that asks for ``db`` gets an empty database with every table:
a temporary SQLite file, and, for tests marked ``postgres``, also a fresh
schema in a database made for this test session from
``COUNTER_TEST_POSTGRES_URL`` (``make test`` sets it through
``scripts/postgres-test.sh``; when it is empty this file asks that script).

Where PostgreSQL is installed but unreachable, PostgreSQL tests fail under
``CI=true`` (a CI that silently skips them proves nothing) and are skipped
with a reason elsewhere; where it is not installed at all, they are skipped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from counter.store.db import Database
from counter.store.migrate import import_table_modules

ROOT = Path(__file__).resolve().parent.parent


def _postgres_installed() -> bool:
    return shutil.which("pg_ctlcluster") is not None and Path("/etc/postgresql").is_dir()


def _server_url() -> str:
    url = os.environ.get("COUNTER_TEST_POSTGRES_URL", "").strip()
    if not url and _postgres_installed():
        done = subprocess.run(
            [str(ROOT / "scripts" / "postgres-test.sh")],
            capture_output=True,
            text=True,
            check=False,
        )
        url = done.stdout.strip()
    return url


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true" and _postgres_installed():
        pytest.fail(f"PostgreSQL is installed but {reason} (CI=true: failing, not skipping)")
    pytest.skip(f"PostgreSQL tests skipped: {reason}")


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """The URL of a database created for this test session (dropped at the end)."""
    if not _postgres_installed() and not os.environ.get("COUNTER_TEST_POSTGRES_URL"):
        pytest.skip("PostgreSQL is not installed")
    server = _server_url()
    if not server:
        _unavailable("COUNTER_TEST_POSTGRES_URL is empty")
    name = f"counter_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        _unavailable(f"{server} is unreachable ({type(exc).__name__}: {exc})")
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "db_kind" in metafunc.fixturenames:
        kinds = ["sqlite"]
        if metafunc.definition.get_closest_marker("postgres") is not None:
            kinds.append("postgres")
        metafunc.parametrize("db_kind", kinds)


def _fresh_postgres(request: pytest.FixtureRequest) -> Iterator[Database]:
    base: str = request.getfixturevalue("postgres_database")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    setup = create_engine(base, isolation_level="AUTOCOMMIT")
    with setup.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    db = Database(url.render_as_string(hide_password=False))
    try:
        yield db
    finally:
        db.dispose()
        with setup.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        setup.dispose()


@pytest.fixture
def empty_db(db_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Database]:
    """A fresh database with no tables (for migration tests)."""
    if db_kind == "postgres":
        yield from _fresh_postgres(request)
        return
    db = Database(f"sqlite:///{tmp_path / 'counter.db'}")
    try:
        yield db
    finally:
        db.dispose()


@pytest.fixture
def db(empty_db: Database) -> Database:
    """A fresh database with every table (created from the models)."""
    import_table_modules()
    SQLModel.metadata.create_all(empty_db.engine)
    return empty_db
