"""The case page says what the case waits for from outside systems, since when and why.

An SMS gateway that does not answer: the code step says, before the teller
asks for the code, that the SMS has not gone out; once it has, the notice
is gone. The outside systems here are the local ones with the SMS gateway
swapped for one that fails until told otherwise.
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import update

from counter.cases import records
from counter.errors import PeerUnavailable
from counter.store.db import utcnow
from counter.text import Text
from counter.web.context import WebContext

from .conftest import (
    CLEAN_BINDING,
    CLEAN_IDENTITY,
    bearer,
    case_to_code_step,
    console_login,
    csrf_from,
)


class FlakySms:
    """The local gateway behind a switch: ``down`` makes every send unavailable."""

    def __init__(self, local: Any) -> None:
        self.local = local
        self.down = True

    def send(self, phone: str, text: str, *, key: str) -> Any:
        if self.down:
            raise PeerUnavailable(Text(zh="短信网关不可用", en="sms is unavailable"), peer="sms")
        return self.local.send(phone, text, key=key)


def test_an_unsent_code_sms_is_said_on_the_case_page_until_it_goes_out(
    client: TestClient, web: WebContext
) -> None:
    sms = FlakySms(web.desk.services.sms)
    web.desk.services.sms = sms
    case = case_to_code_step(client, bearer(client, "teller1"), CLEAN_IDENTITY, CLEAN_BINDING)
    assert case["state"] == "code_check"
    console_login(client, "teller1")
    page = client.get(f"/cases/{case['reference']}")
    assert page.status_code == 200
    assert 'id="sms-not-sent"' in page.text
    assert "验证码短信尚未发出" in page.text
    assert 'data-kind="sms.send"' in page.text
    assert "短信网关不可用 / sms is unavailable" in page.text
    assert "PeerUnavailable" not in page.text
    switched = client.post(
        "/lang",
        data={
            "lang": "en",
            "next": f"/cases/{case['reference']}",
            "csrf_token": csrf_from(page.text),
        },
    )
    assert switched.status_code == 200
    assert "Do not ask the customer for the code yet" in switched.text

    sms.down = False
    web.dispatcher.run_once()  # not due yet: the retry waits its backoff
    with web.db.transaction() as conn:  # as if the backoff had passed
        conn.execute(update(records.outbox).values(next_attempt_at=utcnow()))
    web.dispatcher.run_once()
    again = client.get(f"/cases/{case['reference']}")
    assert 'id="sms-not-sent"' not in again.text and 'id="deliveries"' not in again.text


class DownAcquirer:
    """The local registry for everything but look-ups, which find the acquirer unreachable."""

    def __init__(self, local: Any) -> None:
        self.local = local

    def __getattr__(self, name: str) -> Any:
        return getattr(self.local, name)

    def merchant(self, merchant_no: str) -> Any:
        raise PeerUnavailable(
            Text(zh="收单机构暂时无法连接", en="the acquirer is unavailable"), peer="acquirer"
        )


def test_a_look_up_that_finds_the_acquirer_down_keeps_the_step_and_what_was_typed(
    client: TestClient, web: WebContext
) -> None:
    headers = bearer(client, "teller1")
    opened = client.post("/api/cases", json={"workflow": "pos_unbind"}, headers=headers).json()
    case = client.post(
        f"/api/cases/{opened['reference']}/triggers/submit_identity",
        json={"data": CLEAN_IDENTITY, "version": opened["version"]},
        headers=headers,
    ).json()
    assert case["state"] == "info_check"
    web.desk.services.acquirer = DownAcquirer(web.desk.services.acquirer)
    console_login(client, "teller1")
    page = client.get(f"/cases/{case['reference']}")
    answer = client.post(
        f"/cases/{case['reference']}/steps/submit_binding",
        data={**CLEAN_BINDING, "version": str(case["version"]), "csrf_token": csrf_from(page.text)},
    )
    assert answer.status_code == 503
    assert "收单机构暂时无法连接" in answer.text
    assert CLEAN_BINDING["merchant_no"] in answer.text  # still in the form
    again = client.get(f"/api/cases/{case['reference']}", headers=headers).json()
    assert (again["state"], again["version"]) == ("info_check", case["version"])


def test_an_outside_system_down_is_503_and_one_refusing_us_502() -> None:
    from counter.errors import PeerRejected
    from counter.web.errors import status_for

    down = PeerUnavailable(Text(zh="稍后", en="later"), peer="acquirer")
    refused = PeerRejected(Text(zh="拒绝", en="refused"), peer="acquirer", status=401)
    assert (status_for(down), status_for(refused)) == (503, 502)
