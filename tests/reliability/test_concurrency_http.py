"""Two requests on one case at the same moment, through HTTP to real server processes.

Two tellers firing the same step at the same version: exactly one wins and
the other gets 409 telling them to reload. A request repeated with the same
``Idempotency-Key`` (a double click, a retry after a timeout), one after the
other or both at once: one effect, and the same answer both times. Blocked
attempts at once: every one journaled, the chain unbroken. On PostgreSQL
the requests go to two different processes.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from ._server import Deployment, LoadMerchant, Staff, deployed, sign_in_teller

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
ROUNDS = 4


@pytest.fixture
def counter(
    db_kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[Deployment, Staff]]:
    with deployed(tmp_path, request, kind=db_kind, servers=2 if db_kind == "postgres" else 1,
                  tellers=2, cases=2 * ROUNDS + 4, agent_every=0) as running:
        yield running


def at_once(*calls: Callable[[], httpx.Response]) -> list[httpx.Response]:
    """Run ``calls`` in threads released together; their answers in order."""
    barrier = threading.Barrier(len(calls))
    answers: list[httpx.Response | None] = [None] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        answers[index] = calls[index]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(a is not None for a in answers)
    return [a for a in answers if a is not None]


class Tellers:
    """Two tellers, each on a server of their own (the same one on SQLite)."""

    def __init__(self, deployment: Deployment, staff: Staff) -> None:
        self.urls = [s.url for s in deployment.servers] * (3 - len(deployment.servers))
        self.headers = [sign_in_teller(url, name, window) for window, (url, name) in
                        enumerate(zip(self.urls, staff.tellers, strict=False), start=1)]
        self.merchants = staff.merchants

    def post(self, who: int, path: str, body: dict[str, Any], key: str | None = None,
             via: int | None = None) -> httpx.Response:
        """``who`` posts, to their own server or to server ``via``."""
        headers = dict(self.headers[who])
        if key is not None:
            headers["Idempotency-Key"] = key
        url = self.urls[who if via is None else via]
        return httpx.post(f"{url}{path}", json=body, headers=headers, timeout=60)

    def get(self, who: int, path: str) -> Any:
        answer = httpx.get(f"{self.urls[who]}{path}", headers=self.headers[who], timeout=60)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def new_case(self) -> tuple[dict[str, Any], LoadMerchant]:
        opened = self.post(0, "/api/cases", {"workflow": "pos_unbind"})
        assert opened.status_code == 201, opened.text
        case: dict[str, Any] = opened.json()
        return case, self.merchants.popleft()

    def trigger(self, case: dict[str, Any], trigger: str, data: dict[str, Any]) -> tuple[
            str, dict[str, Any]]:
        return (f"/api/cases/{case['reference']}/triggers/{trigger}",
                {"data": data, "version": case["version"]})


def journal_of(tellers: Tellers, reference: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = tellers.get(1, f"/api/cases/{reference}/journal")
    return entries


def test_refusals_at_once_are_all_journaled_and_change_nothing(
    counter: tuple[Deployment, Staff],
) -> None:
    """Four blocked attempts on one case at once, over two processes on PostgreSQL."""
    tellers = Tellers(*counter)
    case, merchant = tellers.new_case()
    identity = merchant.identity()
    bad = {**identity, "id_number": identity["id_number"][:-1]
           + ("0" if identity["id_number"][-1] != "0" else "1")}
    path, body = tellers.trigger(case, "submit_identity", bad)
    answers = at_once(*(partial(tellers.post, who % 2, path, body) for who in range(4)))
    assert [a.status_code for a in answers] == [422] * 4, [a.text for a in answers]
    assert all(a.json()["error"]["fields"][0]["field"] == "id_number" for a in answers)
    now = tellers.get(1, f"/api/cases/{case['reference']}")
    assert (now["state"], now["version"]) == (case["state"], case["version"])
    entries = journal_of(tellers, case["reference"])
    assert [e["kind"] for e in entries] == ["open"] + ["refused"] * 4
    assert [e["seq"] for e in entries] == [1, 2, 3, 4, 5]
    assert all(e["prev_hash"] == before["hash"] for before, e in itertools.pairwise(entries))


def test_two_tellers_on_one_version_one_wins_the_other_is_told_to_reload(
    counter: tuple[Deployment, Staff],
) -> None:
    tellers = Tellers(*counter)
    for _ in range(ROUNDS):
        case, merchant = tellers.new_case()
        path, body = tellers.trigger(case, "submit_identity", merchant.identity())
        answers = at_once(partial(tellers.post, 0, path, body),
                          partial(tellers.post, 1, path, body))
        assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
        loser = next(a for a in answers if a.status_code == 409).json()["error"]
        assert loser["code"] == "stale_version", loser
        assert "reload" in loser["message"]["en"] and "刷新" in loser["message"]["zh"]
        now = tellers.get(1, f"/api/cases/{case['reference']}")
        assert (now["state"], now["version"]) == ("info_check", case["version"] + 1)
        triggers = [e["trigger"] for e in journal_of(tellers, case["reference"])]
        assert triggers.count("submit_identity") == 1, triggers


def test_the_same_idempotency_key_one_after_the_other_has_one_effect_and_one_answer(
    counter: tuple[Deployment, Staff],
) -> None:
    tellers = Tellers(*counter)
    case, merchant = tellers.new_case()
    path, body = tellers.trigger(case, "submit_identity", merchant.identity())
    first = tellers.post(0, path, body, key="double-click-1")
    again = tellers.post(0, path, body, key="double-click-1")
    assert first.status_code == again.status_code == 200, (first.text, again.text)
    assert first.json() == again.json()
    case = tellers.get(0, f"/api/cases/{case['reference']}")
    assert case["version"] == 2 and case["state"] == "info_check"
    path, body = tellers.trigger(case, "submit_binding", merchant.binding())
    first = tellers.post(0, path, body, key="retry-after-timeout")
    again = tellers.post(0, path, body, key="retry-after-timeout")
    assert first.status_code == again.status_code == 200 and first.json() == again.json()
    entries = journal_of(tellers, case["reference"])
    assert [e["trigger"] for e in entries].count("submit_binding") == 1, entries
    sms = tellers.get(0, f"/api/cases/{case['reference']}")["data"]["vars"]["unbind_code"]
    assert sms["sends"] == 1, sms


def test_the_same_idempotency_key_twice_at_once_has_one_effect_and_one_answer(
    counter: tuple[Deployment, Staff],
) -> None:
    tellers = Tellers(*counter)
    for number in range(ROUNDS):
        case, merchant = tellers.new_case()
        path, body = tellers.trigger(case, "submit_identity", merchant.identity())
        key = f"at-once-{number}"
        answers = at_once(partial(tellers.post, 0, path, body, key=key, via=0),
                          partial(tellers.post, 0, path, body, key=key, via=1))
        assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
        assert answers[0].json() == answers[1].json()
        triggers = [e["trigger"] for e in journal_of(tellers, case["reference"])]
        assert triggers.count("submit_identity") == 1, triggers
        assert tellers.get(0, f"/api/cases/{case['reference']}")["version"] == 2


def test_two_cases_for_one_terminal_at_once_one_takes_it_the_other_is_told_which(
    counter: tuple[Deployment, Staff],
) -> None:
    """One open case per terminal, decided by the database, whichever server each one asks."""
    tellers = Tellers(*counter)
    for _ in range(ROUNDS // 2):
        first, merchant = tellers.new_case()
        second, _unused = tellers.new_case()
        steps = []
        for who, case in enumerate((first, second)):
            path, body = tellers.trigger(case, "submit_identity", merchant.identity())
            assert tellers.post(who, path, body).status_code == 200
            steps.append(tellers.trigger({**case, "version": 2}, "submit_binding",
                                         merchant.binding()))
        answers = at_once(*(partial(tellers.post, who, path, body)
                            for who, (path, body) in enumerate(steps)))
        assert sorted(a.status_code for a in answers) == [200, 422], [a.text for a in answers]
        winner = next(a for a in answers if a.status_code == 200).json()
        [refusal] = next(a for a in answers if a.status_code == 422).json()["error"]["fields"]
        assert (refusal["field"], refusal["code"]) == ("terminal_sn", "held_by_open_case")
        assert winner["reference"] in refusal["message"]["zh"], refusal
        assert "已有进行中的业务" in refusal["message"]["zh"]
