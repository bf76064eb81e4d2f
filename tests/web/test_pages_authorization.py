"""Who may open which console page: every role and no login, exact statuses."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from counter.web.context import WebContext

from .conftest import (
    AGENT_IDENTITY,
    CLEAN_BINDING,
    CLEAN_IDENTITY,
    PASSWORD,
    bearer,
    case_to_code_step,
    console_login,
    fire,
    sent_code,
)

WHO: list[str | None] = [None, "teller1", "teller9", "supervisor1", "auditor1"]
# 303: to the login page (no login), or to the role's own start page.
PAGES: dict[str, list[int]] = {
    "/": [303, 200, 200, 303, 303],
    "/cases/new": [303, 200, 200, 200, 200],
    "/cases/{case}": [303, 200, 404, 200, 200],
    "/cases/{case}/diagram.svg": [303, 200, 404, 200, 200],
    "/approvals": [303, 200, 200, 200, 200],
    "/approvals/{approval}": [303, 200, 404, 200, 200],
    "/audit": [303, 403, 403, 403, 200],
    "/audit/cases/{case}": [303, 403, 403, 403, 200],
    "/password": [303, 200, 200, 200, 200],
    "/status": [200, 200, 200, 200, 200],
    "/login": [200, 303, 303, 303, 303],
}


def test_every_role_against_every_page(client: TestClient) -> None:
    teller = bearer(client, "teller1")
    opened = client.post("/api/cases", json={"workflow": "pos_unbind"}, headers=teller).json()
    review = fire(client, teller, opened, "submit_identity", AGENT_IDENTITY)
    wrong = []
    for who, column in zip(WHO, zip(*PAGES.values(), strict=True), strict=True):
        client.cookies.clear()
        if who is not None:
            console_login(client, who)
        for template, status in zip(PAGES, column, strict=True):
            path = template.format(case=review["reference"], approval=review["pending"]["id"])
            answer = client.get(path, follow_redirects=False)
            if answer.status_code != status:
                wrong.append((who, path, status, answer.status_code))
    assert wrong == []


def test_no_full_number_reaches_a_log_line(
    client: TestClient, web: WebContext, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    headers = bearer(client, "teller1")
    case = case_to_code_step(client, headers, CLEAN_IDENTITY, CLEAN_BINDING)
    case = fire(client, headers, case, "confirm_code", {"code": sent_code(web, "13800138000")})
    fire(client, headers, case, "sign_off", {"password": PASSWORD})
    console_login(client, "teller1")
    client.get(f"/cases/{case['reference']}")
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for whole in ("110105198001010016", "6222021234567890128", "13800138000", PASSWORD):
        assert whole not in logged
