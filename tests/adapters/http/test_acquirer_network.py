"""The HTTP acquirer against the simulator as a real process: every fault, exactly once.

Each test unbinds terminals of its own (the simulator's registry holds many)
under keys of its own, and checks at the simulator that every unbind was
executed exactly once, however the network behaved, and that none was lost.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from counter.adapters import ExecutionOutcome
from counter.adapters.http import HttpAcquirerRegistry, idempotency_key
from counter.adapters.http.breaker import BreakerState
from counter.adapters.http.faults import FAULT_KINDS
from counter.errors import PeerRejected, PeerUnavailable

from .simulators import (
    UNKNOWN_MERCHANT,
    RunningSimulator,
    Terminal,
    registry_csv,
    start,
    terminals,
)

TERMINALS = terminals(200)
_next_terminal = itertools.count(1)  # the first is the look-ups' and stays bound


@pytest.fixture(scope="module")
def acquirer_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSimulator]:
    running = start(
        "acquirer",
        tmp_path_factory.mktemp("acquirer"),
        merchants=registry_csv(TERMINALS),
        options=["--key", "demo-1=demo-peer-key-not-secret", "--key", "next-2=rotated-key"],
    )
    yield running
    running.stop()


@pytest.fixture
def sim(acquirer_sim: RunningSimulator) -> Iterator[RunningSimulator]:
    acquirer_sim.calm()
    yield acquirer_sim
    acquirer_sim.close_clients()
    acquirer_sim.calm()


def fresh_terminal() -> Terminal:
    return TERMINALS[next(_next_terminal)]


def reference() -> str:
    return f"T-{uuid.uuid4().hex[:12]}"


def unbind(acquirer: HttpAcquirerRegistry, terminal: Terminal, ref: str) -> ExecutionOutcome:
    result = acquirer.execute_unbind(
        ref, terminal.merchant_no, terminal.terminal_sn, terminal.account_number
    )
    assert result.reference == ref
    return result.outcome


def test_lookups_answer_the_registry(sim: RunningSimulator) -> None:
    acquirer = HttpAcquirerRegistry(sim.client())
    first = TERMINALS[0]
    merchant = acquirer.merchant(first.merchant_no)
    assert merchant is not None and merchant.legal_rep_name == "张三"
    assert [t.terminal_sn for t in acquirer.terminals(first.merchant_no)] == [first.terminal_sn]
    assert acquirer.merchant(UNKNOWN_MERCHANT) is None
    assert acquirer.terminals(UNKNOWN_MERCHANT) == []
    assert acquirer.settlement_account(first.merchant_no, "SN-NOT-THERE") is None


def test_a_repeat_gets_the_first_answer_and_changes_nothing(sim: RunningSimulator) -> None:
    acquirer = HttpAcquirerRegistry(sim.client())
    terminal, ref = fresh_terminal(), reference()
    first = acquirer.execute_unbind(
        ref, terminal.merchant_no, terminal.terminal_sn, terminal.account_number
    )
    again = acquirer.execute_unbind(
        ref, terminal.merchant_no, terminal.terminal_sn, terminal.account_number
    )
    assert (first.outcome, first.replayed, again.replayed) == (ExecutionOutcome.DONE, False, True)
    assert again.acquirer_reference == first.acquirer_reference
    assert acquirer.settlement_account(terminal.merchant_no, terminal.terminal_sn) is None
    assert sim.executions(idempotency_key(ref, "unbind")) == 1


@pytest.mark.parametrize("fault", FAULT_KINDS)
def test_every_fault_still_unbinds_exactly_once(sim: RunningSimulator, fault: str) -> None:
    acquirer = HttpAcquirerRegistry(sim.client())
    terminal, ref = fresh_terminal(), reference()
    sim.faults(queue=[fault], paths=["/v1/unbinds"])
    assert unbind(acquirer, terminal, ref) is ExecutionOutcome.DONE
    key = idempotency_key(ref, "unbind")
    entry = sim.ledger()["keys"][key]
    assert entry["executions"] == 1, entry
    assert sim.faults()["injected"].get(fault, 0) >= 1
    assert acquirer.settlement_account(terminal.merchant_no, terminal.terminal_sn) is None


def test_an_outage_loses_nothing_and_executes_once_when_the_peer_is_back(
    sim: RunningSimulator,
) -> None:
    acquirer = HttpAcquirerRegistry(sim.client())
    terminal, ref = fresh_terminal(), reference()
    sim.faults(down=True)
    result = acquirer.execute_unbind(
        ref, terminal.merchant_no, terminal.terminal_sn, terminal.account_number
    )
    assert result.outcome is ExecutionOutcome.UNAVAILABLE and result.retryable
    assert sim.executions(idempotency_key(ref, "unbind")) == 0
    sim.faults(down=False)
    assert unbind(acquirer, terminal, ref) is ExecutionOutcome.DONE
    assert sim.executions(idempotency_key(ref, "unbind")) == 1


def test_answers_after_the_client_gave_up_are_not_executed_again(
    sim: RunningSimulator,
) -> None:
    """Every attempt answered late: the call ends unavailable, but the unbind happened
    once; the next call (the dispatcher's retry) gets that first answer."""
    acquirer = HttpAcquirerRegistry(sim.client(attempts=2))
    terminal, ref = fresh_terminal(), reference()
    sim.faults(queue=["late", "late"], paths=["/v1/unbinds"])
    assert unbind(acquirer, terminal, ref) is ExecutionOutcome.UNAVAILABLE
    result = acquirer.execute_unbind(
        ref, terminal.merchant_no, terminal.terminal_sn, terminal.account_number
    )
    assert (result.outcome, result.replayed) == (ExecutionOutcome.DONE, True)
    entry = sim.ledger()["keys"][idempotency_key(ref, "unbind")]
    assert entry["executions"] == 1 and entry["requests"] == 3


@pytest.mark.slow
def test_many_tellers_through_random_faults_execute_each_unbind_once(
    sim: RunningSimulator,
) -> None:
    acquirer = HttpAcquirerRegistry(sim.client(attempts=6))
    sim.faults(
        rates={"error": 0.1, "reset": 0.1, "error_after": 0.1, "duplicate": 0.1, "timeout": 0.05},
        paths=["/v1/unbinds"],
        seed=7,
    )
    jobs = [(fresh_terminal(), reference()) for _ in range(40)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(lambda job: unbind(acquirer, *job), jobs))
    sim.calm()
    # An unbind left unavailable after its attempts is retried later, as the outbox would.
    for (terminal, ref), outcome in zip(jobs, outcomes, strict=True):
        if outcome is ExecutionOutcome.UNAVAILABLE:
            assert unbind(acquirer, terminal, ref) is ExecutionOutcome.DONE
    ledger = sim.ledger()["keys"]
    assert [ledger[idempotency_key(ref, "unbind")]["executions"] for _, ref in jobs] == [1] * 40


def test_the_breaker_opens_on_an_outage_and_then_refuses_at_once(
    sim: RunningSimulator,
) -> None:
    client = sim.client(attempts=1, breaker_failures=2, breaker_reset=60)
    acquirer = HttpAcquirerRegistry(client)
    sim.faults(down=True)
    for _ in range(2):
        with pytest.raises(PeerUnavailable):
            acquirer.merchant(TERMINALS[0].merchant_no)
    assert client.breaker.state is BreakerState.OPEN and not acquirer.available()
    requests_before = sim.ledger()["requests"]
    sim.faults(down=False)
    terminal, ref = fresh_terminal(), reference()
    assert unbind(acquirer, terminal, ref) is ExecutionOutcome.UNAVAILABLE
    assert sim.ledger()["requests"] == requests_before  # not even sent


def test_a_half_open_breaker_closes_on_the_first_answer(sim: RunningSimulator) -> None:
    client = sim.client(attempts=1, breaker_failures=1, breaker_reset=0.2)
    acquirer = HttpAcquirerRegistry(client)
    sim.faults(down=True)
    with pytest.raises(PeerUnavailable):
        acquirer.merchant(TERMINALS[0].merchant_no)
    sim.faults(down=False)
    import time

    time.sleep(0.3)
    assert client.breaker.state is BreakerState.HALF_OPEN
    assert acquirer.merchant(TERMINALS[0].merchant_no) is not None
    assert client.breaker.state is BreakerState.CLOSED


def test_keys_rotate_and_an_unknown_key_is_refused_not_retried(
    sim: RunningSimulator, tmp_path: Path
) -> None:
    rotated = HttpAcquirerRegistry(sim.client(key_id="next-2", key="rotated-key"))
    assert rotated.merchant(TERMINALS[0].merchant_no) is not None
    requests = sim.ledger()["requests"]
    wrong = HttpAcquirerRegistry(sim.client(key_id="next-2", key="not-the-key"))
    terminal, ref = fresh_terminal(), reference()
    with pytest.raises(PeerRejected) as refused:
        unbind(wrong, terminal, ref)
    assert refused.value.context["status"] == 401
    assert sim.ledger()["requests"] == requests  # refused before the ledger: nothing executed


def test_a_clock_beyond_the_skew_is_refused(sim: RunningSimulator) -> None:
    import time

    client = sim.client()
    client._clock = lambda: time.time() + 3600
    with pytest.raises(PeerRejected) as refused:
        HttpAcquirerRegistry(client).merchant(TERMINALS[0].merchant_no)
    assert refused.value.context["error_code"] == "stale_timestamp"


def test_the_simulators_execution_answer_fits_the_document(sim: RunningSimulator) -> None:
    from .test_contract_documents import check, document

    doc = document("acquirer")
    terminal, ref = fresh_terminal(), reference()
    body = {
        "reference": ref,
        "merchant_no": terminal.merchant_no,
        "terminal_sn": terminal.terminal_sn,
        "account_number": terminal.account_number,
    }
    client = sim.client()
    first = client.post("unbind", "/v1/unbinds", body, key=idempotency_key(ref, "unbind"))
    check(doc, doc["components"]["schemas"]["Execution"], dict(first.body), "execution")
    refused = client.post("unbind", "/v1/unbinds", body, key=idempotency_key(ref, "again"))
    check(doc, doc["components"]["schemas"]["Execution"], dict(refused.body), "execution")
    assert (first.body["outcome"], refused.body["outcome"]) == ("done", "refused")
