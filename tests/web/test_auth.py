"""Signing in and out of the console and the API: sessions, lockout, CSRF, password change."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from counter.store import journal
from counter.web.context import WebContext

from .conftest import PASSWORD, api_token, console_login, csrf_from


def test_login_page_is_chinese_by_default(client: TestClient) -> None:
    page = client.get("/login")
    assert page.status_code == 200
    assert "登录" in page.text
    assert 'name="csrf_token"' in page.text


def test_console_login_sets_a_strict_httponly_cookie(client: TestClient) -> None:
    page = client.get("/login")
    answer = client.post(
        "/login",
        data={"username": "teller1", "password": PASSWORD, "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    cookie = next(
        v for k, v in answer.headers.multi_items() if k == "set-cookie" and "counter_session" in v
    )
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "samesite=strict" in cookie.lower()
    assert "Secure" not in cookie


def test_secure_cookies_when_configured(tmp_path, web: WebContext) -> None:  # type: ignore[no-untyped-def]
    from counter.web.app import create_app

    web.settings = web.settings.model_copy(update={"secure_cookies": True})
    with TestClient(create_app(web.settings, context=web), base_url="https://testserver") as client:
        page = client.get("/login")
        answer = client.post(
            "/login",
            data={"username": "teller1", "password": PASSWORD, "csrf_token": csrf_from(page.text)},
            follow_redirects=False,
        )
    cookie = next(
        v for k, v in answer.headers.multi_items() if k == "set-cookie" and "session" in v
    )
    assert cookie.startswith("__Host-counter_session=")
    assert "Secure" in cookie


def test_wrong_password_and_unknown_user_answer_the_same(client: TestClient) -> None:
    page = client.get("/login")
    token = csrf_from(page.text)
    wrong = client.post(
        "/login", data={"username": "teller1", "password": "nope-nope", "csrf_token": token}
    )
    unknown = client.post(
        "/login", data={"username": "nobody", "password": "nope-nope", "csrf_token": token}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert "用户名或密码错误" in wrong.text and "用户名或密码错误" in unknown.text


def test_login_without_csrf_token_is_refused(client: TestClient) -> None:
    client.get("/login")
    answer = client.post("/login", data={"username": "teller1", "password": PASSWORD})
    assert answer.status_code == 403
    assert client.get("/password", follow_redirects=False).status_code == 303


def test_session_fixation_a_planted_cookie_is_replaced_at_login(client: TestClient) -> None:
    client.cookies.set("counter_session", "planted-by-an-attacker", domain="testserver.local")
    console_login(client, "teller1")
    assert client.cookies.get("counter_session") != "planted-by-an-attacker"
    first = client.cookies.get("counter_session")
    # Signing in again (same browser) gives yet another id and ends the old one.
    console_login_again = client.get("/login", follow_redirects=False)
    assert console_login_again.status_code == 303  # already signed in
    client.cookies.delete("counter_session")
    console_login(client, "teller1")
    assert client.cookies.get("counter_session") not in (None, first)


def test_lockout_after_five_failures_is_journaled(client: TestClient, web: WebContext) -> None:
    for _ in range(5):
        answer = client.post("/api/session", json={"username": "teller2", "password": "wrong-one"})
        assert answer.status_code == 401
    # Even the right password is refused while locked.
    locked = client.post("/api/session", json={"username": "teller2", "password": PASSWORD})
    assert locked.status_code == 401
    assert "锁定" in locked.json()["error"]["message"]["zh"]
    with web.db.read() as conn:
        entries = journal.entries(conn, "user:teller2")
    # The seeded database opened the counter; each wrong password is journaled, then the lock.
    assert [e.kind for e in entries] == ["counter_open"] + ["password_wrong"] * 5 + ["lockout"]
    assert {e.note for e in entries if e.kind == "password_wrong"} == {"sign_in"}


def test_logout_ends_the_session(client: TestClient) -> None:
    console_login(client, "teller1")
    page = client.get("/password")
    assert page.status_code == 200
    answer = client.post(
        "/logout", data={"csrf_token": csrf_from(page.text)}, follow_redirects=False
    )
    assert answer.status_code == 303
    assert client.get("/password", follow_redirects=False).status_code == 303


def test_logout_without_csrf_is_refused(client: TestClient) -> None:
    console_login(client, "teller1")
    assert client.post("/logout", data={}).status_code == 403
    assert client.get("/password").status_code == 200


def test_idle_session_expires(client: TestClient, web: WebContext) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from counter.store.db import utcnow
    from counter.store.web_tables import WebSession

    token = api_token(client, "teller1")
    table = WebSession.__table__  # type: ignore[attr-defined]
    with web.db.transaction() as conn:
        conn.execute(update(table).values(last_seen_at=utcnow() - timedelta(minutes=16)))
    answer = client.delete("/api/session", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401
    with web.db.read() as conn:
        assert conn.execute(select(table)).first() is None


def test_password_change(client: TestClient) -> None:
    console_login(client, "teller1")
    other = api_token(client, "teller1")
    page = client.get("/password")
    token = csrf_from(page.text)
    refused = client.post(
        "/password",
        data={
            "csrf_token": token,
            "current_password": "wrong",
            "new_password": "new-password-1",
            "confirm_password": "new-password-1",
        },
    )
    assert refused.status_code == 422
    assert 'aria-describedby="current_password-error"' in refused.text
    done = client.post(
        "/password",
        data={
            "csrf_token": token,
            "current_password": PASSWORD,
            "new_password": "new-password-1",
            "confirm_password": "new-password-1",
        },
    )
    assert done.status_code == 200 and "密码已修改" in done.text
    assert done.history[0].status_code == 303  # post/redirect/get: a reload changes nothing
    # Other sessions end; the new password works, the old one no longer does.
    assert (
        client.delete("/api/session", headers={"Authorization": f"Bearer {other}"}).status_code
        == 401
    )
    assert (
        client.post(
            "/api/session", json={"username": "teller1", "password": "new-password-1"}
        ).status_code
        == 200
    )
    assert (
        client.post("/api/session", json={"username": "teller1", "password": PASSWORD}).status_code
        == 401
    )


def test_language_switch_is_remembered_per_user(client: TestClient) -> None:
    console_login(client, "teller1")
    page = client.get("/password")
    assert "修改密码" in page.text
    client.post(
        "/lang", data={"csrf_token": csrf_from(page.text), "lang": "en", "next": "/password"}
    )
    client.cookies.clear()
    console_login(client, "teller1")
    assert "Change password" in client.get("/password").text


def test_open_redirect_after_login_is_refused(client: TestClient) -> None:
    page = client.get("/login")
    answer = client.post(
        "/login",
        data={
            "username": "teller1",
            "password": PASSWORD,
            "csrf_token": csrf_from(page.text),
            "next": "//evil.example/",
        },
        follow_redirects=False,
    )
    assert answer.headers["location"] == "/"


def test_a_session_from_one_process_works_in_another(web: WebContext) -> None:
    """Nothing lives in process memory: a second app over the same database knows the token."""
    from counter.web.app import create_app
    from counter.web.context import build_context

    other = build_context(web.settings)
    try:
        with (
            TestClient(create_app(web.settings, context=web)) as first,
            TestClient(create_app(other.settings, context=other)) as second,
        ):
            token = api_token(first, "teller1")
            headers = {"Authorization": f"Bearer {token}"}
            assert second.get("/api/workflows", headers=headers).status_code == 200
            for _ in range(5):
                first.post("/api/session", json={"username": "teller2", "password": "x"})
            locked = second.post("/api/session", json={"username": "teller2", "password": PASSWORD})
            assert locked.status_code == 401
    finally:
        other.db.dispose()


def test_public_api_of_the_package() -> None:
    import counter.web

    assert counter.web.__all__ == ["create_app"]


def test_idle_console_session_goes_back_to_login(client: TestClient, web: WebContext) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from counter.store.db import utcnow
    from counter.store.web_tables import WebSession

    console_login(client, "teller1")
    assert client.get("/password").status_code == 200
    table = WebSession.__table__  # type: ignore[attr-defined]
    idle = timedelta(minutes=web.settings.session_idle_minutes + 1)
    with web.db.transaction() as conn:
        conn.execute(update(table).values(last_seen_at=utcnow() - idle))
    answer = client.get("/password", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login?next=")


def test_a_new_password_that_is_common_or_the_users_name_is_refused(client: TestClient) -> None:
    console_login(client, "teller1")
    token = csrf_from(client.get("/password").text)
    for new, zh, en in [
        ("1qaz2wsx3edc", "常见密码", "common password"),
        ("teller1-at-the-counter", "用户名或姓名", "username"),
    ]:
        refused = client.post(
            "/password",
            data={"csrf_token": token, "current_password": PASSWORD, "new_password": new,
                  "confirm_password": new},
        )
        assert refused.status_code == 422
        assert 'aria-describedby="new_password-error"' in refused.text
        assert zh in refused.text
        client.post("/lang", data={"csrf_token": token, "lang": "en", "next": "/password"})
        again = client.post(
            "/password",
            data={"csrf_token": token, "current_password": PASSWORD, "new_password": new,
                  "confirm_password": new},
        )
        assert en in again.text
        client.post("/lang", data={"csrf_token": token, "lang": "zh", "next": "/password"})
    # Nothing changed: the old password still signs in.
    assert client.post(
        "/api/session", json={"username": "teller1", "password": PASSWORD}
    ).status_code == 200
