"""Bad text through the API and the console: a field error naming the rule, and nothing changes."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient

from .conftest import CLEAN_BINDING, CLEAN_IDENTITY, bearer, console_login, csrf_from, fire
from .test_case_pages import open_case, step


def opened(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    answer = client.post("/api/cases", json={"workflow": "pos_unbind"}, headers=headers)
    assert answer.status_code == 201, answer.text
    case: dict[str, Any] = answer.json()
    return case


def raw_fire(
    client: TestClient, headers: dict[str, str], case: dict[str, Any], trigger: str, body: str
) -> Any:
    return client.post(
        f"/api/cases/{case['reference']}/triggers/{trigger}",
        content=body.encode("utf-8"),
        headers={**headers, "Content-Type": "application/json"},
    )


def identity_body(case: dict[str, Any], name_json: str) -> str:
    """A submit_identity body whose ``name`` is the JSON text ``name_json`` (escapes kept)."""
    fields = {k: v for k, v in CLEAN_IDENTITY.items() if k != "name"}
    data = json.dumps(fields)[:-1] + f', "name": {name_json}}}'
    return f'{{"data": {data}, "version": {case["version"]}}}'


@pytest.mark.parametrize(
    ("name_json", "rule"),
    [
        ('"\\ud800"', "lone_surrogate"),
        ('"张\\udfff三"', "lone_surrogate"),
        ('"张\\u0000三"', "control_character"),
        ('"张\\u001b[2J三"', "control_character"),
        ('"张\\r\\n三"', "control_character"),
        ('"张三\\u202e"', "bidi_control"),
        ('"\\u200b"', "required"),
    ],
)
def test_bad_text_in_data_is_a_field_error_and_changes_nothing(
    client: TestClient, name_json: str, rule: str
) -> None:
    headers = bearer(client, "teller1")
    case = opened(client, headers)
    answer = raw_fire(client, headers, case, "submit_identity", identity_body(case, name_json))
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert [(f["field"], f["code"]) for f in error["fields"]] == [("name", rule)]
    message = error["fields"][0]["message"]
    assert message["zh"].startswith("姓名") and message["en"].startswith("Name")
    after = client.get(f"/api/cases/{case['reference']}", headers=headers).json()
    assert (after["state"], after["version"]) == (case["state"], case["version"])


def test_an_unknown_field_named_with_a_lone_surrogate_is_a_field_error(
    client: TestClient,
) -> None:
    headers = bearer(client, "teller1")
    case = opened(client, headers)
    fields = json.dumps(CLEAN_IDENTITY)[:-1] + ', "\\udc80": "x"}'
    body = f'{{"data": {fields}, "version": {case["version"]}}}'
    answer = raw_fire(client, headers, case, "submit_identity", body)
    assert answer.status_code == 422, answer.text
    assert [f["code"] for f in answer.json()["error"]["fields"]] == ["unknown_field"]


def test_full_width_numbers_are_read_as_the_numbers_they_are(client: TestClient) -> None:
    def wide(value: str) -> str:
        return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in value)

    headers = bearer(client, "teller1")
    case = opened(client, headers)
    identity = {**CLEAN_IDENTITY, "id_number": wide(CLEAN_IDENTITY["id_number"])}
    case = fire(client, headers, case, "submit_identity", identity)
    assert case["state"] == "info_check", case
    assert case["data"]["identity"]["id_number"] == "110***********0016"
    binding = {
        **CLEAN_BINDING,
        "merchant_no": wide(CLEAN_BINDING["merchant_no"]),
        "account_number": " ".join(wide(CLEAN_BINDING["account_number"])[i : i + 4]
                                   for i in range(0, 19, 4)),
    }
    case = fire(client, headers, case, "submit_binding", binding)
    assert case["state"] == "code_check", case
    assert case["data"]["pos_binding"]["merchant_no"] == CLEAN_BINDING["merchant_no"]


def test_the_console_shows_the_rule_next_to_the_field(client: TestClient) -> None:
    console_login(client, "teller1")
    reference = open_case(client)
    status, page = step(
        client,
        reference,
        "submit_identity",
        {**CLEAN_IDENTITY, "name": "张三\u202egnp", "id_expiry": "", "id_expiry__long_term": "1"},
    )
    assert status == 422
    # the rule next to its field, which names it (the step's summary is the alert)
    assert 'class="field-error" id="submit_identity-name-error"' in page
    assert re.search(r'aria-describedby="[^"]*submit_identity-name-error', page)
    assert "双向文本控制符 U+202E" in page


def test_bytes_that_are_no_utf8_in_a_console_form_are_not_a_server_error(
    client: TestClient,
) -> None:
    console_login(client, "teller1")
    reference = open_case(client)
    page = client.get(f"/cases/{reference}").text
    fields = {
        "csrf_token": csrf_from(page),
        "version": "1",
        **{k: v for k, v in CLEAN_IDENTITY.items() if k != "name"},
        "id_expiry": "",
        "id_expiry__long_term": "1",
    }
    body = urlencode(fields).encode() + b"&name=%ED%A0%80%1B"  # a UTF-16 surrogate, then ESC
    answer = client.post(
        f"/cases/{reference}/steps/submit_identity",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert answer.status_code == 422, answer.text[:300]
    assert 'class="field-error" id="submit_identity-name-error"' in answer.text
