"""Blind re-keying on the approval page and the API: the account is typed again, unseen."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from .conftest import bearer, console_login, csrf_from, fire

CHEN_SAN = {
    "id_type": "resident_id",
    "id_number": "11010519491231002X",
    "name": "陈三",
    "id_expiry": "long_term",
    "acting_as": "self",
}
PILOT = {
    "merchant_no": "102110058120009",
    "uscc": "91110228MA0199TT4A",
    "terminal_sn": "SN-PAX-000009",
    "account_number": "6212260000998877660",  # fails Luhn
}


def _luhn_case(client: TestClient) -> tuple[str, int]:
    teller = bearer(client, "teller1")
    case = client.post("/api/cases", json={"workflow": "pos_unbind"}, headers=teller).json()
    case = fire(client, teller, case, "submit_identity", CHEN_SAN)  # photo score 58
    supervisor = bearer(client, "supervisor1")
    answer = client.post(
        f"/api/approvals/{case['pending']['id']}/approve", json={}, headers=supervisor
    )
    assert answer.status_code == 200, answer.text
    case = fire(client, teller, answer.json(), "submit_binding", PILOT)
    assert case["state"] == "supervisor_review"
    return case["reference"], case["pending"]["id"]


def test_the_page_asks_for_the_account_and_does_not_show_it(client: TestClient) -> None:
    reference, approval_id = _luhn_case(client)
    console_login(client, "supervisor1")
    page = client.get(f"/approvals/{approval_id}").text
    assert 'name="rekey_value"' in page and 'value="pos_binding.account_number"' in page
    assert "621226*********7660" not in page.split('id="evidence-title"')[1]
    version = re.search(r'name="version" value="(\d+)"', page)
    assert version
    form = {"csrf_token": csrf_from(page), "version": version.group(1),
            "rekey_field": "pos_binding.account_number"}
    wrong = client.post(f"/approvals/{approval_id}/approve",
                        data={**form, "rekey_value": "6212260000998877661"},
                        follow_redirects=False)
    assert wrong.status_code == 422 and 'id="rekey_account_number-error"' in wrong.text
    assert 'data-state="supervisor_review"' in client.get(f"/cases/{reference}").text
    right = client.post(f"/approvals/{approval_id}/approve",
                        data={**form, "rekey_value": PILOT["account_number"]},
                        follow_redirects=False)
    assert right.status_code == 303
    assert 'data-state="code_check"' in client.get(f"/cases/{reference}").text


def test_the_api_refuses_a_mismatch_and_approves_a_match(client: TestClient) -> None:
    _, approval_id = _luhn_case(client)
    supervisor = bearer(client, "supervisor1")
    url = f"/api/approvals/{approval_id}/approve"
    missing = client.post(url, json={}, headers=supervisor)
    assert missing.status_code == 422 and "rekey_missing" in missing.text
    wrong = client.post(
        url, json={"rekey": {"pos_binding.account_number": "1" * 19}}, headers=supervisor
    )
    assert wrong.status_code == 422 and "rekey_mismatch" in wrong.text
    assert PILOT["account_number"] not in wrong.text
    right = client.post(
        url, json={"rekey": {"pos_binding.account_number": PILOT["account_number"]}},
        headers=supervisor,
    )
    assert right.status_code == 200 and right.json()["state"] == "code_check"
