"""The JSON API end to end: every endpoint, through whole flagship cases."""

from __future__ import annotations

import itertools

from fastapi.testclient import TestClient

from counter.web.context import WebContext

from .conftest import (
    AGENT_BINDING,
    AGENT_IDENTITY,
    CLEAN_BINDING,
    CLEAN_IDENTITY,
    PASSWORD,
    bearer,
    case_to_code_step,
    fire,
    sent_code,
)


def test_session_token_and_logout(client: TestClient) -> None:
    answer = client.post("/api/session", json={"username": "teller1", "password": PASSWORD})
    assert answer.status_code == 200
    body = answer.json()
    assert body["roles"] == ["teller"] and body["branch"] == "B001"
    headers = {"Authorization": f"Bearer {body['token']}"}
    assert client.get("/api/workflows", headers=headers).status_code == 200
    assert client.delete("/api/session", headers=headers).status_code == 204
    assert client.get("/api/workflows", headers=headers).status_code == 401


def test_workflows(client: TestClient) -> None:
    headers = bearer(client, "teller1")
    names = [w["name"] for w in client.get("/api/workflows", headers=headers).json()]
    assert "pos_unbind" in names
    flagship = client.get("/api/workflows/pos_unbind", headers=headers).json()
    assert flagship["initial"] == "identity_check"
    assert {"submit_identity", "sign_off", "cancel"} <= {t["trigger"] for t in flagship["triggers"]}
    identity = next(f for f in flagship["forms"] if f["name"] == "identity")
    assert next(f for f in identity["fields"] if f["name"] == "id_number")["pii"] == "id"
    missing = client.get("/api/workflows/no_such_flow", headers=headers)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


def test_clean_case_from_open_to_completed(client: TestClient, web: WebContext) -> None:
    headers = bearer(client, "teller1")
    case = case_to_code_step(client, headers, CLEAN_IDENTITY, CLEAN_BINDING)
    assert case["state"] == "code_check", case
    case = fire(client, headers, case, "confirm_code", {"code": sent_code(web, "13800138000")})
    assert case["state"] == "teller_signoff"
    case = fire(client, headers, case, "sign_off", {"password": PASSWORD})
    # The answer is the step as committed; the local acquirer answers right after.
    assert case["state"] == "unbind_pending", case
    case = client.get(f"/api/cases/{case['reference']}", headers=headers).json()
    assert case["state"] == "completed", case
    assert case["final"] and case["closed_at"]
    # Masked everywhere: the ID number, the name, the account.
    identity = case["data"]["identity"]
    assert identity["id_number"] == "110***********0016"
    assert identity["name"] == "张*"
    assert case["data"]["pos_binding"]["account_number"].startswith("622202")
    assert "6222021234567890128" not in str(case)
    assert "password" not in str(case["data"])
    # The journal, oldest first, chained.
    entries = client.get(f"/api/cases/{case['reference']}/journal", headers=headers).json()
    assert entries[0]["kind"] == "open"
    assert [e["to_state"] for e in entries if e["to_state"]][-1] == "completed"
    assert entries[-1]["kind"] == "slip"
    assert all(b["prev_hash"] == a["hash"] for a, b in itertools.pairwise(entries))
    # Listed no longer as open; listed with include_closed.
    assert case["reference"] not in [
        c["reference"] for c in client.get("/api/cases", headers=headers).json()
    ]
    closed = client.get("/api/cases?include_closed=true", headers=headers).json()
    assert case["reference"] in [c["reference"] for c in closed]


def test_list_filters_by_state(client: TestClient) -> None:
    headers = bearer(client, "teller1")
    opened = client.post("/api/cases", json={"workflow": "pos_unbind"}, headers=headers).json()
    mine = client.get("/api/cases?state=identity_check", headers=headers).json()
    assert [c["reference"] for c in mine] == [opened["reference"]]
    assert client.get("/api/cases?state=completed", headers=headers).json() == []
    # Another teller of the branch sees it only with scope=branch.
    other = bearer(client, "teller2")
    assert client.get("/api/cases", headers=other).json() == []
    assert len(client.get("/api/cases?scope=branch", headers=other).json()) == 1


def test_invalid_data_is_422_with_fields(client: TestClient) -> None:
    headers = bearer(client, "teller1")
    case = client.post("/api/cases", json={"workflow": "pos_unbind"}, headers=headers).json()
    answer = client.post(
        f"/api/cases/{case['reference']}/triggers/submit_identity",
        json={"data": {**CLEAN_IDENTITY, "name": ""}, "version": case["version"]},
        headers=headers,
    )
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert [f["field"] for f in error["fields"]] == ["name"]
    assert error["fields"][0]["message"]["zh"]


def test_blocking_finding_is_422(client: TestClient) -> None:
    headers = bearer(client, "teller1")
    case = client.post("/api/cases", json={"workflow": "pos_unbind"}, headers=headers).json()
    answer = client.post(
        f"/api/cases/{case['reference']}/triggers/submit_identity",
        json={
            "data": {**CLEAN_IDENTITY, "id_number": "110105198001010017"},
            "version": case["version"],
        },
        headers=headers,
    )
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "blocked"
    assert answer.json()["error"]["fields"]


def test_stale_version_is_409_and_says_reload(client: TestClient) -> None:
    headers = bearer(client, "teller1")
    case = client.post("/api/cases", json={"workflow": "pos_unbind"}, headers=headers).json()
    fire(client, headers, case, "submit_identity", CLEAN_IDENTITY)
    again = client.post(
        f"/api/cases/{case['reference']}/triggers/cancel",
        json={"data": {"reason": "late"}, "version": case["version"]},
        headers=headers,
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "stale_version"
    assert "刷新" in again.json()["error"]["message"]["zh"]
    assert "reload" in again.json()["error"]["message"]["en"]


def test_unknown_trigger_is_409(client: TestClient) -> None:
    headers = bearer(client, "teller1")
    case = client.post("/api/cases", json={"workflow": "pos_unbind"}, headers=headers).json()
    answer = client.post(
        f"/api/cases/{case['reference']}/triggers/sign_off",
        json={"data": {}, "version": case["version"]},
        headers=headers,
    )
    assert answer.status_code == 409


def test_idempotency_key_returns_the_first_answer(client: TestClient) -> None:
    headers = bearer(client, "teller1")
    case = client.post("/api/cases", json={"workflow": "pos_unbind"}, headers=headers).json()
    request = {"data": CLEAN_IDENTITY, "version": case["version"]}
    url = f"/api/cases/{case['reference']}/triggers/submit_identity"
    keyed = {**headers, "Idempotency-Key": "double-click-1"}
    first = client.post(url, json=request, headers=keyed)
    second = client.post(url, json=request, headers=keyed)
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    journal = client.get(f"/api/cases/{case['reference']}/journal", headers=headers).json()
    assert len(journal) == 2


def test_agent_case_is_approved_by_a_supervisor(client: TestClient, web: WebContext) -> None:
    teller = bearer(client, "teller1")
    opened = client.post("/api/cases", json={"workflow": "pos_unbind"}, headers=teller).json()
    case = fire(client, teller, opened, "submit_identity", AGENT_IDENTITY)
    assert case["state"] == "supervisor_review"
    assert case["pending"]["raised_by"] == "teller1"
    supervisor = bearer(client, "supervisor1")
    queue = client.get("/api/approvals", headers=supervisor).json()
    assert [a["case_reference"] for a in queue] == [case["reference"]]
    approval = queue[0]
    assert approval["findings"][0]["code"] == "agent_with_mandate"
    assert approval["waiting_minutes"] >= 0
    # Another branch's supervisor does not see it and cannot decide it.
    elsewhere = bearer(client, "supervisor9")
    assert client.get("/api/approvals", headers=elsewhere).json() == []
    assert (
        client.post(f"/api/approvals/{approval['id']}/approve", headers=elsewhere).status_code
        == 404
    )
    approved = client.post(
        f"/api/approvals/{approval['id']}/approve",
        json={"reason": "mandate seen"},
        headers=supervisor,
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["state"] == "info_check"
    # Deciding twice is a conflict.
    assert (
        client.post(f"/api/approvals/{approval['id']}/approve", headers=supervisor).status_code
        == 409
    )
    case = fire(client, teller, approved.json(), "submit_binding", AGENT_BINDING)
    assert case["state"] == "code_check", case
    case = fire(client, teller, case, "confirm_code", {"code": sent_code(web, "15900159000")})
    case = fire(client, teller, case, "sign_off", {"password": PASSWORD})
    case = client.get(f"/api/cases/{case['reference']}", headers=teller).json()
    assert case["state"] == "completed"


def test_reject_needs_a_reason_and_ends_the_case(client: TestClient) -> None:
    teller = bearer(client, "teller1")
    opened = client.post("/api/cases", json={"workflow": "pos_unbind"}, headers=teller).json()
    case = fire(client, teller, opened, "submit_identity", AGENT_IDENTITY)
    supervisor = bearer(client, "supervisor1")
    approval_id = client.get("/api/approvals", headers=supervisor).json()[0]["id"]
    assert (
        client.post(f"/api/approvals/{approval_id}/reject", json={}, headers=supervisor).status_code
        == 422
    )
    rejected = client.post(
        f"/api/approvals/{approval_id}/reject",
        json={"reason": "mandate unsigned"},
        headers=supervisor,
    )
    assert rejected.status_code == 200
    assert rejected.json()["state"] == "rejected"
    assert case["reference"] == rejected.json()["reference"]


def test_four_eyes_a_teller_supervisor_cannot_approve_own_case(client: TestClient) -> None:
    lead = bearer(client, "lead1")
    opened = client.post("/api/cases", json={"workflow": "pos_unbind"}, headers=lead).json()
    fire(client, lead, opened, "submit_identity", AGENT_IDENTITY)
    approval_id = client.get("/api/approvals", headers=lead).json()[0]["id"]
    answer = client.post(f"/api/approvals/{approval_id}/approve", headers=lead)
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "four_eyes"


def test_openapi_describes_the_api(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]
    assert "/api/cases/{reference}/triggers/{trigger}" in paths
    assert "CaseOut" in schema["components"]["schemas"]
    assert "ErrorResponse" in schema["components"]["schemas"]
    assert not any(p.startswith("/login") for p in paths)


def test_two_tellers_at_the_same_moment_one_wins_the_other_reloads(
    app: object, client: TestClient
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    first = bearer(client, "teller1")
    second = bearer(client, "teller2")
    case = client.post("/api/cases", json={"workflow": "pos_unbind"}, headers=first).json()
    url = f"/api/cases/{case['reference']}/triggers/submit_identity"
    body = {"data": CLEAN_IDENTITY, "version": case["version"]}

    def send(headers: dict[str, str]) -> int:
        with TestClient(app) as own:  # type: ignore[arg-type]
            return own.post(url, json=body, headers=headers).status_code

    with ThreadPoolExecutor(max_workers=2) as pool:
        statuses = sorted(pool.map(send, [first, second]))
    assert statuses == [200, 409]
