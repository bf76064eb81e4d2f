"""Auditor pages (read-only journal, chain verification) and the public status lookup."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import update

from counter.store.tables import CaseEvent
from counter.web.context import WebContext

from .conftest import (
    CLEAN_BINDING,
    CLEAN_IDENTITY,
    PASSWORD,
    bearer,
    case_to_code_step,
    console_login,
    csrf_from,
    fire,
    sent_code,
)


def completed_case(client: TestClient, web: WebContext, teller: str = "teller1") -> str:
    headers = bearer(client, teller)
    case = case_to_code_step(client, headers, CLEAN_IDENTITY, CLEAN_BINDING)
    case = fire(client, headers, case, "confirm_code", {"code": sent_code(web, "13800138000")})
    case = fire(client, headers, case, "sign_off", {"password": PASSWORD})
    reference: str = case["reference"]
    return reference


def test_auditor_reads_the_journal_and_sees_it_verify(client: TestClient, web: WebContext) -> None:
    reference = completed_case(client, web)
    console_login(client, "auditor1")
    page = client.get(f"/audit/cases/{reference}")
    assert page.status_code == 200
    assert 'class="ok" id="verify-result"' in page.text
    assert "<form" not in page.text.split("<main")[1].split("</main>")[0]
    everything = client.get("/audit/verify")
    assert 'class="ok" id="verify-result"' in everything.text


def test_an_edited_journal_entry_is_reported(client: TestClient, web: WebContext) -> None:
    reference = completed_case(client, web)
    events = CaseEvent.__table__  # type: ignore[attr-defined]
    with web.db.transaction() as conn:
        conn.execute(
            update(events)
            .where(events.c.stream == reference, events.c.seq == 2)
            .values(actor="mallory")
        )
    console_login(client, "auditor1")
    page = client.get(f"/audit/cases/{reference}").text
    assert 'class="alert" id="verify-result"' in page


def test_tellers_may_not_open_audit_pages(client: TestClient) -> None:
    console_login(client, "teller1")
    assert client.get("/audit").status_code == 403


def test_status_api_answers_only_service_state_and_time(
    client: TestClient, web: WebContext
) -> None:
    reference = completed_case(client, web)
    answer = client.get(f"/api/status/{reference}?account_last4=0128")
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"service", "state", "completed", "completed_at"}
    assert body["completed"] is True and body["completed_at"]


def test_status_wrong_last4_and_wrong_reference_answer_the_same(
    client: TestClient, web: WebContext
) -> None:
    reference = completed_case(client, web)
    wrong_digits = client.get(f"/api/status/{reference}?account_last4=9999")
    wrong_reference = client.get("/api/status/B001-20000101-000001?account_last4=0128")
    assert wrong_digits.status_code == wrong_reference.status_code == 404
    assert wrong_digits.json() == wrong_reference.json()


def test_status_is_rate_limited(client: TestClient) -> None:
    answers = [
        client.get("/api/status/B001-20000101-000001?account_last4=0000").status_code
        for _ in range(12)
    ]
    assert answers[:10] == [404] * 10
    assert answers[10:] == [429, 429]
    assert (
        client.get("/api/status/B001-20000101-000001?account_last4=0000").json()["error"]["code"]
        == "too_many_requests"
    )


def test_status_page(client: TestClient, web: WebContext) -> None:
    reference = completed_case(client, web)
    page = client.get("/status")
    assert page.status_code == 200
    token = csrf_from(page.text)
    found = client.post(
        "/status", data={"csrf_token": token, "reference": reference, "account_last4": "0128"}
    )
    assert found.status_code == 200
    assert "已完成" in found.text
    missing = client.post(
        "/status", data={"csrf_token": token, "reference": reference, "account_last4": "1111"}
    )
    assert missing.status_code == 404
    assert 'id="status-result"' in missing.text
    assert (
        client.post("/status", data={"reference": reference, "account_last4": "0128"}).status_code
        == 403
    )


def test_the_slips_qr_link_opens_the_form_with_the_reference(client: TestClient) -> None:
    page = client.get("/status/B001-20261126-000001")
    assert page.status_code == 200
    assert 'value="B001-20261126-000001"' in page.text
