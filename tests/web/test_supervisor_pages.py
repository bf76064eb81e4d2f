"""The supervisor's queue and approval page: evidence masked, four eyes, reject needs a reason."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import text

from counter.adapters import SimulatedFailure
from counter.store.db import utcnow
from counter.web.context import WebContext

from .conftest import (
    AGENT_IDENTITY,
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


def raise_agent_case(client: TestClient, teller: str = "teller1") -> tuple[str, int]:
    headers = bearer(client, teller)
    opened = client.post("/api/cases", json={"workflow": "pos_unbind"}, headers=headers).json()
    case = fire(client, headers, opened, "submit_identity", AGENT_IDENTITY)
    assert case["state"] == "supervisor_review"
    return case["reference"], case["pending"]["id"]


def test_queue_lists_the_branch_oldest_first_with_waiting_time(client: TestClient) -> None:
    first, _ = raise_agent_case(client)
    second, _ = raise_agent_case(client, "teller2")
    console_login(client, "supervisor1")
    page = client.get("/approvals").text
    assert page.index(first) < page.index(second)
    assert "分钟" in page
    assert 'data-live-url="/changes"' in page


def test_one_queue_holds_approvals_acquirer_failures_and_cases_about_to_expire(
    client: TestClient, web: WebContext
) -> None:
    """An acquirer's refusal waits for a supervisor (retry or cancel): it is in the queue."""
    approval, _ = raise_agent_case(client)
    teller = bearer(client, "teller1")
    case = case_to_code_step(client, teller, CLEAN_IDENTITY, CLEAN_BINDING)
    case = fire(client, teller, case, "confirm_code", {"code": sent_code(web, "13800138000")})
    web.desk.services.acquirer.simulate_failure(
        "102110058120001", SimulatedFailure.REFUSED, times=100
    )
    failed = fire(client, teller, case, "sign_off", {"password": PASSWORD})["reference"]
    web.desk.services.acquirer.simulate_failure("102110058120001", None)
    idle = bearer(client, "teller2")
    stale = client.post("/api/cases", json={"workflow": "pos_unbind"}, headers=idle).json()
    with web.db.transaction() as conn:
        conn.execute(
            text("UPDATE teller_case SET updated_at = :at WHERE reference = :r"),
            {"at": utcnow() - timedelta(hours=web.settings.case_idle_hours - 0.5),
             "r": stale["reference"]},
        )
    console_login(client, "supervisor1")
    page = client.get("/approvals").text
    rows = {kind: re.findall(rf'<tr data-kind="{kind}">.*?</tr>', page, re.S)
            for kind in ("approval", "supervisor_step", "expiring")}
    assert approval in rows["approval"][0]
    assert failed in rows["supervisor_step"][0] and "收单机构解绑失败" in rows["supervisor_step"][0]
    assert stale["reference"] in rows["expiring"][0] and "超时关闭" in rows["expiring"][0]
    assert "acquirer_failed" not in page
    # The teller's page says who handles it instead of "nothing to do".
    client.cookies.clear()
    console_login(client, "teller1")
    teller_page = client.get(f"/cases/{failed}").text
    assert 'id="supervisor-only"' in teller_page
    # The acquirer's refusal: its outcome in words, its own (English) words folded away.
    assert "<dd>被拒绝</dd>" in teller_page
    assert "<details><summary>查看对方系统原文</summary>" in teller_page


def test_approval_page_shows_masked_evidence_and_who_raised_it(client: TestClient) -> None:
    reference, approval_id = raise_agent_case(client)
    console_login(client, "supervisor1")
    page = client.get(f"/approvals/{approval_id}").text
    assert reference in page and "teller1" in page
    assert "110101198506150043" not in page  # the agent's ID number, masked
    assert "110***********0043" in page
    assert 'id="approve-button"' in page


def test_supervisor_approves_and_the_case_goes_on(client: TestClient) -> None:
    reference, approval_id = raise_agent_case(client)
    console_login(client, "supervisor1")
    page = client.get(f"/approvals/{approval_id}").text
    version = re.search(r'name="version" value="(\d+)"', page)
    assert version
    answer = client.post(
        f"/approvals/{approval_id}/approve",
        data={"csrf_token": csrf_from(page), "version": version.group(1), "comment": "ok"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert 'data-state="info_check"' in client.get(f"/cases/{reference}").text


def test_reject_without_reason_shows_the_error_by_the_field(client: TestClient) -> None:
    _, approval_id = raise_agent_case(client)
    console_login(client, "supervisor1")
    page = client.get(f"/approvals/{approval_id}").text
    version = re.search(r'name="version" value="(\d+)"', page)
    assert version
    answer = client.post(
        f"/approvals/{approval_id}/reject",
        data={"csrf_token": csrf_from(page), "version": version.group(1), "reason": ""},
    )
    assert answer.status_code == 422
    assert 'id="reason-error" role="alert"' in answer.text


def test_own_case_cannot_be_approved(client: TestClient) -> None:
    _, approval_id = raise_agent_case(client, "lead1")
    console_login(client, "lead1")
    page = client.get(f"/approvals/{approval_id}").text
    assert 'id="approve-button"' not in page
    assert "双人复核" in page
    version = re.search(r'name="version" value="(\d+)"', page)
    answer = client.post(
        f"/approvals/{approval_id}/approve",
        data={"csrf_token": csrf_from(page), "version": version.group(1) if version else "2"},
    )
    assert answer.status_code == 403


def test_teller_cannot_approve(client: TestClient) -> None:
    _, approval_id = raise_agent_case(client)
    console_login(client, "teller2")
    page = client.get(f"/approvals/{approval_id}").text
    assert 'id="approve-button"' not in page
    answer = client.post(
        f"/approvals/{approval_id}/approve", data={"csrf_token": csrf_from(page), "version": "2"}
    )
    assert answer.status_code == 403


def test_a_refusal_page_names_the_action_in_words(client: TestClient) -> None:
    _, approval_id = raise_agent_case(client, "teller2")
    console_login(client, "teller1")
    page = client.get("/cases/new").text
    answer = client.post(
        f"/approvals/{approval_id}/approve",
        data={"csrf_token": csrf_from(page), "version": "2"},
    )
    assert answer.status_code in (403, 404)
    alert = answer.text.split('role="alert"')[1].split("</p>")[0]
    assert "'approve'" not in alert and "approve" not in alert
    title = answer.text.split("<title>")[1].split("</title>")[0]
    assert str(answer.status_code) not in title
