"""Headers on every answer, the request size limit, and the settings check at start-up."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from counter.config import DEFAULT_SECRET_KEY
from counter.errors import ConfigurationError
from counter.web.app import MAX_BODY_BYTES, create_app
from counter.web.context import WebContext

from .conftest import make_settings


@pytest.mark.parametrize("path", ["/login", "/api/workflows", "/static/app.css", "/nowhere"])
def test_security_headers_on_every_answer(client: TestClient, path: str) -> None:
    answer = client.get(path)
    csp = answer.headers["content-security-policy"]
    script_src = next(p for p in csp.split(";") if p.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    assert "frame-ancestors 'none'" in csp
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "no-referrer"


def test_pages_are_not_cached(client: TestClient) -> None:
    assert client.get("/login").headers["cache-control"] == "no-store"


def test_htmx_is_served_from_our_own_static_files(client: TestClient) -> None:
    answer = client.get("/static/vendor/htmx.min.js")
    assert answer.status_code == 200
    assert "htmx" in answer.text[:200]
    page = client.get("/login").text
    assert 'src="/static/vendor/htmx.min.js"' in page
    assert "<script>" not in page and "onclick" not in page and "style=" not in page


def test_oversized_body_is_refused_with_413(client: TestClient) -> None:
    answer = client.post(
        "/api/session",
        content=b'{"username": "' + b"x" * (MAX_BODY_BYTES + 10) + b'", "password": "y"}',
        headers={"content-type": "application/json"},
    )
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "too_large"


def test_oversized_streamed_body_is_refused_with_413(client: TestClient) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(MAX_BODY_BYTES // 1024 + 2):
            yield b"x" * 1024

    answer = client.post(
        "/api/session", content=chunks(), headers={"content-type": "application/json"}
    )
    assert answer.status_code == 413


SECURITY_HEADERS = (
    "content-security-policy",
    "x-frame-options",
    "x-content-type-options",
    "referrer-policy",
    "cross-origin-opener-policy",
    "cross-origin-resource-policy",
    "permissions-policy",
    "cache-control",
)


def _oversized() -> dict[str, object]:
    return {"content": b"x" * (MAX_BODY_BYTES + 1), "headers": {"content-type": "application/json"}}


def _streamed() -> dict[str, object]:
    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(MAX_BODY_BYTES // 1024 + 2):
            yield b"x" * 1024

    return {"content": chunks(), "headers": {"content-type": "application/json"}}


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "/login", None, 200),
        ("GET", "/api/cases", None, 401),
        ("GET", "/api/nowhere", None, 404),
        ("PUT", "/api/session", None, 405),
        ("POST", "/api/session", lambda: {"json": {"username": 1}}, 422),
        ("POST", "/api/session", _oversized, 413),
        ("POST", "/api/session", _streamed, 413),
        ("GET", "/boom", None, 500),
    ],
)
def test_every_answer_carries_the_security_headers(
    app: FastAPI, method: str, path: str, body: Callable[[], dict[str, object]] | None,
    status: int,
) -> None:
    """Whichever layer answers (a route, the size limit, Starlette's last resort for a 500)."""

    def boom() -> None:
        raise RuntimeError("an unexpected error")

    app.add_api_route("/boom", boom, include_in_schema=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.request(method, path, **(body() if body else {}))  # type: ignore[arg-type]
    assert answer.status_code == status
    missing = [name for name in SECURITY_HEADERS if name not in answer.headers]
    assert missing == []
    assert answer.headers["x-frame-options"] == "DENY"


def test_default_secret_is_refused_outside_demo_mode(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, demo_mode=False, secret_key=DEFAULT_SECRET_KEY)
    with pytest.raises(ConfigurationError):
        create_app(settings)


def test_default_secret_is_accepted_in_demo_mode(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, demo_mode=True, secret_key=DEFAULT_SECRET_KEY)
    assert create_app(settings) is not None


def test_error_shape_for_api(client: TestClient) -> None:
    answer = client.delete("/api/session")
    assert answer.status_code == 401
    body = answer.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields", "findings"}
    assert set(body["error"]["message"]) == {"zh", "en"}


def test_request_validation_uses_the_error_shape(client: TestClient) -> None:
    answer = client.post("/api/session", json={"username": "teller1"})
    assert answer.status_code == 422
    fields = answer.json()["error"]["fields"]
    assert fields[0]["field"] == "password"
    assert set(fields[0]["message"]) == {"zh", "en"}


def test_unknown_page_is_a_translated_404(client: TestClient, web: WebContext) -> None:
    answer = client.get("/nowhere")
    assert answer.status_code == 404
    assert "未找到" in answer.text


def test_stored_script_is_shown_as_text_on_every_page(client: TestClient) -> None:
    from .conftest import AGENT_IDENTITY, bearer, console_login, fire

    script = "<script>alert(1)</script>"
    teller = bearer(client, "teller1")
    opened = client.post("/api/cases", json={"workflow": "pos_unbind"}, headers=teller).json()
    case = fire(
        client, teller, opened, "submit_identity", {**AGENT_IDENTITY, "mandate_ref": script}
    )
    reference, approval = case["reference"], case["pending"]["id"]
    pages = []
    console_login(client, "teller1")
    pages.append(client.get(f"/cases/{reference}").text)
    # Echoed back into a refused form, too.
    client.cookies.clear()
    console_login(client, "supervisor1")
    pages.append(client.get(f"/approvals/{approval}").text)
    pages.append(client.get("/approvals").text)
    client.cookies.clear()
    console_login(client, "auditor1")
    pages.append(client.get(f"/audit/cases/{reference}").text)
    for html in pages:
        assert script not in html
    assert any("&lt;script&gt;alert(1)&lt;/script&gt;" in html for html in pages)
    api = client.get(f"/api/cases/{reference}", headers=teller)
    assert api.headers["content-type"].startswith("application/json")


def test_refused_form_echoes_script_escaped(client: TestClient) -> None:
    import re

    from .conftest import CLEAN_IDENTITY, console_login, csrf_from

    console_login(client, "teller1")
    page = client.get("/cases/new")
    opened = client.post(
        "/cases",
        data={"csrf_token": csrf_from(page.text), "workflow": "pos_unbind"},
        follow_redirects=False,
    )
    reference = opened.headers["location"].rsplit("/", 1)[1]
    page = client.get(f"/cases/{reference}")
    answer = client.post(
        f"/cases/{reference}/steps/submit_identity",
        data={
            "csrf_token": csrf_from(page.text),
            "version": re.search(r'name="version" value="(\d+)"', page.text).group(1),  # type: ignore[union-attr]
            **CLEAN_IDENTITY,
            "id_expiry": "",
            "name": '"><script>alert(1)</script>',
        },
    )
    assert answer.status_code == 422
    assert "<script>alert(1)</script>" not in answer.text
    assert "&#34;&gt;&lt;script&gt;" in answer.text


def test_sql_in_search_is_just_a_reference_that_does_not_exist(client: TestClient) -> None:
    from .conftest import console_login

    console_login(client, "teller1")
    for attempt in ("' OR '1'='1", "x'; DROP TABLE teller_case; --", "%' OR 1=1 --"):
        answer = client.get("/search", params={"reference": attempt})
        assert answer.status_code == 404
    assert client.get("/").status_code == 200
