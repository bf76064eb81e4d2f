"""``counter serve`` with its outbox worker, over HTTP: the teller never waits on the outbox.

The acquirer is ``tests/reliability/stalling.py``'s: it unbinds, then holds
its answer, so the worker is caught between claiming the acquirer's message
and finishing it, for as long as the test wants. Meanwhile the sign-off has
answered, the case says it waits for the acquirer, and there is no slip;
released, the worker completes the case and prints the slip. Killed there
instead (``SIGKILL``), the worker is started again by ``counter serve`` and
delivers the message once more under the same key: the acquirer answers from
its record, so the unbind happened once and the case completes once.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from counter.store.db import Database, utcnow

from ._server import PASSWORD, CodeReader, Deployment, LoadMerchant, deployed, sign_in_teller
from .stalling import executed_marker

pytestmark = pytest.mark.slow
PATIENCE = 60.0  # seconds for the worker to do what a test waits for, however loaded the machine


def wait_for(what: str, check: Callable[[], Any]) -> Any:
    deadline = time.monotonic() + PATIENCE
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"no {what} in {PATIENCE:.0f} s"
        time.sleep(0.05)


def stalling_env(folder: Path) -> dict[str, str]:
    folder.mkdir()
    return {
        "COUNTER_ACQUIRER_ADAPTER": "tests.reliability.stalling:acquirer",
        "COUNTER_TEST_STALL_DIR": str(folder),
        "COUNTER_WORKER_POLL_SECONDS": "1",
    }


class Teller:
    """One teller on the JSON API of ``url``, their counter open."""

    def __init__(self, url: str, username: str) -> None:
        self.url = url
        self.headers = sign_in_teller(url, username, 1)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None,
             expect: int = 200) -> httpx.Response:
        answer = httpx.request(method, f"{self.url}{path}", json=body, headers=self.headers,
                               timeout=30)
        assert answer.status_code == expect, answer.text
        return answer

    def fire(self, case: dict[str, Any], trigger: str, data: dict[str, Any]) -> dict[str, Any]:
        fired: dict[str, Any] = self.call(
            "POST", f"/api/cases/{case['reference']}/triggers/{trigger}",
            {"data": data, "version": case["version"]}).json()
        return fired

    def case(self, reference: str) -> dict[str, Any]:
        found: dict[str, Any] = self.call("GET", f"/api/cases/{reference}").json()
        return found

    def to_sign_off(self, merchant: LoadMerchant, database_url: str) -> dict[str, Any]:
        """A clean case of ``merchant`` signed off; its SMS came from the worker."""
        case: dict[str, Any] = self.call("POST", "/api/cases", {"workflow": "pos_unbind"},
                                         expect=201).json()
        case = self.fire(case, "submit_identity", merchant.identity())
        case = self.fire(case, "submit_binding", merchant.binding())
        assert case["state"] == "code_check", case
        codes = CodeReader(database_url)
        try:
            code = wait_for("SMS", lambda: codes(merchant.phone))
        finally:
            codes.close()
        case = self.fire(case, "confirm_code", {"code": code})
        return self.fire(case, "sign_off", {"password": PASSWORD})

    def until_done(self, reference: str) -> dict[str, Any]:
        done: dict[str, Any] = wait_for(
            "completion", lambda: (lambda c: c if c["final"] and not c["waiting"] else None)(
                self.case(reference)))
        return done


def rows(deployment: Deployment, query: str, **params: Any) -> list[Any]:
    db = Database(deployment.database_url)
    try:
        with db.read() as conn:
            return list(conn.execute(text(query), params))
    finally:
        db.dispose()


def test_sign_off_answers_before_the_slip_exists_and_the_slip_then_appears(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    stall = tmp_path / "stall"
    env = {**stalling_env(stall), "COUNTER_WORKER_NICE": "5"}
    with deployed(tmp_path, request, tellers=1, cases=1, agent_every=0, env=env,
                  serve_options=("--workers", "1")) as (deployment, staff):
        teller = Teller(deployment.servers[0].url, staff.tellers[0])
        signed = teller.to_sign_off(staff.merchants.popleft(), deployment.database_url)
        reference = signed["reference"]
        assert signed["state"] == "unbind_pending"
        assert [w["kind"] for w in signed["waiting"]] == ["acquirer"]

        marker = executed_marker(stall, reference)
        worker = int(wait_for("acquirer call", lambda: marker.exists() and marker.read_text()))
        # COUNTER_WORKER_NICE: the worker took that much niceness over counter serve's.
        server = deployment.servers[0].process.pid
        assert os.getpriority(os.PRIO_PROCESS, worker) == min(
            19, os.getpriority(os.PRIO_PROCESS, server) + 5)
        waiting = teller.case(reference)
        assert (waiting["state"], waiting["waiting"][0]["message"]["zh"]) == (
            "unbind_pending", "等待收单机构答复")
        teller.call("GET", f"/api/cases/{reference}/slip.pdf", expect=404)

        (stall / "release").touch()
        done = teller.until_done(reference)
        assert done["state"] == "completed"
        slip = teller.call("GET", f"/api/cases/{reference}/slip.pdf")
        assert slip.content.startswith(b"%PDF")


@pytest.mark.postgres
def test_a_worker_killed_between_claim_and_finish_delivers_exactly_once_after_restart(
    tmp_path: Path, request: pytest.FixtureRequest, db_kind: str
) -> None:
    stall = tmp_path / "stall"
    with deployed(tmp_path, request, kind=db_kind, tellers=1, cases=1, agent_every=0,
                  env=stalling_env(stall), serve_options=("--workers", "1")) as (
        deployment, staff,
    ):
        teller = Teller(deployment.servers[0].url, staff.tellers[0])
        reference = teller.to_sign_off(staff.merchants.popleft(),
                                       deployment.database_url)["reference"]
        marker = executed_marker(stall, reference)
        worker = int(wait_for("acquirer call", lambda: marker.exists() and marker.read_text()))
        claimed = rows(deployment, "SELECT status, attempts FROM outbox "
                                   "WHERE case_reference = :r AND kind = 'acquirer.unbind'",
                       r=reference)
        assert [(m.status, m.attempts) for m in claimed] == [("pending", 1)]

        os.kill(worker, signal.SIGKILL)  # after the acquirer unbound, before the finish
        wait_for("worker gone", lambda: not Path(f"/proc/{worker}").exists())
        db = Database(deployment.database_url)
        try:
            with db.transaction() as conn:  # the killed worker's lease: over (the clock's job)
                conn.execute(text("UPDATE outbox SET next_attempt_at = :now "
                                  "WHERE status = 'pending'"), {"now": utcnow()})
        finally:
            db.dispose()

        done = teller.until_done(reference)  # only a restarted worker can have done this
        assert done["state"] == "completed"
        [execution] = rows(deployment, "SELECT outcome, attempts, replays FROM "
                                       "acquirer_execution WHERE reference = :r", r=reference)
        assert (execution.outcome, execution.attempts, execution.replays) == ("done", 1, 1)
        assert rows(deployment, "SELECT kind, attempts FROM outbox WHERE case_reference = :r "
                                "AND status <> 'delivered'", r=reference) == []
        follow_ups = rows(deployment, "SELECT trigger FROM case_events WHERE stream = :r "
                                      "AND trigger = 'unbind_confirmed'", r=reference)
        assert len(follow_ups) == 1
        assert len(rows(deployment, "SELECT copy_number FROM case_slip "
                                    "WHERE reference = :r", r=reference)) == 1
        assert "verifies" in deployment.cli("audit", "verify")
