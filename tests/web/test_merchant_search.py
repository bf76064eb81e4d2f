"""Finding cases by merchant name through the API and the console's search box."""

from __future__ import annotations

from fastapi.testclient import TestClient

from .conftest import CLEAN_BINDING, CLEAN_IDENTITY, bearer, case_to_code_step, console_login


def test_the_api_lists_the_cases_of_a_merchant_by_part_of_its_name(client: TestClient) -> None:
    headers = bearer(client, "teller1")
    case = case_to_code_step(client, headers, CLEAN_IDENTITY, CLEAN_BINDING)
    answer = client.get("/api/cases", params={"merchant_name": "示例餐饮"}, headers=headers)
    assert answer.status_code == 200
    [found] = answer.json()
    assert found["reference"] == case["reference"]
    assert found["merchant_name"] == "北京示例餐饮有限公司"
    assert client.get("/api/cases", params={"merchant_name": "𠮷"}, headers=headers).json() == []
    refused = client.get("/api/cases", params={"merchant_name": "示例\x1b"}, headers=headers)
    assert refused.status_code == 422
    assert refused.json()["error"]["fields"][0]["code"] == "control_character"


def test_the_console_search_finds_a_merchant_by_name(client: TestClient) -> None:
    headers = bearer(client, "teller1")
    case = case_to_code_step(client, headers, CLEAN_IDENTITY, CLEAN_BINDING)
    console_login(client, "teller1")
    page = client.get("/search", params={"reference": "示例餐饮"})
    assert page.status_code == 200
    assert case["reference"] in page.text and "北京示例餐饮有限公司" in page.text
    missing = client.get("/search", params={"reference": "𠮷祥五金店"})
    assert missing.status_code == 404 and 'role="alert"' in missing.text
