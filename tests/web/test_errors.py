"""The API's error shape, exactly: fields name fields, findings stand apart, 403 before 422,
a catch-all 500 without a trace, a documented 400, strict versions, bearer auth declared."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient

from counter.store import journal
from counter.web.context import WebContext

from .conftest import (
    AGENT_IDENTITY,
    CLEAN_BINDING,
    CLEAN_IDENTITY,
    bearer,
    case_to_code_step,
    console_login,
    fire,
    sent_code,
)

FROZEN_BINDING = {
    "merchant_no": "102110058120004",
    "uscc": "91110106MA01XY7P2Y",
    "terminal_sn": "SN-PAX-000004",
    "account_number": "6259650000123456781",
}


def post_trigger(
    client: TestClient, headers: dict[str, str], case: dict[str, Any], trigger: str,
    data: dict[str, Any], **body: Any,
) -> Any:
    return client.post(
        f"/api/cases/{case['reference']}/triggers/{trigger}",
        json={"data": data, "version": case["version"], **body},
        headers=headers,
    )


def opened(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    answer = client.post("/api/cases", json={"workflow": "pos_unbind"}, headers=headers)
    assert answer.status_code == 201, answer.text
    result: dict[str, Any] = answer.json()
    return result


def refused_entries(client: TestClient, headers: dict[str, str], reference: str) -> list[Any]:
    entries = client.get(f"/api/cases/{reference}/journal", headers=headers).json()
    return [e for e in entries if e["kind"] == "refused"]


def test_a_finding_about_no_field_is_a_finding_not_a_blank_field(client: TestClient) -> None:
    teller = bearer(client, "teller1")
    case = fire(client, teller, opened(client, teller), "submit_identity", CLEAN_IDENTITY)
    answer = post_trigger(client, teller, case, "submit_binding", FROZEN_BINDING)
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "blocked"
    assert all(f["field"] for f in error["fields"]), error
    frozen = [f for f in error["findings"] if f["code"] == "merchant_frozen_judicial"]
    assert frozen == [{"code": "merchant_frozen_judicial", "severity": "block",
                       "message": frozen[0]["message"]}]
    assert "冻结" in frozen[0]["message"]["zh"]
    (entry,) = refused_entries(client, teller, case["reference"])
    assert entry["trigger"] == "submit_binding"
    assert "merchant_frozen_judicial" in [f["code"] for f in entry["findings"]]


def test_a_field_error_names_its_field(client: TestClient) -> None:
    teller = bearer(client, "teller1")
    case = opened(client, teller)
    answer = post_trigger(client, teller, case, "submit_identity",
                          {**CLEAN_IDENTITY, "id_number": "110105198001010017"})
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert [f["field"] for f in error["fields"]] == ["id_number"]
    assert error["findings"] == []


def test_a_wrong_code_is_a_field_error_with_the_tries_left(
    client: TestClient, web: WebContext
) -> None:
    teller = bearer(client, "teller1")
    case = case_to_code_step(client, teller, CLEAN_IDENTITY, CLEAN_BINDING)
    code = sent_code(web, "13800138000")
    guess = f"{(int(code) + 1) % 1_000_000:06d}"
    for left in (2, 1):
        answer = post_trigger(client, teller, case, "confirm_code", {"code": guess})
        assert answer.status_code == 422, answer.text
        (field,) = answer.json()["error"]["fields"]
        assert (field["field"], field["code"]) == ("code", "unbind_code_wrong")
        assert f"{left} 次" in field["message"]["zh"] and f"{left} tr" in field["message"]["en"]
    again = client.get(f"/api/cases/{case['reference']}", headers=teller).json()
    assert (again["version"], again["state"]) == (case["version"], "code_check")
    assert len(refused_entries(client, teller, case["reference"])) == 2
    third = post_trigger(client, teller, case, "confirm_code", {"code": guess})
    assert third.status_code == 200, third.text
    assert third.json()["state"] == "supervisor_review"


def test_approve_and_reject_take_a_reason(client: TestClient) -> None:
    teller, supervisor = bearer(client, "teller1"), bearer(client, "supervisor1")
    for decision, body in (("approve", {"reason": "mandate seen"}), ("approve", None),
                           ("reject", {"reason": "mandate unsigned"})):
        fire(client, teller, opened(client, teller), "submit_identity", AGENT_IDENTITY)
        (waiting, *_) = client.get("/api/approvals", headers=supervisor).json()
        answer = client.post(f"/api/approvals/{waiting['id']}/{decision}", json=body,
                             headers=supervisor)
        assert answer.status_code == 200, answer.text
    fire(client, teller, opened(client, teller), "submit_identity", AGENT_IDENTITY)
    (waiting, *_) = client.get("/api/approvals", headers=supervisor).json()
    answer = client.post(f"/api/approvals/{waiting['id']}/reject", json={}, headers=supervisor)
    assert answer.status_code == 422, answer.text
    assert [f["field"] for f in answer.json()["error"]["fields"]] == ["reason"]
    answer = client.post(f"/api/approvals/{waiting['id']}/approve", json={"comment": "x"},
                         headers=supervisor)
    assert answer.status_code == 422, answer.text


def test_who_may_not_act_gets_403_before_the_body_is_read(client: TestClient) -> None:
    teller, auditor = bearer(client, "teller1"), bearer(client, "auditor1")
    case = fire(client, teller, opened(client, teller), "submit_identity", AGENT_IDENTITY)
    (waiting,) = [a for a in client.get("/api/approvals", headers=teller).json()
                  if a["case_reference"] == case["reference"]]
    for body in ({"reason": 12, "surplus": True}, {"reason": "ok"}, None):
        answer = client.post(f"/api/approvals/{waiting['id']}/approve", json=body,
                             headers=teller)
        assert answer.status_code == 403, answer.text
    message = answer.json()["error"]["message"]
    assert "批准" in message["zh"] and "Approve" in message["en"]
    assert "'approve'" not in message["en"] and "approve'" not in message["zh"]
    answer = client.post(f"/api/cases/{case['reference']}/triggers/cancel",
                         json={"version": "not a number"}, headers=auditor)
    assert answer.status_code == 403, answer.text
    causes = [(e["actor"], e["trigger"]) for e in refused_entries(client, teller,
                                                                   case["reference"])]
    assert causes == [("teller1", "approve")] * 3 + [("auditor1", "cancel")]


@pytest.mark.parametrize("version", ["1", True, 1.5, None])
def test_a_version_must_be_an_integer(client: TestClient, version: Any) -> None:
    teller = bearer(client, "teller1")
    case = opened(client, teller)
    answer = client.post(f"/api/cases/{case['reference']}/triggers/submit_identity",
                         json={"data": CLEAN_IDENTITY, "version": version}, headers=teller)
    assert answer.status_code == 422, answer.text
    (field,) = answer.json()["error"]["fields"]
    assert field["field"] == "version"
    assert "整数" in field["message"]["zh"] and "integer" in field["message"]["en"]


def test_a_body_that_is_not_utf8_is_a_documented_400(client: TestClient) -> None:
    teller = bearer(client, "teller1")
    case = opened(client, teller)
    answer = client.post(f"/api/cases/{case['reference']}/triggers/submit_identity",
                         content=b'{"version": 1, "data": {"name": "\xff\xfe"}}',
                         headers={**teller, "Content-Type": "application/json"})
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "bad_request"
    operation = client.get("/openapi.json").json()["paths"][
        "/api/cases/{reference}/triggers/{trigger}"]["post"]
    assert {"400", "403", "422", "500"} <= set(operation["responses"])


def test_an_unexpected_error_answers_500_in_the_shape_without_a_trace(
    client: TestClient, web: WebContext, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    teller = bearer(client, "teller1")
    case = opened(client, teller)

    def broken(**_: Any) -> Any:
        raise RuntimeError("internal detail 4417")

    monkeypatch.setattr(web.desk, "get", broken)
    with caplog.at_level(logging.ERROR, logger="counter.web.errors"):
        answer = client.get(f"/api/cases/{case['reference']}", headers=teller)
    assert answer.status_code == 500
    assert answer.json()["error"]["code"] == "internal_error"
    assert "4417" not in answer.text and "Traceback" not in answer.text
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert "internal detail 4417" in caplog.text  # the trace is logged instead
    console_login(client, "teller1")
    page = client.get(f"/cases/{case['reference']}")
    assert page.status_code == 500
    assert page.headers["content-type"].startswith("text/html")
    assert "4417" not in page.text and "系统内部错误" in page.text


def test_openapi_declares_bearer_auth(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearer"] == {"type": "http", "scheme": "bearer",
                                 "description": schemes["bearer"]["description"]}
    case = document["paths"]["/api/cases/{reference}"]["get"]
    assert case["security"] == [{"bearer": []}]
    assert "security" not in document["paths"]["/api/session"]["post"]
    assert document["paths"]["/api/session"]["delete"]["security"] == [{"bearer": []}]
    public = [path for path, operations in document["paths"].items()
              for operation in operations.values() if "security" not in operation]
    assert sorted(public) == ["/api/session", "/api/status/{reference}"]


def test_refused_entries_verify(client: TestClient, web: WebContext) -> None:
    teller, auditor = bearer(client, "teller1"), bearer(client, "auditor1")
    case = opened(client, teller)
    post_trigger(client, auditor, case, "submit_identity", CLEAN_IDENTITY)
    post_trigger(client, teller, case, "submit_identity",
                 {**CLEAN_IDENTITY, "name": "李四"})
    assert len(refused_entries(client, teller, case["reference"])) >= 1
    report = journal.verify(web.db)
    assert report.ok, report.first_broken


def test_a_repeated_decision_answers_like_the_first(client: TestClient) -> None:
    teller, supervisor = bearer(client, "teller1"), bearer(client, "supervisor1")
    case = fire(client, teller, opened(client, teller), "submit_identity", AGENT_IDENTITY)
    approval = case["pending"]["id"]
    keyed = {**supervisor, "Idempotency-Key": "approve-once"}
    first = client.post(f"/api/approvals/{approval}/approve", json={"reason": "ok"},
                        headers=keyed)
    again = client.post(f"/api/approvals/{approval}/approve", json={"reason": "ok"},
                        headers=keyed)
    assert first.status_code == again.status_code == 200, again.text
    assert again.json() == first.json()
    unkeyed = client.post(f"/api/approvals/{approval}/approve", json={"reason": "ok"},
                          headers=supervisor)
    assert unkeyed.status_code == 409, unkeyed.text  # decided: no second decision


def test_who_may_open_no_case_gets_403_whatever_the_body(client: TestClient) -> None:
    auditor = bearer(client, "auditor1")
    for body in ({"workflow": "pos_unbind"}, {"workflow": 5}, {}):
        answer = client.post("/api/cases", json=body, headers=auditor)
        assert answer.status_code == 403, answer.text
