"""The approval queue shows the level an approval needs, and where it escalated to."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from counter.cases.escalation import escalate_due
from counter.store import users
from counter.store.db import utcnow
from counter.web.context import WebContext

from .conftest import PASSWORD, console_login
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
