"""Fixtures for the web tests: a fresh SQLite database per test, users of every role, clients."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from counter.config import Settings
from counter.store import users
from counter.web.app import create_app
from counter.web.context import WebContext, build_context

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


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": f"sqlite:///{tmp_path / 'counter.db'}",
        "var_dir": tmp_path,
        "demo_mode": True,
        "secret_key": "test-secret-key-not-the-default",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def seed_people(web: WebContext) -> None:
    users.create_branch(web.db, code="B001", name_zh="第一支行", name_en="First Branch")
    users.create_branch(web.db, code="B002", name_zh="第二支行", name_en="Second Branch")
    for name, (roles, branch) in PEOPLE.items():
        users.create_user(
            web.db, username=name, password=PASSWORD, roles=roles, branch=branch, display_name=name
        )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def web(settings: Settings) -> Iterator[WebContext]:
    context = build_context(settings)
    context.db.create_all()
    seed_people(context)
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
    page = client.get("/login")
    answer = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
