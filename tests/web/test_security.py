"""Headers on every answer, the request size limit, and the settings check at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest
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
    assert set(body["error"]) == {"code", "message", "fields"}
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
