"""The web app's desk is a ``CounterDesk``: a teller takes counter cases only at an open counter."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from .conftest import bearer, console_login, csrf_from


def test_a_teller_without_an_open_counter_is_refused_then_served(client: TestClient) -> None:
    teller = bearer(client, "teller1")
    assert client.delete("/api/counter", headers=teller).status_code == 200

    refused = client.post("/api/cases", json={"workflow": "pos_unbind"}, headers=teller)
    assert refused.status_code == 403, refused.text
    message = refused.json()["error"]["message"]
    assert message["zh"] == "请先开启柜台(登记窗口号)再受理业务"
    assert message["en"] == "Open your counter (with its window number) before taking cases"
    assert client.get("/api/cases", headers=teller).json() == []

    assert client.post("/api/counter", json={"window": 5}, headers=teller).status_code == 201
    opened = client.post("/api/cases", json={"workflow": "pos_unbind"}, headers=teller)
    assert opened.status_code == 201, opened.text
    mine = client.get("/api/counter", headers=teller).json()
    assert mine["session"]["window"] == 5 and mine["cases"] == [opened.json()["reference"]]


def test_a_supervisor_who_is_no_teller_needs_no_counter(client: TestClient) -> None:
    supervisor = bearer(client, "supervisor1")
    opened = client.post("/api/cases", json={"workflow": "pos_unbind"}, headers=supervisor)
    assert opened.status_code == 201, opened.text


def test_the_console_sends_a_teller_with_a_closed_counter_to_open_it(client: TestClient) -> None:
    console_login(client, "teller1")
    home = client.get("/")
    assert 'href="/counter"' in home.text and 'id="counter-closed"' not in home.text

    closed = client.post("/counter/close", data={"csrf_token": csrf_from(home.text)})
    assert closed.status_code == 200, closed.text
    for path in ("/", "/cases/new"):
        page = client.get(path)
        assert 'id="counter-closed"' in page.text, path
        assert "请先登记窗口号开启柜台" in page.text and "开启我的柜台" in page.text

    new_case = client.get("/cases/new")
    refused = client.post(
        "/cases", data={"workflow": "pos_unbind", "csrf_token": csrf_from(new_case.text)}
    )
    assert refused.status_code == 403
    assert "请先开启柜台" in refused.text

    opened = client.post("/counter/open", data={"window": "4", "csrf_token": csrf_from(home.text)})
    assert opened.status_code == 200, opened.text
    assert 'id="counter-closed"' not in client.get("/").text


NAV = re.compile(r'<nav aria-label="[^"]*">(.*?)</nav>', re.S)


@pytest.mark.parametrize(
    ("username", "page", "links"),
    [
        ("teller1", "/", ["/", "/cases/new", "/counter"]),
        ("supervisor1", "/approvals", ["/approvals", "/dashboard", "/branch-day", "/reviews"]),
        ("auditor1", "/audit", ["/audit"]),
        ("lead1", "/", ["/", "/cases/new", "/counter", "/approvals", "/dashboard", "/branch-day",
                        "/reviews"]),
    ],
)
def test_the_navigation_leads_each_role_to_its_branch_day_pages(
    client: TestClient, username: str, page: str, links: list[str]
) -> None:
    console_login(client, username)
    found = NAV.search(client.get(page).text)
    assert found is not None
    hrefs = re.findall(r'<a href="([^"]+)"', found.group(1))
    assert hrefs == links
    for href in hrefs:
        assert client.get(href).status_code == 200, href
