"""Sessions end when idle or at their absolute lifetime; polling is not activity; one read.

Times are moved by editing the session rows (no test waits). Both kinds of
session are covered: console cookies and API bearer tokens. Two apps over
one database stand for two server processes: a token ended in one is
refused by the other at its very next request.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select, update

from counter.store.db import utcnow
from counter.store.tables import User
from counter.store.web_tables import WebSession
from counter.web.app import create_app
from counter.web.context import WebContext, build_context

from .conftest import PASSWORD, api_token, console_login, csrf_from

_sessions = WebSession.__table__  # type: ignore[attr-defined]
_users = User.__table__  # type: ignore[attr-defined]
BACKGROUND = {"X-Counter-Background": "1"}


def session_times(web: WebContext, username: str) -> list[tuple[datetime, datetime]]:
    with web.db.read() as conn:
        rows = conn.execute(
            select(_sessions.c.created_at, _sessions.c.last_seen_at).where(
                _sessions.c.username == username
            )
        ).all()
    return [(r[0], r[1]) for r in rows]


def age_sessions(web: WebContext, username: str, *, created: timedelta, seen: timedelta) -> None:
    """Make every session of ``username`` look started ``created`` ago, last used ``seen`` ago."""
    now = utcnow()
    with web.db.transaction() as conn:
        conn.execute(
            update(_sessions)
            .where(_sessions.c.username == username)
            .values(created_at=now - created, last_seen_at=now - seen)
        )


class Caller:
    """One user's requests with either kind of session, the same way."""

    def __init__(self, client: TestClient, kind: str, username: str) -> None:
        self.client = client
        self.kind = kind
        if kind == "cookie":
            console_login(client, username)
            self.headers: dict[str, str] = {}
        else:
            self.headers = {"Authorization": f"Bearer {api_token(client, username)}"}

    def works(self, extra: dict[str, str] | None = None) -> bool:
        headers = {**self.headers, **(extra or {})}
        if self.kind == "cookie":
            answer = self.client.get("/password", headers=headers, follow_redirects=False)
            return answer.status_code == 200
        answer = self.client.get("/api/cases", headers=headers)
        assert answer.status_code in (200, 401), answer.text
        return answer.status_code == 200


@pytest.fixture(params=["cookie", "bearer"])
def kind(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


def test_a_session_older_than_its_lifetime_ends_however_active(
    client: TestClient, web: WebContext, kind: str
) -> None:
    caller = Caller(client, kind, "teller1")
    lifetime = timedelta(hours=web.settings.session_lifetime_hours)
    assert web.settings.session_lifetime_hours == 12
    age_sessions(web, "teller1", created=lifetime - timedelta(minutes=5), seen=timedelta(0))
    assert caller.works()
    age_sessions(web, "teller1", created=timedelta(days=30), seen=timedelta(0))
    assert not caller.works()
    assert session_times(web, "teller1") == []  # ended, not only refused


def test_an_idle_session_ends(client: TestClient, web: WebContext, kind: str) -> None:
    caller = Caller(client, kind, "teller1")
    idle = timedelta(minutes=web.settings.session_idle_minutes)
    age_sessions(web, "teller1", created=idle * 2, seen=idle + timedelta(seconds=5))
    assert not caller.works()


def test_background_polling_does_not_keep_a_session_alive(
    client: TestClient, web: WebContext, kind: str
) -> None:
    caller = Caller(client, kind, "teller1")
    idle = timedelta(minutes=web.settings.session_idle_minutes)
    age_sessions(web, "teller1", created=idle, seen=idle - timedelta(minutes=1))
    [(_, seen_before)] = session_times(web, "teller1")
    for _ in range(3):
        assert caller.works(BACKGROUND)  # authenticated...
    [(_, seen_after)] = session_times(web, "teller1")
    assert seen_after == seen_before  # ...but not activity
    assert caller.works()  # a request of the user's own moves it on
    [(_, seen_now)] = session_times(web, "teller1")
    assert seen_now > seen_before
    age_sessions(web, "teller1", created=idle, seen=idle + timedelta(seconds=5))
    assert not caller.works(BACKGROUND)


def test_the_polling_pages_say_they_are_background(client: TestClient) -> None:
    console_login(client, "supervisor1")
    dashboard = client.get("/dashboard")
    assert dashboard.status_code == 200
    assert 'hx-headers=\'{"X-Counter-Background": "1"}\'' in dashboard.text
    # the queue asks /changes from the console's script, which marks its polls background
    queue = client.get("/approvals")
    assert queue.status_code == 200 and 'data-live-url="/changes"' in queue.text
    script = client.get("/static/app.js").text
    assert 'BACKGROUND = { "X-Counter-Background": "1" }' in script
    assert "headers: BACKGROUND" in script


@pytest.fixture
def second_app(web: WebContext) -> Iterator[TestClient]:
    """Another app over the same database file: what a second server process would be."""
    other = build_context(web.settings)
    try:
        with TestClient(create_app(web.settings, context=other)) as client:
            yield client
    finally:
        other.db.dispose()


def test_sign_out_in_one_process_ends_the_token_in_the_other(
    client: TestClient, second_app: TestClient
) -> None:
    token = api_token(client, "teller1")
    headers = {"Authorization": f"Bearer {token}"}
    assert second_app.get("/api/cases", headers=headers).status_code == 200
    assert client.delete("/api/session", headers=headers).status_code == 204
    assert second_app.get("/api/cases", headers=headers).status_code == 401


def test_password_change_in_one_process_ends_the_tokens_in_the_other(
    client: TestClient, second_app: TestClient
) -> None:
    headers = {"Authorization": f"Bearer {api_token(client, 'teller2')}"}
    assert second_app.get("/api/cases", headers=headers).status_code == 200
    console_login(client, "teller2")
    page = client.get("/password")
    changed = client.post(
        "/password",
        data={
            "current_password": PASSWORD,
            "new_password": "Brand-new-passphrase-7",
            "confirm_password": "Brand-new-passphrase-7",
            "csrf_token": csrf_from(page.text),
        },
    )
    assert changed.status_code == 200, changed.text
    assert second_app.get("/api/cases", headers=headers).status_code == 401
    assert client.get("/password").status_code == 200  # the session that changed it stays


def test_a_deactivated_user_is_refused_at_once_everywhere(
    client: TestClient, second_app: TestClient, web: WebContext
) -> None:
    headers = {"Authorization": f"Bearer {api_token(client, 'teller1')}"}
    assert second_app.get("/api/cases", headers=headers).status_code == 200
    with web.db.transaction() as conn:
        conn.execute(update(_users).where(_users.c.username == "teller1").values(active=False))
    assert second_app.get("/api/cases", headers=headers).status_code == 401
    assert client.get("/api/cases", headers=headers).status_code == 401


def test_authenticating_a_request_is_one_read_without_the_password_hash(
    client: TestClient, web: WebContext, kind: str
) -> None:
    caller = Caller(client, kind, "teller1")
    statements: list[str] = []

    def trace(dbapi_connection: Any, record: Any, proxy: Any = None) -> None:
        dbapi_connection.set_trace_callback(statements.append)  # what SQLite itself runs

    def untrace(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.set_trace_callback(None)

    event.listen(web.db.engine, "checkout", trace)
    event.listen(web.db.engine, "checkin", untrace)
    try:
        assert caller.works(BACKGROUND)
    finally:
        event.remove(web.db.engine, "checkout", trace)
        event.remove(web.db.engine, "checkin", untrace)
    session_reads = [s for s in statements if "web_session" in s]
    assert len(session_reads) == 1, session_reads
    assert "JOIN users" in session_reads[0]
    assert not any("password_hash" in s for s in statements), statements
