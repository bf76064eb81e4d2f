"""The authorization matrix: every role, and no login, against every API endpoint and trigger.

Triggers are fired with a field no form has, so an actor who *may* fire gets
422 and nothing changes; one who may not gets 403 (or 404 when the case is
in another branch and so invisible), 409 where the trigger does not exist in
that state, 401 without a token. Every cell is the exact status.
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from counter.adapters import SimulatedFailure
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

WHO: list[str | None] = [
    None,
    "teller1",
    "teller2",
    "teller9",
    "supervisor1",
    "supervisor9",
    "auditor1",
    "lead1",
]
# teller1 opened every case (branch B001); teller2, supervisor1, lead1 are of B001;
# teller9 and supervisor9 of B002; lead1 holds both teller and supervisor.
TRIGGERS: dict[tuple[str, str], list[int]] = {
    #                                   none teller1 teller2 teller9 super1 super9 auditor lead1
    ("identity_check", "submit_identity"): [401, 422, 422, 404, 403, 404, 403, 422],
    ("identity_check", "cancel"): [401, 422, 422, 404, 422, 404, 403, 422],
    ("identity_check", "sign_off"): [401, 409, 409, 404, 409, 404, 403, 409],
    ("info_check", "submit_binding"): [401, 422, 422, 404, 403, 404, 403, 422],
    ("code_check", "confirm_code"): [401, 422, 422, 404, 403, 404, 403, 422],
    ("code_check", "resend_code"): [401, 422, 422, 404, 403, 404, 403, 422],
    ("supervisor_review", "approve"): [401, 403, 403, 404, 422, 404, 403, 422],
    ("supervisor_review", "reject"): [401, 403, 403, 404, 422, 404, 403, 422],
    ("supervisor_review", "cancel"): [401, 422, 422, 404, 422, 404, 403, 422],
    ("teller_signoff", "sign_off"): [401, 422, 422, 404, 403, 404, 403, 422],
    ("unbind_pending", "unbind_confirmed"): [401, 403, 403, 404, 403, 404, 403, 403],
    ("unbind_pending", "unbind_failed"): [401, 403, 403, 404, 403, 404, 403, 403],
    ("unbind_pending", "cancel"): [401, 409, 409, 404, 409, 404, 403, 409],
    ("acquirer_failed", "retry_unbind"): [401, 403, 403, 404, 422, 404, 403, 422],
    ("acquirer_failed", "cancel"): [401, 403, 403, 404, 422, 404, 403, 422],
}
# Endpoints that change nothing, or that are checked apart below.
READS: dict[tuple[str, str], list[int]] = {
    ("GET", "/api/workflows"): [401, 200, 200, 200, 200, 200, 200, 200],
    ("GET", "/api/workflows/pos_unbind"): [401, 200, 200, 200, 200, 200, 200, 200],
    ("GET", "/api/cases"): [401, 200, 200, 200, 200, 200, 200, 200],
    ("GET", "/api/cases/{case}"): [401, 200, 200, 404, 200, 404, 200, 200],
    ("GET", "/api/cases/{case}/journal"): [401, 200, 200, 404, 200, 404, 200, 200],
    ("GET", "/api/approvals"): [401, 200, 200, 200, 200, 200, 200, 200],
}
# Deciding an approval, each cell on an approval of its own (a decision changes the case).
DECISIONS: dict[str, tuple[dict[str, str], list[int]]] = {
    "approve": ({"reason": "mandate seen"}, [401, 403, 403, 404, 200, 404, 403, 200]),
    "reject": ({"reason": "mandate unsigned"}, [401, 403, 403, 404, 200, 404, 403, 200]),
}
# Cases open at once hold one terminal each: the corporate merchant has two.
CORPORATE_IDENTITY = {
    "id_type": "resident_id",
    "id_number": "110108198309090082",
    "name": "郑一",
    "id_expiry": "2040-06-30",
    "acting_as": "self",
}
CORPORATE_BINDING = {
    "merchant_no": "102310058120007",
    "uscc": "91440300MA5ABCDE1H",
    "terminal_sn": "SN-NEW-000007",
    "account_number": "44250100003700001234",
}
CORPORATE_PHONE = "18800188000"
AGENT_PHONE = "15900159000"
OPENING = [401, 201, 201, 201, 201, 201, 403, 201]
SLIP = [401, 200, 200, 404, 200, 404, 200, 200]


def cases_in_every_state(client: TestClient, web: WebContext) -> dict[str, dict[str, Any]]:
    teller = bearer(client, "teller1")

    def opened() -> dict[str, Any]:
        answer = client.post("/api/cases", json={"workflow": "pos_unbind"}, headers=teller)
        result: dict[str, Any] = answer.json()
        return result

    def at_code(terminal_sn: str) -> dict[str, Any]:
        """The corporate merchant's terminal at the code step (one open case per terminal)."""
        binding = {**CORPORATE_BINDING, "terminal_sn": terminal_sn}
        case = case_to_code_step(client, teller, CORPORATE_IDENTITY, binding)
        assert case["state"] == "code_check", case
        return case

    def signed_off_with(terminal_sn: str, failure: SimulatedFailure) -> dict[str, Any]:
        case = at_code(terminal_sn)
        case = fire(client, teller, case, "confirm_code", {"code": sent_code(web, CORPORATE_PHONE)})
        merchant_no = CORPORATE_BINDING["merchant_no"]
        web.desk.services.acquirer.simulate_failure(merchant_no, failure, times=100)
        case = fire(client, teller, case, "sign_off", {"password": PASSWORD})
        web.desk.services.acquirer.simulate_failure(merchant_no, None)
        result: dict[str, Any] = client.get(
            f"/api/cases/{case['reference']}", headers=teller
        ).json()
        return result

    code = case_to_code_step(client, teller, CLEAN_IDENTITY, CLEAN_BINDING)
    review = fire(client, teller, opened(), "submit_identity", AGENT_IDENTITY)
    agent = fire(client, bearer(client, "supervisor1"), review, "approve", {})
    signoff = fire(client, teller, agent, "submit_binding", AGENT_BINDING)
    signoff = fire(client, teller, signoff, "confirm_code", {"code": sent_code(web, AGENT_PHONE)})
    cases = {
        "identity_check": opened(),
        "info_check": fire(client, teller, opened(), "submit_identity", CLEAN_IDENTITY),
        "code_check": code,
        "supervisor_review": fire(client, teller, opened(), "submit_identity", AGENT_IDENTITY),
        "teller_signoff": signoff,
        "acquirer_failed": signed_off_with("SN-NEW-000007", SimulatedFailure.REFUSED),
        "unbind_pending": signed_off_with("SN-NEW-000008", SimulatedFailure.UNAVAILABLE),
    }
    for state, case in cases.items():
        assert case["state"] == state, case
    return cases


def headers_for(client: TestClient) -> dict[str | None, dict[str, str]]:
    found: dict[str | None, dict[str, str]] = {None: {}}
    for who in WHO:
        if who is not None:
            found[who] = bearer(client, who)
    return found


def test_every_role_against_every_trigger(client: TestClient, web: WebContext) -> None:
    cases = cases_in_every_state(client, web)
    headers = headers_for(client)
    wrong = []
    for (state, trigger), expected in TRIGGERS.items():
        case = cases[state]
        for who, status in zip(WHO, expected, strict=True):
            answer = client.post(
                f"/api/cases/{case['reference']}/triggers/{trigger}",
                json={"data": {"unexpected": "1"}, "version": case["version"]},
                headers=headers[who],
            )
            if answer.status_code != status:
                wrong.append((state, trigger, who, status, answer.status_code))
    assert wrong == []
    # Nothing above changed any case.
    teller = headers["teller1"]
    for case in cases.values():
        now = client.get(f"/api/cases/{case['reference']}", headers=teller).json()
        assert now["version"] == case["version"]


def test_every_role_against_every_endpoint(client: TestClient, web: WebContext) -> None:
    headers = headers_for(client)
    teller = headers["teller1"]

    def agent_case() -> dict[str, Any]:
        opened = client.post("/api/cases", json={"workflow": "pos_unbind"}, headers=teller).json()
        return fire(client, teller, opened, "submit_identity", AGENT_IDENTITY)

    review = agent_case()
    wrong = []
    for (method, template), expected in READS.items():
        path = template.format(case=review["reference"])
        for who, status in zip(WHO, expected, strict=True):
            answer = client.request(method, path, headers=headers[who])
            if answer.status_code != status:
                wrong.append((method, path, who, status, answer.status_code))
    for decision, (body, expected) in DECISIONS.items():
        for who, status in zip(WHO, expected, strict=True):
            path = f"/api/approvals/{agent_case()['pending']['id']}/{decision}"
            answer = client.post(path, json=body, headers=headers[who])
            if answer.status_code != status:
                wrong.append(("POST", path, who, status, answer.status_code))
    done = case_to_code_step(client, teller, CLEAN_IDENTITY, CLEAN_BINDING)
    done = fire(client, teller, done, "confirm_code", {"code": sent_code(web, "13800138000")})
    done = fire(client, teller, done, "sign_off", {"password": PASSWORD})
    for who, status in zip(WHO, SLIP, strict=True):
        path = f"/api/cases/{done['reference']}/slip.pdf"
        answer = client.get(path, headers=headers[who])
        if answer.status_code != status:
            wrong.append(("GET", path, who, status, answer.status_code))
    for who, status in zip(WHO, OPENING, strict=True):
        answer = client.post("/api/cases", json={"workflow": "pos_unbind"}, headers=headers[who])
        if answer.status_code != status:
            wrong.append(("POST", "/api/cases", who, status, answer.status_code))
    for who in WHO:
        status = 401 if who is None else 204
        answer = client.delete("/api/session", headers=headers[who])
        if answer.status_code != status:
            wrong.append(("DELETE", "/api/session", who, status, answer.status_code))
    assert wrong == []


def test_public_endpoints_need_no_login(client: TestClient) -> None:
    assert client.get("/api/status/B001-20000101-000001?account_last4=1234").status_code == 404
    assert client.post("/api/session", json={"username": "x", "password": "y"}).status_code == 401
    assert client.get("/openapi.json").status_code == 200
