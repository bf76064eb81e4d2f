"""The approval queue shows the level an approval needs, and where it escalated to."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from counter.cases.escalation import escalate_due
from counter.store import users
from counter.store.db import utcnow
from counter.web.context import WebContext

from .conftest import PASSWORD, console_login
from .test_case_pages import open_case
from .test_rekey_pages import _luhn_case


def test_the_queue_shows_level_and_escalation(client: TestClient, web: WebContext) -> None:
    reference, _ = _luhn_case(client)
    console_login(client, "supervisor1")
    page = client.get("/approvals").text
    assert reference in page and 'data-level="supervisor"' in page and "需主管授权" in page
    assert "data-escalated" not in page
    [done] = escalate_due(web.desk, now=utcnow() + timedelta(minutes=31))
    assert (done.case_reference, done.to_level) == (reference, "branch_manager")
    page = client.get("/approvals").text
    assert 'data-escalated="branch_manager"' in page and "已超时升级至网点负责人" in page


def test_the_remote_centre_sees_every_branch(client: TestClient, web: WebContext) -> None:
    reference, approval_id = _luhn_case(client)
    users.create_user(web.db, username="authorizer1", password=PASSWORD, roles=["authorizer"],
                      branch="B002")
    console_login(client, "authorizer1")
    page = client.get("/approvals").text
    assert reference in page
    assert 'id="approve-button"' in client.get(f"/approvals/{approval_id}").text


def test_the_remote_centre_cannot_open_a_case_it_has_nothing_to_decide_on(
    client: TestClient, web: WebContext
) -> None:
    """The centre's reach is its queue: a case of the branch with no approval for it is
    "not found" on the page and over the API, however its reference was learnt."""
    console_login(client, "teller1")
    other = open_case(client)
    users.create_user(web.db, username="authorizer1", password=PASSWORD, roles=["authorizer"],
                      branch="B002")
    console_login(client, "authorizer1")
    assert client.get(f"/cases/{other}").status_code == 404
    assert client.get(f"/cases/{other}/diagram.svg").status_code == 404
    assert client.get(f"/cases/{other}/changed").status_code == 404
    token = client.post("/api/session",
                        json={"username": "authorizer1", "password": PASSWORD}).json()["token"]
    answer = client.get(f"/api/cases/{other}", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 404 and "没有案件" in answer.json()["error"]["message"]["zh"]
