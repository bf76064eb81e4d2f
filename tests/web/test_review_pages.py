"""Post-transaction review in the console: the back office draws, reads and decides; the branch
answers; whoever worked on a case cannot review it, and a refusal is journaled."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from fastapi.testclient import TestClient

from counter.branchday import local_day, open_counter
from counter.engine.types import Actor
from counter.store import users
from counter.web.context import WebContext

from .conftest import PASSWORD, bearer, console_login, csrf_from
from .test_audit_and_status import completed_case


def _reviewer(web: WebContext, name: str = "backoffice1", *roles: str) -> None:
    users.create_user(web.db, username=name, password=PASSWORD,
                      roles=["post_reviewer", *roles], branch="B001", display_name=name)


def _post(client: TestClient, page: str, action: str, **data: str) -> httpx.Response:
    token = csrf_from(client.get(page).text)
    return client.post(action, data={"csrf_token": token, **data}, follow_redirects=False)


def _drawn(client: TestClient, web: WebContext) -> str:
    """Draw today's B001 cases as the reviewer; the one review's page."""
    today = local_day(datetime.now(UTC)).isoformat()
    answer = _post(client, "/reviews", "/reviews/draw", branch="b001", day=today)
    assert answer.status_code == 303, answer.text
    queue = client.get(answer.headers["location"]).text
    assert 'id="review-drawn"' in queue and "共 1 笔在队列中" in queue
    start = queue.index('href="/reviews/') + len('href="')
    return queue[start : queue.index('"', start)]


def test_a_reviewer_reads_the_case_masked_and_marks_it_reviewed(
    client: TestClient, web: WebContext
) -> None:
    reference = completed_case(client, web)
    _reviewer(web)
    console_login(client, "backoffice1")
    assert client.get("/", follow_redirects=False).headers["location"] == "/reviews"
    page_url = _drawn(client, web)
    page = client.get(page_url).text
    assert reference in page and "抽样" in page and 'id="pass-button"' in page
    assert "110105198001010016" not in page  # the customer's ID number, masked by its class
    assert "6222021234567890128" not in page
    assert '{"shape"' not in page  # journal notes in words, never JSON
    answer = _post(client, page_url, f"{page_url}/pass")
    assert answer.status_code == 303
    done = client.get(answer.headers["location"]).text
    assert "已确认无误" in done and "没有待监督的业务" in done
    journal_page = client.get(page_url).text
    assert 'data-status="reviewed"' in journal_page and 'id="pass-button"' not in journal_page
    assert "监督结果" in journal_page  # the post_review entry, its outcome in words


def test_an_issue_needs_a_reason_and_the_branch_supervisor_answers_it(
    client: TestClient, web: WebContext
) -> None:
    reference = completed_case(client, web)
    _reviewer(web)
    console_login(client, "backoffice1")
    page_url = _drawn(client, web)
    empty = _post(client, page_url, f"{page_url}/issue", reason="  ")
    assert empty.status_code == 422
    assert 'id="reason-error"' in empty.text and "请填写原因" in empty.text
    assert 'data-status="open"' in client.get(page_url).text  # nothing changed
    raised = _post(client, page_url, f"{page_url}/issue", reason="凭条客户签名缺失")
    assert raised.status_code == 303

    console_login(client, "supervisor9")  # another branch: as if there were no such review
    assert client.get(page_url).status_code == 404
    console_login(client, "teller1")
    assert client.get("/reviews").status_code == 403
    console_login(client, "supervisor1")
    queue = client.get("/reviews").text
    assert reference in queue and "凭条客户签名缺失" in queue
    waiting = client.get("/approvals").text  # the supervisor's one queue holds it too
    assert f'href="{page_url}"' in waiting and 'data-kind="review_issue"' in waiting
    assert "事后监督问题" in waiting and "凭条客户签名缺失" in waiting
    page = client.get(page_url).text
    assert 'id="answer-button"' in page and 'id="pass-button"' not in page
    answered = _post(client, page_url, f"{page_url}/answer", answer="已补签并留档")
    assert answered.status_code == 303
    page = client.get(page_url).text
    assert 'data-status="answered"' in page and "已补签并留档" in page
    assert "没有待答复的问题" in client.get("/reviews").text


def test_one_who_worked_on_the_case_is_told_and_refused_and_the_refusal_is_journaled(
    client: TestClient, web: WebContext
) -> None:
    _reviewer(web, "lead2", "teller")
    actor = Actor(username="lead2", roles=frozenset({"teller", "post_reviewer"}), branch="B001")
    open_counter(web.db, actor=actor, window=7, now=datetime.now(UTC))
    reference = completed_case(client, web, teller="lead2")
    console_login(client, "lead2")
    page_url = _drawn(client, web)
    page = client.get(page_url).text
    assert 'id="cannot-review"' in page and 'id="pass-button"' not in page
    forged = _post(client, page_url, f"{page_url}/pass")
    assert forged.status_code == 403
    assert "不能监督它" in forged.text
    [refused] = [e for e in web.desk.journal(reference=reference) if e.kind == "refused"]
    assert refused.actor == "lead2" and refused.findings[0].code == "four_eyes"
    assert 'data-status="open"' in client.get(page_url).text
    console_login(client, "auditor1")
    audit = client.get(f"/audit/cases/{reference}").text
    assert "须由另一人办理" in audit  # the refusal named in words for the auditor


def test_a_bad_day_is_refused_on_its_field(client: TestClient, web: WebContext) -> None:
    _reviewer(web)
    console_login(client, "backoffice1")
    answer = _post(client, "/reviews", "/reviews/draw", branch="", day="25/11/2026")
    assert answer.status_code == 422
    text = answer.text
    assert 'id="draw-branch-error"' in text and 'id="draw-day-error"' in text
    assert "2026-11-25" in text


def test_the_review_api_draws_raises_and_answers(client: TestClient, web: WebContext) -> None:
    reference = completed_case(client, web)
    _reviewer(web)
    reviewer = bearer(client, "backoffice1")
    today = local_day(datetime.now(UTC)).isoformat()
    assert client.post("/api/reviews/draw", json={"branch": "B001", "day": "2999-01-01"},
                       headers=reviewer).json()["error"]["fields"][0]["field"] == "day"
    [drawn] = client.post("/api/reviews/draw", json={"branch": "b001", "day": today},
                          headers=reviewer).json()
    assert (drawn["case_reference"], drawn["status"]) == (reference, "open")
    assert [r["id"] for r in client.get("/api/reviews", headers=reviewer).json()] == [drawn["id"]]
    empty = client.post(f"/api/reviews/{drawn['id']}/issue", json={"reason": ""},
                        headers=reviewer)
    assert empty.status_code == 422 and empty.json()["error"]["fields"][0]["field"] == "reason"
    raised = client.post(f"/api/reviews/{drawn['id']}/issue", json={"reason": "签名缺失"},
                         headers=reviewer)
    assert raised.status_code == 200 and raised.json()["status"] == "issue"

    teller = bearer(client, "teller1")
    assert client.get("/api/reviews", headers=teller).status_code == 403
    elsewhere = bearer(client, "supervisor9")
    assert client.post(f"/api/reviews/{drawn['id']}/answer", json={"answer": "x"},
                       headers=elsewhere).status_code == 404
    assert client.post("/api/reviews/999/answer", json={"answer": "x"},
                       headers=elsewhere).status_code == 404
    supervisor = bearer(client, "supervisor1")
    assert [r["issue"] for r in client.get("/api/reviews", headers=supervisor).json()] == [
        "签名缺失"
    ]
    answered = client.post(f"/api/reviews/{drawn['id']}/answer", json={"answer": "已补签"},
                           headers=supervisor)
    assert answered.status_code == 200, answered.text
    assert (answered.json()["status"], answered.json()["answered_by"]) == ("answered",
                                                                           "supervisor1")
    again = client.post(f"/api/reviews/{drawn['id']}/answer", json={"answer": "again"},
                        headers=supervisor)
    assert again.status_code == 409  # decided once
