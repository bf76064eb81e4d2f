"""The HTTP identity verifier and SMS gateway against their simulators as processes.

SMS: every fault, and each key's message sent exactly once. Identity: the
demo list's answers over the wire, every fault still answered, and a
service that does not answer is ``unavailable`` (at once, once the breaker
is open).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from counter.adapters import IdentityOutcome
from counter.adapters.http import HttpIdentityVerifier, HttpSmsGateway, idempotency_key
from counter.adapters.http.faults import FAULT_KINDS
from counter.errors import PeerUnavailable

from .simulators import RunningSimulator, start


@pytest.fixture(scope="module")
def sms_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSimulator]:
    running = start("sms", tmp_path_factory.mktemp("sms"))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def identity_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSimulator]:
    running = start("identity", tmp_path_factory.mktemp("identity"))
    yield running
    running.stop()


@pytest.fixture
def sms(sms_sim: RunningSimulator) -> Iterator[RunningSimulator]:
    sms_sim.calm()
    yield sms_sim
    sms_sim.close_clients()
    sms_sim.calm()


@pytest.fixture
def identity(identity_sim: RunningSimulator) -> Iterator[RunningSimulator]:
    identity_sim.calm()
    yield identity_sim
    identity_sim.close_clients()
    identity_sim.calm()


def outbox_key() -> str:
    return f"T-{uuid.uuid4().hex[:10]}/sms.send/code-1"


@pytest.mark.parametrize("fault", FAULT_KINDS)
def test_every_fault_still_sends_each_message_exactly_once(
    sms: RunningSimulator, fault: str
) -> None:
    gateway = HttpSmsGateway(sms.client())
    key = outbox_key()
    sms.faults(queue=[fault])
    receipt = gateway.send("138 0013 8000", "验证码123456", key=key)
    assert receipt.key == idempotency_key(key, "sms")
    assert sms.executions(idempotency_key(key, "sms")) == 1
    again = gateway.send("13800138000", "验证码123456", key=key)
    assert again.replayed and again.gateway_reference == receipt.gateway_reference
    assert sms.executions(idempotency_key(key, "sms")) == 1


def test_an_sms_gateway_down_raises_for_the_outbox_to_retry(sms: RunningSimulator) -> None:
    gateway = HttpSmsGateway(sms.client(attempts=2))
    key = outbox_key()
    sms.faults(down=True)
    with pytest.raises(PeerUnavailable):
        gateway.send("13800138000", "验证码654321", key=key)
    sms.faults(down=False)
    gateway.send("13800138000", "验证码654321", key=key)
    assert sms.executions(idempotency_key(key, "sms")) == 1


@pytest.mark.parametrize(
    ("number", "name", "outcome", "score"),
    [
        ("110105198001010016", "张三", IdentityOutcome.MATCH, 96),
        ("310104197505120039", "钱七", IdentityOutcome.MISMATCH, None),
        ("440305199002280052", "刘四", IdentityOutcome.NOT_FOUND, None),
        ("110105198001010024", "何五", IdentityOutcome.UNAVAILABLE, None),
    ],
)
def test_the_identity_list_answers_over_the_wire(
    identity: RunningSimulator, number: str, name: str, outcome: IdentityOutcome, score: int | None
) -> None:
    result = HttpIdentityVerifier(identity.client()).verify("resident_id", number, name)
    assert (result.outcome, result.face_score) == (outcome, score)


@pytest.mark.parametrize("fault", FAULT_KINDS)
def test_every_fault_still_gets_the_verification(identity: RunningSimulator, fault: str) -> None:
    identity.faults(queue=[fault])
    result = HttpIdentityVerifier(identity.client()).verify(
        "resident_id", "110105198001010016", "张三"
    )
    assert result.outcome is IdentityOutcome.MATCH


def test_an_identity_service_down_is_unavailable_and_then_not_even_asked(
    identity: RunningSimulator,
) -> None:
    client = identity.client(attempts=2, breaker_failures=2, breaker_reset=60)
    verifier = HttpIdentityVerifier(client)
    identity.faults(down=True)
    first = verifier.verify("resident_id", "110105198001010016", "张三")
    assert first.outcome is IdentityOutcome.UNAVAILABLE and first.face_score is None
    requests = identity.ledger()["requests"]
    identity.faults(down=False)
    second = verifier.verify("resident_id", "110105198001010016", "张三")
    assert second.outcome is IdentityOutcome.UNAVAILABLE
    assert identity.ledger()["requests"] == requests
    assert not verifier.available()
