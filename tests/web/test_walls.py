"""Branch walls: whatever a form or a URL names, another branch's case answers as a missing one.

For every place that names a case (a referral to pick up, an approval to
decide, a handover, a slip to reprint) a teller of branch B002 gets, for a
case of B001, exactly what they get for a reference nobody ever gave out:
same status, same body but for the reference typed, through the API and on
the console pages.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from counter.engine.types import Actor
from counter.store import users
from counter.web.context import WebContext

from .conftest import (
    AGENT_IDENTITY,
    CLEAN_BINDING,
    PASSWORD,
    bearer,
    console_login,
    csrf_from,
    fire,
)
from .test_audit_and_status import completed_case

NOBODYS = "B001-20260101-999999"  # a reference no case has
AGENT = Actor("agent1", frozenset({"service_agent"}), "RC001")


_FRESH_KEY = re.compile(r'(name="idempotency_key" value=")[^"]*"')  # new on every page
# each case's journal has hashes and times of its own
_ENTRY_HASH = re.compile(r"\b[0-9a-f]{64}\b")
_SHOWN_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d")


def same_answer(one: Any, other: Any, one_ref: str = "", other_ref: str = "") -> None:
    """Two answers alike but for the reference each one was asked about (if they show it)."""

    def text(answer: Any, ref: str) -> str:
        shown = answer.text.replace(ref, "REF") if ref else answer.text
        return str(_FRESH_KEY.sub(r'\1"', shown))

    assert one.status_code == other.status_code
    assert text(one, one_ref) == text(other, other_ref)


def opened(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    answer = client.post("/api/cases", json={"workflow": "pos_unbind"}, headers=headers)
    assert answer.status_code == 201, answer.text
    case: dict[str, Any] = answer.json()
    return case


def referred_call(web: WebContext) -> str:
    """A phone call the remote service centre referred to a counter."""
    users.create_branch(web.db, code="RC001", name_zh="远程服务中心", name_en="Remote Service")
    call = web.desk.open_case(workflow="pos_unbind_phone", actor=AGENT)
    form = {
        "merchant_no": CLEAN_BINDING["merchant_no"],
        "terminal_sn": CLEAN_BINDING["terminal_sn"],
        "account_last4": CLEAN_BINDING["account_number"][-4:],
        "caller": "agent",
    }
    call = web.desk.fire(reference=call.reference, trigger="record_call", actor=AGENT, data=form)
    assert call.state == "referred_to_counter"
    return call.reference


def pick_up(
    client: TestClient, headers: dict[str, str], case: dict[str, Any], referral: str
) -> Any:
    return client.post(
        f"/api/cases/{case['reference']}/triggers/pick_up_referral",
        json={"data": {"referral_ref": referral}, "version": case["version"]},
        headers=headers,
    )


def test_a_referral_is_found_from_any_branch_and_nothing_else_is(
    client: TestClient, web: WebContext
) -> None:
    teller9 = bearer(client, "teller9")
    theirs = opened(client, bearer(client, "teller1"))  # a B001 case
    open_call = web.desk.open_case(workflow="pos_unbind_phone", actor=AGENT)  # not referred
    mine = opened(client, teller9)
    unknown = pick_up(client, teller9, mine, NOBODYS)
    assert unknown.status_code == 422
    [error] = unknown.json()["error"]["fields"]
    assert (error["field"], error["code"]) == ("referral_ref", "referral_unknown")
    for other in (theirs["reference"], open_call.reference, mine["reference"]):
        assert pick_up(client, teller9, mine, other).json() == unknown.json()
    # GET says the same of B001's case as of one that does not exist.
    same_answer(
        client.get(f"/api/cases/{theirs['reference']}", headers=teller9),
        client.get(f"/api/cases/{NOBODYS}", headers=teller9),
        theirs["reference"],
        NOBODYS,
    )
    referral = referred_call(web)
    picked = pick_up(client, teller9, mine, referral)
    assert picked.status_code == 200, picked.text
    assert picked.json()["data"]["vars"]["referral_of"]["reference"] == referral
    assert picked.json()["data"]["referral_pickup"] == {"referral_ref": referral}
    # The teller sees which referral the case took up, and why it came to a counter.
    console_login(client, "teller9")
    page = client.get(f"/cases/{mine['reference']}").text
    assert "承接的转柜业务" in page and referral in page
    assert "来电人不是法定代表人本人" in page


def test_a_referral_picked_up_in_one_branch_is_refused_in_the_other(
    client: TestClient, web: WebContext
) -> None:
    referral = referred_call(web)
    teller1, teller9 = bearer(client, "teller1"), bearer(client, "teller9")
    first = opened(client, teller1)
    assert pick_up(client, teller1, first, referral).status_code == 200
    second = opened(client, teller9)
    answer = pick_up(client, teller9, second, referral)
    assert answer.status_code == 422
    [error] = answer.json()["error"]["fields"]
    assert (error["field"], error["code"]) == ("referral_ref", "held_by_open_case")
    assert error["message"]["zh"] == f"转柜业务 {referral} 已有进行中的业务 {first['reference']}"
    again = client.get(f"/api/cases/{second['reference']}", headers=teller9).json()
    assert again["version"] == second["version"] and "referral_of" not in again["data"]["vars"]


def test_the_console_answers_a_referral_of_nobody_and_another_branchs_case_alike(
    client: TestClient,
) -> None:
    theirs = opened(client, bearer(client, "teller1"))
    console_login(client, "teller9")

    def post(referral: str) -> tuple[int, str]:
        """The answer's status and page, on a case of its own (a refusal is journaled,
        and the page shows the case's journal), with both references neutral."""
        mine = opened(client, bearer(client, "teller9"))
        token = csrf_from(client.get(f"/cases/{mine['reference']}").text)
        answer = client.post(
            f"/cases/{mine['reference']}/steps/pick_up_referral",
            data={"csrf_token": token, "version": str(mine["version"]), "referral_ref": referral},
            follow_redirects=False,
        )
        page = answer.text.replace(mine["reference"], "MINE").replace(referral, "REF")
        page = _ENTRY_HASH.sub("HASH", _FRESH_KEY.sub(r'\1"', page))
        return answer.status_code, _SHOWN_TIME.sub("TIME", page)

    unknown, other = post(NOBODYS), post(theirs["reference"])
    assert unknown[0] == 422
    assert "没有此转柜业务编号" in unknown[1]
    assert other == unknown
    for path in ("/cases/{}", "/cases/{}/diagram.svg", "/search?reference={}"):
        same_answer(
            client.get(path.format(theirs["reference"])),
            client.get(path.format(NOBODYS)),
            theirs["reference"],
            NOBODYS,
        )


def waiting_approval(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    case = fire(client, headers, opened(client, headers), "submit_identity", AGENT_IDENTITY)
    assert case["state"] == "supervisor_review"
    return case


def test_an_approval_of_another_branch_is_not_there(client: TestClient) -> None:
    case = waiting_approval(client, bearer(client, "teller1"))
    approval = case["pending"]["id"]
    supervisor9 = bearer(client, "supervisor9")
    nobodys = approval + 1000
    for decision, body in (("approve", {"comment": "ok"}), ("reject", {"reason": "no"})):
        same_answer(
            client.post(f"/api/approvals/{approval}/{decision}", json=body, headers=supervisor9),
            client.post(f"/api/approvals/{nobodys}/{decision}", json=body, headers=supervisor9),
        )
    console_login(client, "supervisor9")
    same_answer(
        client.get(f"/approvals/{approval}"),
        client.get(f"/approvals/{nobodys}"),
        f"approvals/{approval}",
        f"approvals/{nobodys}",
    )
    token = csrf_from(client.get("/approvals").text)
    form = {"csrf_token": token, "version": str(case["version"]), "comment": "ok"}
    same_answer(
        client.post(f"/approvals/{approval}/approve", data=form),
        client.post(f"/approvals/{nobodys}/approve", data=form),
        f"approvals/{approval}",
        f"approvals/{nobodys}",
    )
    again = client.get(f"/api/cases/{case['reference']}", headers=bearer(client, "teller1"))
    assert again.json()["version"] == case["version"]


def handovers_alike(
    client: TestClient, headers: dict[str, str], reference: str, to_teller: str
) -> None:
    """Offering, accepting, declining, withdrawing ``reference`` answer as for nobody's case."""
    offer = {"to_teller": to_teller}
    same_answer(
        client.post(f"/api/cases/{reference}/handover", json=offer, headers=headers),
        client.post(f"/api/cases/{NOBODYS}/handover", json=offer, headers=headers),
        reference,
        NOBODYS,
    )
    for decision in ("accept", "decline", "withdraw"):
        same_answer(
            client.post(f"/api/cases/{reference}/handover/{decision}", headers=headers),
            client.post(f"/api/cases/{NOBODYS}/handover/{decision}", headers=headers),
            reference,
            NOBODYS,
        )


def test_a_handover_of_another_branchs_case_is_not_there(client: TestClient) -> None:
    case = opened(client, bearer(client, "teller1"))
    ref = case["reference"]
    handovers_alike(client, bearer(client, "teller9"), ref, "teller9")
    console_login(client, "teller9")
    token = csrf_from(client.get("/counter").text)

    def offered(reference: str) -> Any:
        return client.post(
            "/counter/handover",
            data={"csrf_token": token, "reference": reference, "to_teller": "teller9"},
        )

    same_answer(offered(ref), offered(NOBODYS), ref, NOBODYS)
    same_answer(
        client.post(f"/counter/handover/{ref}/accept", data={"csrf_token": token}),
        client.post(f"/counter/handover/{NOBODYS}/accept", data={"csrf_token": token}),
        ref,
        NOBODYS,
    )


def test_a_merchant_learns_nothing_of_other_cases_through_a_handover(
    client: TestClient, web: WebContext
) -> None:
    """A merchant user sits in the service centre's branch: its calls are not theirs either."""
    call = referred_call(web)
    users.create_user(
        web.db, username="merchant1", password=PASSWORD, roles=["merchant"], branch="RC001",
        merchant_no=CLEAN_BINDING["merchant_no"],
    )
    handovers_alike(client, bearer(client, "merchant1"), call, "teller1")


def test_a_slip_of_another_branch_is_not_there(client: TestClient, web: WebContext) -> None:
    ref = completed_case(client, web)
    teller9 = bearer(client, "teller9")
    same_answer(
        client.get(f"/api/cases/{ref}/slip.pdf", headers=teller9),
        client.get(f"/api/cases/{NOBODYS}/slip.pdf", headers=teller9),
        ref,
        NOBODYS,
    )
    console_login(client, "teller9")
    token = csrf_from(client.get("/").text)
    for path in ("/cases/{}/slip", "/cases/{}/slip.pdf"):
        same_answer(
            client.get(path.format(ref)), client.get(path.format(NOBODYS)), ref, NOBODYS
        )
    reprinted = client.post(f"/cases/{ref}/slip/reprint", data={"csrf_token": token})
    nobodys = client.post(f"/cases/{NOBODYS}/slip/reprint", data={"csrf_token": token})
    same_answer(reprinted, nobodys, ref, NOBODYS)
    assert re.search(r"没有案件|No case", reprinted.text)
