"""The acquirer kept in our database: ``LocalAcquirerRegistry`` (demo mode, tests).

The registry lives in ``counter.store.registry_tables``, loaded by
``counter registry import``. Each execution writes its row in
``acquirer_execution`` in the same transaction as the binding change, and
that row's unique key (operation, reference) is what makes a repeat answer
the first result instead of executing again, even across processes.
``simulate_failure`` makes the next executions for a merchant refuse or be
unavailable, so that tests and demos can show a failing acquirer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Row, select, update
from sqlalchemy.exc import IntegrityError

from counter.adapters._store import ImportSummary, new_reference
from counter.adapters.acquirer import (
    AccountType,
    AcquirerResult,
    BindResult,
    ExecutionOutcome,
    ExecutionRecord,
    Merchant,
    MerchantStatus,
    SettlementAccount,
    SimulatedFailure,
    Terminal,
    UnbindResult,
)
from counter.adapters.registry_import import import_merchants
from counter.banking.accounts import normalize_account_number
from counter.banking.masking import mask_account
from counter.banking.merchant import normalize_merchant_number, normalize_terminal_sn
from counter.errors import NotFound
from counter.store.db import Database, utcnow
from counter.store.registry_tables import AcquirerExecution, RegistryMerchant, RegistryTerminal
from counter.text import Text

__all__ = ["LocalAcquirerRegistry"]

logger = logging.getLogger(__name__)

_MERCHANTS = RegistryMerchant.__table__  # type: ignore[attr-defined]
_TERMINALS = RegistryTerminal.__table__  # type: ignore[attr-defined]
_EXECUTIONS = AcquirerExecution.__table__  # type: ignore[attr-defined]

_UNBIND = "unbind"
_BIND = "bind"
_Result = TypeVar("_Result", bound=AcquirerResult)


class LocalAcquirerRegistry:
    """The acquirer kept in our database (demo mode, tests, branches without an acquirer link)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # -- look-ups -------------------------------------------------------------------------

    def merchant(self, merchant_no: str) -> Merchant | None:
        with self._db.read() as conn:
            row = conn.execute(
                select(_MERCHANTS).where(
                    _MERCHANTS.c.merchant_no == normalize_merchant_number(merchant_no)
                )
            ).first()
        return None if row is None else _merchant(row)

    def terminals(self, merchant_no: str) -> list[Terminal]:
        query = (
            select(_TERMINALS.c.merchant_no, _TERMINALS.c.terminal_sn, _TERMINALS.c.terminal_id)
            .where(_TERMINALS.c.merchant_no == normalize_merchant_number(merchant_no))
            .order_by(_TERMINALS.c.terminal_sn)
        )
        with self._db.read() as conn:
            return [Terminal(*row) for row in conn.execute(query)]

    def settlement_account(self, merchant_no: str, terminal_sn: str) -> SettlementAccount | None:
        with self._db.read() as conn:
            row = _terminal(
                conn, normalize_merchant_number(merchant_no), normalize_terminal_sn(terminal_sn)
            )
        if row is None or row.account_number is None:
            return None
        return SettlementAccount(
            AccountType(row.account_type), row.account_number, row.account_holder
        )

    # -- executions -----------------------------------------------------------------------

    def execute_unbind(
        self, reference: str, merchant_no: str, terminal_sn: str, account_number: str
    ) -> UnbindResult:
        request = _Request(_UNBIND, reference, merchant_no, terminal_sn, account_number)
        return self._execute(request, UnbindResult)

    def execute_bind(
        self,
        reference: str,
        merchant_no: str,
        terminal_sn: str,
        account_number: str,
        holder: str,
        *,
        account_type: AccountType | None = None,
    ) -> BindResult:
        request = _Request(
            _BIND, reference, merchant_no, terminal_sn, account_number, holder.strip(), account_type
        )
        return self._execute(request, BindResult)

    def executions(self, reference: str) -> list[ExecutionRecord]:
        """What this acquirer executed for ``reference`` (at most one row per operation)."""
        query = select(_EXECUTIONS).where(_EXECUTIONS.c.reference == reference)
        with self._db.read() as conn:
            rows = conn.execute(query.order_by(_EXECUTIONS.c.id)).all()
        return [
            ExecutionRecord(
                operation=row.operation,
                reference=row.reference,
                merchant_no=row.merchant_no,
                terminal_sn=row.terminal_sn,
                account_masked=row.account_masked,
                outcome=ExecutionOutcome(row.outcome),
                acquirer_reference=row.acquirer_reference,
                attempts=row.attempts,
                replays=row.replays,
                executed_at=row.executed_at,
            )
            for row in rows
        ]

    def simulate_failure(
        self, merchant_no: str, failure: SimulatedFailure | None, *, times: int = 1
    ) -> None:
        """Make the next ``times`` executions for this merchant fail (``None`` clears it)."""
        with self._db.transaction() as conn:
            changed = conn.execute(
                update(_MERCHANTS)
                .where(_MERCHANTS.c.merchant_no == normalize_merchant_number(merchant_no))
                .values(
                    simulated_failure=None if failure is None else failure.value,
                    simulated_failure_times=0 if failure is None else max(times, 0),
                )
            ).rowcount
        if not changed:
            raise NotFound(Text(zh="商户不存在。", en="No such merchant."), merchant_no=merchant_no)

    def import_merchants(
        self, source: Path | bytes, *, encoding: str | None = None
    ) -> ImportSummary:
        """Load the acquirer's merchant file (see ``counter.adapters.registry_import``)."""
        return import_merchants(self._db, source, encoding=encoding)

    def _execute(self, request: _Request, answer: type[_Result]) -> _Result:
        try:
            with self._db.transaction() as conn:
                return _execute_in(conn, request, answer)
        except IntegrityError:
            # Another process executed the same reference between our read and our
            # insert; its transaction won and ours rolled back: answer with its result.
            with self._db.transaction() as conn:
                return _execute_in(conn, request, answer)


@dataclass(frozen=True)
class _Request:
    operation: str
    reference: str
    merchant_no: str
    terminal_sn: str
    account_number: str
    holder: str = ""
    account_type: AccountType | None = None


def _execute_in(conn: Connection, request: _Request, answer: type[_Result]) -> _Result:
    previous = conn.execute(
        select(_EXECUTIONS).where(
            _EXECUTIONS.c.operation == request.operation,
            _EXECUTIONS.c.reference == request.reference,
        )
    ).first()
    if previous is not None and previous.outcome != ExecutionOutcome.UNAVAILABLE:
        conn.execute(
            update(_EXECUTIONS)
            .where(_EXECUTIONS.c.id == previous.id)
            .values(replays=_EXECUTIONS.c.replays + 1)
        )
        logger.info("acquirer %s %s answered from its record", request.operation, request.reference)
        return answer(
            reference=request.reference,
            outcome=ExecutionOutcome(previous.outcome),
            message=Text(zh=previous.message_zh, en=previous.message_en),
            acquirer_reference=previous.acquirer_reference,
            executed_at=previous.executed_at,
            replayed=True,
        )
    now = utcnow()
    merchant_no = normalize_merchant_number(request.merchant_no)
    terminal_sn = normalize_terminal_sn(request.terminal_sn)
    account_number = normalize_account_number(request.account_number)
    outcome, message = _simulated(conn, merchant_no) or _apply(
        conn, request, merchant_no, terminal_sn, account_number, now
    )
    acquirer_ref = new_reference("LOCAL-UNB" if request.operation == _UNBIND else "LOCAL-BND")
    values: dict[str, Any] = {
        "merchant_no": merchant_no,
        "terminal_sn": terminal_sn,
        "account_masked": mask_account(account_number),
        "outcome": outcome.value,
        "message_zh": message.zh,
        "message_en": message.en,
        "acquirer_reference": acquirer_ref,
        "executed_at": now,
    }
    if previous is None:
        conn.execute(
            _EXECUTIONS.insert().values(
                operation=request.operation,
                reference=request.reference,
                attempts=1,
                replays=0,
                **values,
            )
        )
    else:
        conn.execute(
            update(_EXECUTIONS)
            .where(_EXECUTIONS.c.id == previous.id)
            .values(attempts=_EXECUTIONS.c.attempts + 1, **values)
        )
    logger.info(
        "acquirer %s %s for merchant %s terminal %s account %s: %s",
        request.operation,
        request.reference,
        merchant_no,
        terminal_sn,
        mask_account(account_number),
        outcome,
    )
    return answer(
        reference=request.reference,
        outcome=outcome,
        message=message,
        acquirer_reference=acquirer_ref,
        executed_at=now,
    )


def _simulated(conn: Connection, merchant_no: str) -> tuple[ExecutionOutcome, Text] | None:
    row = conn.execute(
        select(_MERCHANTS.c.simulated_failure, _MERCHANTS.c.simulated_failure_times).where(
            _MERCHANTS.c.merchant_no == merchant_no
        )
    ).first()
    if row is None or row.simulated_failure is None or row.simulated_failure_times <= 0:
        return None
    conn.execute(
        update(_MERCHANTS)
        .where(_MERCHANTS.c.merchant_no == merchant_no)
        .values(simulated_failure_times=_MERCHANTS.c.simulated_failure_times - 1)
    )
    if row.simulated_failure == SimulatedFailure.REFUSED:
        return ExecutionOutcome.REFUSED, Text(
            zh="收单机构拒绝了该请求(模拟)。", en="The acquirer refused the request (simulated)."
        )
    return ExecutionOutcome.UNAVAILABLE, Text(
        zh="收单机构暂时无法处理,稍后重试(模拟)。",
        en="The acquirer is unavailable; try again later (simulated).",
    )


def _apply(
    conn: Connection,
    request: _Request,
    merchant_no: str,
    terminal_sn: str,
    account_number: str,
    now: datetime,
) -> tuple[ExecutionOutcome, Text]:
    merchant = conn.execute(
        select(_MERCHANTS).where(_MERCHANTS.c.merchant_no == merchant_no)
    ).first()
    if merchant is None:
        return _refused("商户不存在。", "No such merchant.")
    if merchant.status in (MerchantStatus.CLOSED, MerchantStatus.FROZEN_JUDICIAL):
        return _refused(
            f"商户状态为 {merchant.status},不能变更结算账户。",
            f"The merchant is {merchant.status}; its settlement account cannot change.",
        )
    terminal = _terminal(conn, merchant_no, terminal_sn)
    if terminal is None:
        return _refused("该终端不属于此商户。", "The terminal is not registered to this merchant.")
    bound = terminal.account_number
    if request.operation == _UNBIND:
        if bound is None:
            return _refused(
                "该终端未绑定结算账户。", "The terminal has no settlement account bound."
            )
        if bound != account_number:
            return _refused(
                "所述账户与终端绑定的结算账户不一致。",
                "The account given is not the one bound to the terminal.",
            )
        new_account: dict[str, Any] = {
            "account_type": None,
            "account_number": None,
            "account_holder": None,
        }
        message = Text(zh="结算账户已解绑。", en="The settlement account was unbound.")
    else:
        if bound is not None and bound != account_number:
            return _refused(
                "该终端仍绑定其他结算账户,请先解绑。",
                "The terminal is still bound to another account; unbind it first.",
            )
        if not request.holder:
            return _refused("缺少账户户名。", "The account holder's name is missing.")
        account_type = request.account_type or (
            AccountType.CORPORATE
            if request.holder == merchant.merchant_name
            else AccountType.PERSONAL_CARD
        )
        new_account = {
            "account_type": account_type.value,
            "account_number": account_number,
            "account_holder": request.holder,
        }
        message = Text(zh="结算账户已绑定。", en="The settlement account was bound.")
    conn.execute(
        update(_TERMINALS)
        .where(_TERMINALS.c.terminal_sn == terminal_sn)
        .values(updated_at=now, **new_account)
    )
    conn.execute(
        update(_MERCHANTS)
        .where(_MERCHANTS.c.merchant_no == merchant_no)
        .values(last_binding_change=now.astimezone().date(), updated_at=now)
    )
    return ExecutionOutcome.DONE, message


def _refused(zh: str, en: str) -> tuple[ExecutionOutcome, Text]:
    return ExecutionOutcome.REFUSED, Text(zh=zh, en=en)


def _terminal(conn: Connection, merchant_no: str, terminal_sn: str) -> Row[Any] | None:
    return conn.execute(
        select(_TERMINALS).where(
            _TERMINALS.c.terminal_sn == terminal_sn, _TERMINALS.c.merchant_no == merchant_no
        )
    ).first()


def _merchant(row: Row[Any]) -> Merchant:
    return Merchant(
        merchant_no=row.merchant_no,
        merchant_name=row.merchant_name,
        uscc=row.uscc,
        legal_rep_name=row.legal_rep_name,
        legal_rep_id_number=row.legal_rep_id_number,
        registered_phone=row.registered_phone,
        status=MerchantStatus(row.status),
        pending_settlement_cents=row.pending_settlement_cents,
        last_binding_change=row.last_binding_change,
    )
