"""The lockout is decided in the database: parallel sign-ins, on SQLite and PostgreSQL.

Forty sign-ins of one user fired at once, from threads through the real app:
at most ``lockout_after`` passwords are checked (argon2 runs at most that
often), the account ends locked, and the right password is then refused
without being checked. Wrong passwords at a teller's sign-off and at a
password change count toward the same lockout and are journaled.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from reliability.test_concurrency_http import at_once

from counter.store import journal, users
from counter.store.db import Database, utcnow
from counter.web import auth
from counter.web.app import create_app
from counter.web.context import WebContext, build_context

from .conftest import (
    CLEAN_BINDING,
    CLEAN_IDENTITY,
    PASSWORD,
    bearer,
    case_to_code_step,
    console_login,
    csrf_from,
    fire,
    make_settings,
    seed_people_in,
    sent_code,
)

pytestmark = pytest.mark.postgres
BURST = 40


class Checks:
    """Counts argon2 verifications (the store's ``verify_password``) across threads."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        self._lock = threading.Lock()
        real = users.verify_password

        def counted(password_hash: str, password: str) -> bool:
            with self._lock:
                self.count += 1
            return real(password_hash, password)

        monkeypatch.setattr(users, "verify_password", counted)


@pytest.fixture
def any_db_web(db: Database, tmp_path: Path) -> Iterator[WebContext]:
    """The app's context over a fresh SQLite or PostgreSQL database with the test users."""
    seed_people_in(db)
    settings = make_settings(
        tmp_path,
        database_url=db.engine.url.render_as_string(hide_password=False),
        login_per_address_per_minute=0,  # the burst comes from one address
    )
    yield build_context(settings, db=db)


@pytest.fixture
def any_db_client(any_db_web: WebContext) -> Iterator[TestClient]:
    with TestClient(create_app(any_db_web.settings, context=any_db_web)) as client:
        yield client


def sign_in(client: TestClient, password: str) -> Callable[[], httpx.Response]:
    return lambda: client.post("/api/session", json={"username": "teller1", "password": password})


def test_forty_parallel_sign_ins_check_at_most_five_passwords(
    any_db_client: TestClient, any_db_web: WebContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    checks = Checks(monkeypatch)
    answers = at_once(*[sign_in(any_db_client, f"wrong-{i:02d}-password") for i in range(BURST)])
    assert [a.status_code for a in answers] == [401] * BURST
    assert 1 <= checks.count <= any_db_web.settings.lockout_after
    locked = [a for a in answers if "锁定" in a.json()["error"]["message"]["zh"]]
    assert len(locked) >= BURST - any_db_web.settings.lockout_after

    # Locked: a second burst, the right password among them, is refused unchecked.
    before = checks.count
    answers = at_once(
        *[sign_in(any_db_client, PASSWORD if i % 4 == 0 else "wrong-again") for i in range(BURST)]
    )
    assert [a.status_code for a in answers] == [401] * BURST
    assert all("locked" in a.json()["error"]["message"]["en"] for a in answers)
    assert checks.count == before
    with any_db_web.db.read() as conn:
        kinds = [e.kind for e in journal.entries(conn, "user:teller1")]
    assert kinds.count("lockout") == 1
    assert 1 <= kinds.count("password_wrong") <= any_db_web.settings.lockout_after


def test_the_right_password_is_never_let_in_once_locked(
    any_db_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The right password fired with wrong ones: a token only if it was checked in time.

    Whatever the interleaving, no token is given once the account is locked,
    and however many get a token, a burst without any success checks at
    most five passwords.
    """
    checks = Checks(monkeypatch)
    answers = at_once(
        *[sign_in(any_db_client, PASSWORD if i == BURST // 2 else "wrong-password") for i in
          range(BURST)]
    )
    tokens = [a for a in answers if a.status_code == 200]
    assert len(tokens) <= 1
    assert checks.count <= 5 * (1 + len(tokens))
    late = any_db_client.post("/api/session", json={"username": "teller1", "password": PASSWORD})
    assert late.status_code == 401  # the wrong ones locked it, whoever came first
    for token in tokens:  # a lock ends every session of the user
        seen = any_db_client.get(
            "/api/cases", headers={"Authorization": f"Bearer {token.json()['token']}"}
        )
        assert seen.status_code == 401


def wrong_password_signoff(
    client: TestClient, headers: dict[str, str], case: dict[str, Any]
) -> httpx.Response:
    return client.post(
        f"/api/cases/{case['reference']}/triggers/sign_off",
        json={"data": {"password": "not-my-password"}, "version": case["version"]},
        headers=headers,
    )


def test_wrong_sign_off_passwords_count_toward_the_lockout(
    client: TestClient, web: WebContext
) -> None:
    headers = bearer(client, "teller1")
    case = case_to_code_step(client, headers, CLEAN_IDENTITY, CLEAN_BINDING)
    code = sent_code(web, "13800138000")
    case = fire(client, headers, case, "confirm_code", {"code": code})
    assert case["state"] == "teller_signoff", case
    for _ in range(web.settings.lockout_after - 1):
        answer = wrong_password_signoff(client, headers, case)
        assert answer.status_code == 422
        assert "teller_password_wrong" in str(answer.json())
    last = wrong_password_signoff(client, headers, case)
    assert last.status_code == 422
    assert "teller_locked" in str(last.json())
    assert "已锁定" in str(last.json()) and "locked" in str(last.json())
    # The lock ended the teller's sessions, and the right password does not sign in.
    assert client.get("/api/cases", headers=headers).status_code == 401
    again = client.post("/api/session", json={"username": "teller1", "password": PASSWORD})
    assert again.status_code == 401
    with web.db.read() as conn:
        entries = journal.entries(conn, "user:teller1")
    wrong = [e for e in entries if e.kind == "password_wrong"]
    assert [e.note for e in wrong] == ["sign_off"] * web.settings.lockout_after
    assert entries[-1].kind == "lockout"


def test_wrong_current_passwords_at_password_change_count_toward_the_lockout(
    client: TestClient, web: WebContext
) -> None:
    console_login(client, "teller2")
    for attempt in range(web.settings.lockout_after):
        page = client.get("/password")
        assert page.status_code == 200, attempt
        answer = client.post(
            "/password",
            data={
                "current_password": "not-the-password",
                "new_password": "Quite-new-passphrase-9",
                "confirm_password": "Quite-new-passphrase-9",
                "csrf_token": csrf_from(page.text),
            },
            follow_redirects=False,
        )
        if attempt < web.settings.lockout_after - 1:
            assert answer.status_code == 422
            assert "当前密码不正确" in answer.text
    assert answer.status_code == 401
    assert "已锁定" in answer.text
    assert client.get("/password", follow_redirects=False).status_code == 303  # signed out
    with web.db.read() as conn:
        entries = journal.entries(conn, "user:teller2")
    assert [e.note for e in entries if e.kind == "password_wrong"] == [
        "password_change"
    ] * web.settings.lockout_after
    assert entries[-1].kind == "lockout"


def test_sign_ins_from_one_address_are_throttled_across_processes(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Twenty sign-ins at once from one address, to two apps (two processes) over one
    database, half on the console page and half on the API: exactly the limit get through."""
    seed_people_in(db)
    settings = make_settings(
        tmp_path,
        database_url=db.engine.url.render_as_string(hide_password=False),
        login_per_address_per_minute=5,
    )
    checks = Checks(monkeypatch)
    # One instant for the whole test: the limit counts per minute, and a burst straddling
    # the turn of a minute would be counted in two windows.
    frozen = utcnow()
    monkeypatch.setattr(auth, "utcnow", lambda: frozen)
    first, second = build_context(settings, db=db), build_context(settings)
    try:
        with TestClient(create_app(settings, context=first)) as one, TestClient(
            create_app(settings, context=second)
        ) as two:
            token = csrf_from(two.get("/login").text)

            def page() -> httpx.Response:
                return two.post(
                    "/login",
                    data={"username": "nobody", "password": "wrong-pass", "csrf_token": token},
                )

            def api() -> httpx.Response:
                return one.post(
                    "/api/session", json={"username": "nobody", "password": "wrong-pass"}
                )

            answers = at_once(*[page if i % 2 else api for i in range(20)])
    finally:
        second.db.dispose()
    codes = sorted(a.status_code for a in answers)
    assert codes == [401] * 5 + [429] * 15
    assert checks.count == 5  # a throttled attempt checks no password
    throttled = [a for a in answers if a.status_code == 429]
    assert all(a.headers["retry-after"] == "60" for a in throttled)
    assert any("登录尝试过多" in a.text for a in throttled)  # the page, in Chinese
