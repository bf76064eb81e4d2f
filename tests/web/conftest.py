"""Fixtures for the web tests: a fresh SQLite database per test, users of every role, clients."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import SQLModel

from counter.adapters.demo import load_demo
from counter.branchday import open_counter
from counter.config import Settings
from counter.engine.types import Actor
from counter.store import users
from counter.store.db import Database
from counter.store.migrate import import_table_modules
from counter.web.app import create_app
from counter.web.context import WebContext, build_context

from .browser import browser, page, server  # noqa: F401  (the browser tests' fixtures)

PASSWORD = "counter-test-2026"
# username -> (roles, branch)
PEOPLE: dict[str, tuple[list[str], str]] = {
    "teller1": (["teller"], "B001"),
    "teller2": (["teller"], "B001"),
    "teller9": (["teller"], "B002"),
    "supervisor1": (["supervisor"], "B001"),
    "supervisor9": (["supervisor"], "B002"),
    "auditor1": (["auditor"], "B001"),
    "lead1": (["teller", "supervisor"], "B001"),
}
# The tellers whose counter (window) the seeded database has open: a teller opens
# counter cases only at an open counter. A counter stays open until it is closed,
# whatever the day, so a database seeded once serves the whole test session.
WINDOWS = {"teller1": 1, "teller2": 2, "teller9": 1, "lead1": 3}


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": f"sqlite:///{tmp_path / 'counter.db'}",
        "var_dir": tmp_path,
        "demo_mode": True,
        "secret_key": "test-secret-key-not-the-default",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def seed_people_in(db: Database) -> None:
    users.create_branch(db, code="B001", name_zh="第一支行", name_en="First Branch")
    users.create_branch(db, code="B002", name_zh="第二支行", name_en="Second Branch")
    for name, (roles, branch) in PEOPLE.items():
        users.create_user(
            db, username=name, password=PASSWORD, roles=roles, branch=branch, display_name=name
        )


def open_counters_in(db: Database) -> None:
    """Open the counter of every teller in ``WINDOWS``, now."""
    now = datetime.now(UTC)
    for name, window in WINDOWS.items():
        roles, branch = PEOPLE[name]
        actor = Actor(username=name, roles=frozenset(roles), branch=branch)
        open_counter(db, actor=actor, window=window, now=now)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture(scope="session")
def seeded_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database file with every table, the users (tellers at open counters), the demo registry."""
    folder = tmp_path_factory.mktemp("seed")
    db = Database(f"sqlite:///{folder / 'counter.db'}")
    import_table_modules()
    SQLModel.metadata.create_all(db.engine)
    seed_people_in(db)
    open_counters_in(db)
    load_demo(db)
    with db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.dispose()
    return folder / "counter.db"


@pytest.fixture
def web(settings: Settings, seeded_database: Path) -> Iterator[WebContext]:
    """A fresh copy of the seeded database for each test, and the app's context over it."""
    target = Path(settings.database_url.removeprefix("sqlite:///"))
    shutil.copyfile(seeded_database, target)
    context = build_context(settings)
    yield context
    context.db.dispose()


@pytest.fixture
def app(web: WebContext) -> FastAPI:
    return create_app(web.settings, context=web)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver") as test_client:
        yield test_client


def api_token(client: TestClient, username: str, password: str = PASSWORD) -> str:
    answer = client.post("/api/session", json={"username": username, "password": password})
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["token"]
    return token


def bearer(client: TestClient, username: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_token(client, username)}"}


def csrf_from(html: str) -> str:
    marker = 'name="csrf_token" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def console_login(client: TestClient, username: str, password: str = PASSWORD) -> None:
    login_page = client.get("/login")
    answer = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_from(login_page.text)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text


# --- the flagship through the API ---------------------------------------------

CLEAN_IDENTITY = {
    "id_type": "resident_id",
    "id_number": "110105198001010016",
    "name": "张三",
    "id_expiry": "long_term",
    "acting_as": "self",
}
CLEAN_BINDING = {
    "merchant_no": "102110058120001",
    "uscc": "91110000600037341L",
    "terminal_sn": "SN-PAX-000001",
    "account_number": "6222021234567890128",
}
AGENT_IDENTITY = {
    "id_type": "resident_id",
    "id_number": "110101198506150043",
    "name": "赵六",
    "id_expiry": "2036-06-30",
    "acting_as": "agent",
    "principal_id_number": "330106197812300095",
    "mandate_ref": "WT-2026-0001",
}
AGENT_BINDING = {
    "merchant_no": "102110058120008",
    "uscc": "91110115MA01HHH8X2",
    "terminal_sn": "SN-PAX-000008",
    "account_number": "6212260000998877666",
}


def sent_code(web: WebContext, phone: str) -> str:
    """The last unbind code the local SMS gateway sent to ``phone``."""
    import re

    messages = web.desk.services.sms.outbox(phone=phone)
    assert messages, f"no SMS to {phone}"
    found = re.search(r"验证码(\d{6})", messages[0].text)
    assert found, messages[0].text
    return found.group(1)


def fire(
    client: TestClient,
    headers: dict[str, str],
    case: dict[str, Any],
    trigger: str,
    data: dict[str, Any],
) -> dict[str, Any]:
    answer = client.post(
        f"/api/cases/{case['reference']}/triggers/{trigger}",
        json={"data": data, "version": case["version"]},
        headers=headers,
    )
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def case_to_code_step(
    client: TestClient, headers: dict[str, str], identity: dict[str, str], binding: dict[str, str]
) -> dict[str, Any]:
    opened = client.post("/api/cases", json={"workflow": "pos_unbind"}, headers=headers)
    assert opened.status_code == 201, opened.text
    case: dict[str, Any] = opened.json()
    case = fire(client, headers, case, "submit_identity", identity)
    if case["state"] != "info_check":
        return case
    return fire(client, headers, case, "submit_binding", binding)
