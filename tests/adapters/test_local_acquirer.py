"""The local acquirer: look-ups, and unbind/bind executed exactly once per case reference."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest

from counter.adapters import (
    AccountType,
    AcquirerRegistry,
    ExecutionOutcome,
    LocalAcquirerRegistry,
    SimulatedFailure,
    UnbindResult,
)
from counter.errors import NotFound

from .factories import CARD, merchant_row

MERCHANT = "102110058120001"
TERMINAL = "SN-PAX-000001"
Registry = Callable[..., LocalAcquirerRegistry]


def unbind(acquirer: LocalAcquirerRegistry, reference: str = "C-0001", **kw: str) -> UnbindResult:
    args = {"merchant_no": MERCHANT, "terminal_sn": TERMINAL, "account_number": CARD, **kw}
    return acquirer.execute_unbind(reference, **args)


def test_local_acquirer_satisfies_the_protocol(registry: Registry) -> None:
    assert isinstance(registry(), AcquirerRegistry)


def test_unknown_merchant_and_terminal_look_ups(registry: Registry) -> None:
    acquirer = registry()
    assert acquirer.merchant("999999999999999") is None
    assert acquirer.terminals("999999999999999") == []
    assert acquirer.settlement_account(MERCHANT, "SN-OTHER") is None
    assert acquirer.settlement_account("102110058120002", TERMINAL) is None


def test_unbind_clears_the_account_and_records_the_change(registry: Registry) -> None:
    acquirer = registry()
    result = unbind(acquirer)
    assert result.done and not result.replayed
    assert result.acquirer_reference.startswith("LOCAL-UNB-")
    assert acquirer.settlement_account(MERCHANT, TERMINAL) is None
    merchant = acquirer.merchant(MERCHANT)
    assert merchant is not None and merchant.last_binding_change == date.today()
    [record] = acquirer.executions("C-0001")
    assert (record.operation, record.outcome, record.attempts, record.replays) == (
        "unbind",
        ExecutionOutcome.DONE,
        1,
        0,
    )
    assert CARD not in record.account_masked and record.account_masked.endswith(CARD[-4:])


@pytest.mark.postgres
def test_unbind_twice_with_one_reference_executes_once(registry: Registry) -> None:
    acquirer = registry()
    first = unbind(acquirer)
    # Re-bound in between: a repeat must still not unbind again.
    acquirer.execute_bind("C-0001-bind", MERCHANT, TERMINAL, CARD, "张三")
    second = unbind(acquirer)
    assert second.replayed and second.done
    assert (second.acquirer_reference, second.executed_at) == (
        first.acquirer_reference,
        first.executed_at,
    )
    assert acquirer.settlement_account(MERCHANT, TERMINAL) is not None
    [record] = acquirer.executions("C-0001")
    assert (record.attempts, record.replays) == (1, 1)


@pytest.mark.postgres
def test_concurrent_repeats_execute_once(registry: Registry) -> None:
    acquirer = registry()
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: unbind(acquirer), range(8)))
    assert sum(not result.replayed for result in results) == 1
    assert {result.acquirer_reference for result in results} == {results[0].acquirer_reference}
    [record] = acquirer.executions("C-0001")
    assert (record.attempts, record.replays) == (1, 7)


@pytest.mark.parametrize(
    ("row", "kwargs", "reason"),
    [
        ({"status": "closed"}, {}, "closed"),
        ({"status": "frozen_judicial"}, {}, "frozen_judicial"),
        ({}, {"merchant_no": "102110058120009"}, "No such merchant"),
        ({}, {"terminal_sn": "SN-OTHER"}, "not registered"),
        ({}, {"account_number": "6217001234000056786"}, "not the one bound"),
        ({"account_type": "", "account_number": "", "account_holder": ""}, {}, "no settlement"),
    ],
)
def test_refused_unbinds_change_nothing_and_stay_refused(
    registry: Registry, row: dict[str, str], kwargs: dict[str, str], reason: str
) -> None:
    acquirer = registry(merchant_row(**row))
    before = acquirer.settlement_account(MERCHANT, TERMINAL)
    result = unbind(acquirer, **kwargs)
    assert result.outcome is ExecutionOutcome.REFUSED and not result.retryable
    assert reason in result.message.en and result.message.zh
    assert acquirer.settlement_account(MERCHANT, TERMINAL) == before
    assert unbind(acquirer, **kwargs).replayed


def test_simulated_refusal_is_final_for_that_reference(registry: Registry) -> None:
    acquirer = registry()
    acquirer.simulate_failure(MERCHANT, SimulatedFailure.REFUSED)
    refused = unbind(acquirer)
    assert refused.outcome is ExecutionOutcome.REFUSED and "simulated" in refused.message.en
    assert unbind(acquirer).outcome is ExecutionOutcome.REFUSED
    assert acquirer.settlement_account(MERCHANT, TERMINAL) is not None
    assert unbind(acquirer, "C-0002").done  # the simulation was for one execution only


@pytest.mark.postgres
def test_simulated_unavailability_is_retried_with_the_same_reference(registry: Registry) -> None:
    acquirer = registry()
    acquirer.simulate_failure(MERCHANT, SimulatedFailure.UNAVAILABLE, times=2)
    outcomes = [unbind(acquirer).outcome for _ in range(3)]
    assert outcomes == [
        ExecutionOutcome.UNAVAILABLE,
        ExecutionOutcome.UNAVAILABLE,
        ExecutionOutcome.DONE,
    ]
    assert unbind(acquirer).replayed
    [record] = acquirer.executions("C-0001")
    assert (record.outcome, record.attempts, record.replays) == (ExecutionOutcome.DONE, 3, 1)


def test_simulated_failure_can_be_cleared(registry: Registry) -> None:
    acquirer = registry()
    acquirer.simulate_failure(MERCHANT, SimulatedFailure.UNAVAILABLE, times=5)
    acquirer.simulate_failure(MERCHANT, None)
    assert unbind(acquirer).done


def test_simulating_an_unknown_merchant_is_not_found(registry: Registry) -> None:
    with pytest.raises(NotFound):
        registry().simulate_failure("999999999999999", SimulatedFailure.REFUSED)


def test_reimport_keeps_a_simulated_failure(registry: Registry) -> None:
    acquirer = registry()
    acquirer.simulate_failure(MERCHANT, SimulatedFailure.REFUSED)
    registry(merchant_row(status="risk_flagged"))
    assert unbind(acquirer).outcome is ExecutionOutcome.REFUSED


def test_bind_after_unbind_sets_the_new_account(registry: Registry) -> None:
    acquirer = registry()
    assert unbind(acquirer).done
    new_card = "6217001234000056786"
    bound = acquirer.execute_bind("C-0001", MERCHANT, TERMINAL, new_card, "张三")
    assert bound.done and bound.acquirer_reference.startswith("LOCAL-BND-")
    account = acquirer.settlement_account(MERCHANT, TERMINAL)
    assert account is not None
    assert (account.account_type, account.account_number) == (AccountType.PERSONAL_CARD, new_card)
    assert acquirer.execute_bind("C-0001", MERCHANT, TERMINAL, new_card, "张三").replayed
    assert [r.operation for r in acquirer.executions("C-0001")] == ["unbind", "bind"]


def test_bind_to_the_merchant_name_is_a_corporate_account(registry: Registry) -> None:
    acquirer = registry(merchant_row(account_type="", account_number="", account_holder=""))
    acquirer.execute_bind("C-1", MERCHANT, TERMINAL, "11001234567890", "北京示例餐饮有限公司")
    account = acquirer.settlement_account(MERCHANT, TERMINAL)
    assert account is not None and account.account_type is AccountType.CORPORATE


def test_bind_over_another_account_is_refused(registry: Registry) -> None:
    acquirer = registry()
    result = acquirer.execute_bind("C-1", MERCHANT, TERMINAL, "6217001234000056786", "张三")
    assert result.outcome is ExecutionOutcome.REFUSED and "unbind it first" in result.message.en
    account = acquirer.settlement_account(MERCHANT, TERMINAL)
    assert account is not None and account.account_number == CARD


def test_numbers_are_matched_as_typed_at_the_counter(registry: Registry) -> None:
    acquirer = registry()
    spaced = " ".join(CARD[i : i + 4] for i in range(0, len(CARD), 4))
    assert unbind(
        acquirer, merchant_no=f" {MERCHANT} ", terminal_sn="sn-pax-000001", account_number=spaced
    ).done
