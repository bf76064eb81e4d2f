"""The flagship over the network: pos_unbind against the three simulators as processes.

The desk's adapters are the HTTP ones (``COUNTER_*_ADAPTER=http``); the
simulators hold the registry, the identity list and the sent messages.
Degraded mode: an identity service that does not answer sends the case to
a supervisor's manual check at once, an acquirer that does not answer
leaves the case waiting with its message in the outbox until it does,
and an SMS gateway that does not answer is said before the code is asked for.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from adapters.http.simulators import (
    RunningSimulator,
    registry_csv,
    start,
    terminals,
)

from counter.adapters.http import close_clients, idempotency_key
from counter.cases.backlog import waiting_deliveries
from counter.cases.views import CaseView
from counter.config import Settings
from counter.store import journal

from .helpers import PASSWORD, ZHANG_SAN, Counter, pending_findings

pytestmark = pytest.mark.slow  # three simulator processes, and cases walked end to end

TERMINALS = terminals(20, start=500)
_terminals = itertools.count()
_days = itertools.count()
PHONE = "13800138000"


@pytest.fixture(scope="module")
def sims(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, RunningSimulator]]:
    workdir = tmp_path_factory.mktemp("network")
    running = {
        "acquirer": start("acquirer", workdir, merchants=registry_csv(TERMINALS)),
        "identity": start("identity", workdir),
        "sms": start("sms", workdir),
    }
    yield running
    for sim in running.values():
        sim.stop()


@pytest.fixture
def counter(counter: Counter) -> Counter:
    """Each test on a day of its own: case references (the peers' keys) never repeat."""
    counter.clock.advance(days=next(_days))
    return counter


@pytest.fixture
def breaker_reset() -> float:
    """Seconds a peer's open breaker waits (real time, unlike the desk's clock)."""
    return 60.0


@pytest.fixture
def settings(sims: dict[str, RunningSimulator], breaker_reset: float) -> Iterator[Settings]:
    for sim in sims.values():
        sim.calm()
    close_clients()  # a fresh breaker per peer for each test
    yield Settings(
        demo_mode=True,
        secret_key="flagship-tests-secret",
        photo_score_threshold=70,
        acquirer_adapter="http",
        identity_adapter="http",
        sms_adapter="http",
        acquirer_url=sims["acquirer"].url,
        identity_url=sims["identity"].url,
        sms_url=sims["sms"].url,
        peer_connect_timeout_seconds=0.5,
        peer_read_timeout_seconds=0.5,
        identity_read_timeout_seconds=0.5,
        peer_breaker_failures=2,
        peer_breaker_reset_seconds=breaker_reset,
        _env_file=None,  # type: ignore[call-arg]
    )
    close_clients()
    for sim in sims.values():
        sim.calm()


def code_sent(sms: RunningSimulator) -> str:
    answer = httpx.get(f"{sms.url}/_sim/messages", params={"phone": PHONE}, timeout=5)
    newest = answer.json()["messages"][0]
    found = re.search(r"验证码(\d{6})", newest["text"])
    assert found is not None, newest
    return found.group(1)


def binding_form() -> dict[str, str]:
    terminal = TERMINALS[next(_terminals)]
    return {
        "merchant_no": terminal.merchant_no,
        "uscc": "91110000600037341L",
        "terminal_sn": terminal.terminal_sn,
        "account_number": terminal.account_number,
    }


def to_signoff(counter: Counter, sims: dict[str, RunningSimulator]) -> CaseView:
    case = counter.through_identity(ZHANG_SAN)
    case = counter.fire(case, "submit_binding", binding_form())
    assert case.state == "code_check", case.state
    case = counter.fire(case, "confirm_code", {"code": code_sent(sims["sms"])})
    assert case.state == "teller_signoff", case.state
    return case


def test_a_clean_case_completes_over_the_network_and_unbinds_once(
    counter: Counter, sims: dict[str, RunningSimulator]
) -> None:
    case = to_signoff(counter, sims)
    case = counter.fire(case, "sign_off", {"password": PASSWORD})
    assert case.state == "completed", case.state
    assert sims["acquirer"].executions(idempotency_key(case.reference, "unbind")) == 1
    assert case.data["unbind_answer"]["outcome"] == "done"
    assert journal.verify(counter.desk.db).ok


def test_identity_service_down_sends_the_case_to_the_supervisors_manual_check(
    counter: Counter, sims: dict[str, RunningSimulator]
) -> None:
    sims["identity"].faults(down=True)
    case = counter.identify(counter.open(), ZHANG_SAN)
    assert case.state == "supervisor_review"
    assert pending_findings(case) == {"identity_check_unavailable": "approve"}
    # The breaker is open now: the next case does not even try, and does not wait.
    requests = sims["identity"].ledger()["requests"]
    sims["identity"].faults(down=False)
    second = counter.identify(counter.open(), ZHANG_SAN)
    assert pending_findings(second) == {"identity_check_unavailable": "approve"}
    assert sims["identity"].ledger()["requests"] == requests
    approved = counter.fire(second, "approve", {}, actor="supervisor1")
    assert approved.state == "info_check"


@pytest.mark.parametrize("breaker_reset", [0.2])
def test_acquirer_down_the_case_waits_in_the_outbox_and_completes_by_itself(
    counter: Counter, sims: dict[str, RunningSimulator]
) -> None:
    acquirer = sims["acquirer"]
    case = to_signoff(counter, sims)
    acquirer.faults(rates={"error": 1.0}, paths=["/v1/unbinds"])
    case = counter.fire(case, "sign_off", {"password": PASSWORD})
    assert case.state == "unbind_pending"
    [waiting] = waiting_deliveries(counter.desk.db, case.reference)
    assert waiting.kind == "acquirer.unbind" and waiting.attempts == 1
    assert waiting.last_error and "acquirer" in waiting.last_error
    for _ in range(3):  # the outage goes on: attempts, never an unbind
        counter.clock.advance(minutes=20)
        counter.wired.dispatcher.run_once()
    assert counter.desk.get(reference=case.reference, actor=counter.actors["teller1"]).state == (
        "unbind_pending"
    )
    acquirer.calm()
    time.sleep(0.25)  # the breaker lets a trial through once its real-time pause is over
    counter.clock.advance(minutes=20)
    counter.wired.dispatcher.run_once()
    done = counter.desk.get(reference=case.reference, actor=counter.actors["teller1"])
    assert done.state == "completed"
    assert acquirer.executions(idempotency_key(case.reference, "unbind")) == 1
    assert waiting_deliveries(counter.desk.db, case.reference) == []


@pytest.mark.parametrize("breaker_reset", [0.2])
def test_an_sms_gateway_down_is_known_before_the_customer_is_asked_for_the_code(
    counter: Counter, sims: dict[str, RunningSimulator]
) -> None:
    sims["sms"].faults(down=True)
    case = counter.through_identity(ZHANG_SAN)
    case = counter.fire(case, "submit_binding", binding_form())
    assert case.state == "code_check"
    [waiting] = waiting_deliveries(counter.desk.db, case.reference)
    assert waiting.kind == "sms.send" and waiting.attempts == 1 and waiting.last_error
    sims["sms"].faults(down=False)
    time.sleep(0.25)
    counter.clock.advance(seconds=5)
    counter.wired.dispatcher.run_once()
    assert waiting_deliveries(counter.desk.db, case.reference) == []
    case = counter.fire(case, "confirm_code", {"code": code_sent(sims["sms"])})
    assert case.state == "teller_signoff"
    assert timedelta(0) <= counter.clock.now - case.opened_at
