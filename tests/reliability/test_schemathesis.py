"""Bad input: generated requests against ``/openapi.json``, oversized bodies and fields.

schemathesis sends examples of every operation the OpenAPI document
describes to the in-process app (ASGI, no network), signed in as one user of
every role (teller, supervisor, auditor, merchant, reviewer, service agent)
and as nobody. No answer may be a 5xx, and every
answer must be one the document describes: its status listed for the
operation, its content type and its body the schema given for it. The number of
examples is bounded so that the test takes seconds, not minutes.

Then the limits: a body over 64 KiB is refused with 413 whether it says
its length or streams it; a field longer than its form allows, an
over-long workflow name, reason or ``Idempotency-Key`` are refused with 422.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from counter.web import sessions
from counter.web.app import MAX_BODY_BYTES, create_app
from counter.web.context import WebContext
from counter.web.routes import floor

from ._server import demo_context

EXAMPLES = 12  # per operation and role
CONTRACT = [
    not_a_server_error,
    status_code_conformance,  # every status answered is one the document lists
    content_type_conformance,
    response_schema_conformance,
]
USERS = {  # one user of every role the demo data holds
    "teller": "teller1", "supervisor": "supervisor1", "auditor": "auditor1",
    "merchant": "merchant1", "reviewer": "reviewer1", "service_agent": "agent1",
}


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebContext]:
    folder = tmp_path_factory.mktemp("schemathesis")
    with demo_context(folder) as context:
        yield context


@pytest.fixture(scope="module")
def app(web: WebContext) -> FastAPI:
    built = create_app(web.settings, context=web)
    teller = bearer(web, "teller1")
    with TestClient(built) as client:  # a case to read, so that some references exist
        client.post("/api/cases", json={"workflow": "pos_unbind"}, headers=teller)
    return built


@pytest.fixture(scope="module")
def api_schema(app: FastAPI) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def bearer(web: WebContext, username: str) -> dict[str, str]:
    """A fresh API session (a new one per example: one example may sign the session out)."""
    token, _ = sessions.create_session(web.db, username=username, kind="bearer",
                                       now=datetime.now(UTC))
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.slow
@pytest.mark.parametrize("role", [*USERS, "nobody"])
def test_no_server_error_and_every_answer_fits_its_schema(
    role: str, api_schema: Any, web: WebContext
) -> None:
    failures: list[str] = []
    for found in api_schema.get_all_operations():
        operation = found.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case: Any) -> None:
            headers = bearer(web, USERS[role]) if role in USERS else {}
            case.call_and_validate(headers=headers, checks=CONTRACT)

        try:
            check()
        except Exception as failure:  # every operation's failure, not only the first
            failures.append(f"{operation.label} as {role}: {failure}")
    assert failures == [], "\n\n".join(failures)


# --- limits --------------------------------------------------------------------


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def a_case(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    opened = client.post("/api/cases", json={"workflow": "pos_unbind"}, headers=headers)
    assert opened.status_code == 201, opened.text
    case: dict[str, Any] = opened.json()
    return case


def identity(**changes: str) -> dict[str, str]:
    form = {"id_type": "resident_id", "id_number": "110105198001010016", "name": "张三",
            "id_expiry": "long_term", "acting_as": "self"}
    form.update(changes)
    return form


def test_a_body_over_the_limit_is_refused_with_413(client: TestClient, web: WebContext) -> None:
    headers = bearer(web, "teller1")
    case = a_case(client, headers)
    path = f"/api/cases/{case['reference']}/triggers/submit_identity"
    padding = "x" * (MAX_BODY_BYTES + 1)
    answer = client.post(path, json={"data": identity(name=padding), "version": 1},
                         headers=headers)
    assert answer.status_code == 413, answer.text
    assert answer.json()["error"]["code"] == "too_large"

    def streamed() -> Iterator[bytes]:  # no Content-Length: the limit counts what arrives
        yield b'{"version": 1, "data": {"name": "'
        for _ in range(MAX_BODY_BYTES // 1024 + 2):
            yield b"x" * 1024
        yield b'"}}'

    answer = client.post(path, content=streamed(),
                         headers={**headers, "Content-Type": "application/json"})
    assert answer.status_code == 413, answer.text
    assert client.get(f"/api/cases/{case['reference']}", headers=headers).json()["version"] == 1


def test_a_field_over_its_length_is_refused_with_422(client: TestClient, web: WebContext) -> None:
    headers = bearer(web, "teller1")
    case = a_case(client, headers)
    path = f"/api/cases/{case['reference']}/triggers/submit_identity"
    answer = client.post(path, json={"data": identity(name="张" * 2000), "version": 1},
                         headers=headers)
    assert answer.status_code == 422, answer.text
    assert "name" in {f["field"] for f in answer.json()["error"]["fields"]}, answer.text
    answer = client.post("/api/cases", json={"workflow": "w" * 65}, headers=headers)
    assert answer.status_code == 422, answer.text
    answer = client.post(path, json={"data": identity(), "version": 1},
                         headers={**headers, "Idempotency-Key": "k" * 201})
    assert answer.status_code == 422, answer.text
    agent = identity(id_number="110101198506150043", name="赵六", id_expiry="2036-06-30",
                     acting_as="agent", principal_id_number="330106197812300095",
                     mandate_ref="WT-2026-0001")
    waiting = client.post(f"/api/cases/{a_case(client, headers)['reference']}/triggers/"
                          "submit_identity", json={"data": agent, "version": 1}, headers=headers)
    assert waiting.status_code == 200, waiting.text
    approval = waiting.json()["pending"]["id"]
    answer = client.post(f"/api/approvals/{approval}/reject", json={"reason": "r" * 501},
                         headers=bearer(web, "supervisor1"))  # the lookup comes first: 404, 403
    assert answer.status_code == 422, answer.text
    assert client.get(f"/api/cases/{case['reference']}", headers=headers).json()["version"] == 1


def test_the_load_tests_floor_endpoint_is_absent_unless_enabled(client: TestClient,
                                                                web: WebContext) -> None:
    """``POST /api/bench/floor`` exists only in processes started with COUNTER_BENCH_FLOOR=1."""
    if floor.enabled():
        pytest.skip("this test process was started with COUNTER_BENCH_FLOOR=1")
    answer = client.post("/api/bench/floor", headers=bearer(web, "teller1"))
    assert answer.status_code == 404, answer.text
    assert not [path for path in client.get("/openapi.json").json()["paths"]
                if path.startswith("/api/bench")]
