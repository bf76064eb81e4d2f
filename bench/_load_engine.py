"""The in-process engine on the load test's own database: CPU and writes per flagship case.

The load test's server figures (CPU per complete case, write transactions
per case) mean little alone; this walks the same ``pos_unbind`` cases with
no HTTP at all, through the desk the web app builds (a ``CounterDesk``, the
SMS and the acquirer delivered right after each commit), by a teller whose
counter the load test opened, in this process. It times only the desk's
calls (``time.process_time``), not reading the SMS code back, and renders
each case's slip apart so that the slip's own cost is known too.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from bench._load_registry import BRANCH, PASSWORD, LoadMerchant
from bench._load_tellers import CodeReader

__all__ = ["EngineCost", "engine_cost"]

T = TypeVar("T")


@dataclass(frozen=True)
class EngineCost:
    """Per complete case, in-process: CPU ms without the slip, the slip's CPU ms, writes."""

    cases: int
    cpu_ms: float
    slip_cpu_ms: float
    writes: float


def engine_cost(database_url: str, secret_key: str, teller: str,
                merchants: Sequence[LoadMerchant]) -> EngineCost:
    """Walk one case per merchant (the first only warms up); see the module docstring."""
    from counter.branchday.wiring import wire_counter
    from counter.cases.dispatch import Dispatcher
    from counter.cases.wiring import deliver_sms, deliver_unbind
    from counter.config import Settings
    from counter.engine.types import Actor
    from counter.slips.issue import issue_case_slip
    from counter.store.db import Database, write_transactions

    settings = Settings(database_url=database_url, demo_mode=True, secret_key=secret_key,
                        _env_file=None)  # type: ignore[call-arg]
    db = Database(database_url)
    codes = CodeReader(database_url)
    try:
        wired = wire_counter(db, settings=settings, attach=False)
        desk = wired.desk
        dispatcher = Dispatcher(desk)  # the slip is rendered apart, below
        dispatcher.register_handler("sms.send", deliver_sms)
        dispatcher.register_handler("acquirer.unbind", deliver_unbind)
        dispatcher.attach()
        actor = Actor(username=teller, roles=frozenset({"teller"}), branch=BRANCH)
        spent = [0.0]

        def timed(call: Callable[[], T]) -> T:
            started = time.process_time()
            try:
                return call()
            finally:
                spent[0] += time.process_time() - started

        def walk(merchant: LoadMerchant) -> str:
            case: Any = timed(lambda: desk.open_case(workflow="pos_unbind", actor=actor))
            reference = case.reference
            for trigger, data in (("submit_identity", merchant.identity()),
                                  ("submit_binding", merchant.binding())):
                case = timed(lambda t=trigger, d=data, v=case.version: desk.fire(
                    reference=reference, trigger=t, actor=actor, data=d, version=v))
            code = codes(merchant.phone)
            for trigger, data in (("confirm_code", {"code": code}),
                                  ("sign_off", {"password": PASSWORD})):
                case = timed(lambda t=trigger, d=data, v=case.version: desk.fire(
                    reference=reference, trigger=t, actor=actor, data=d, version=v))
            return str(reference)

        first, *measured = merchants
        issue_case_slip(desk, reference=walk(first))  # warm: WeasyPrint, fonts, templates
        spent[0] = 0.0
        writes_before = write_transactions()
        references = [walk(merchant) for merchant in measured]
        writes = write_transactions() - writes_before
        case_cpu = spent[0]
        spent[0] = 0.0
        for reference in references:
            timed(lambda r=reference: issue_case_slip(desk, reference=r))
        count = max(1, len(references))
        return EngineCost(cases=len(references), cpu_ms=case_cpu * 1000 / count,
                          slip_cpu_ms=spent[0] * 1000 / count, writes=writes / count)
    finally:
        codes.close()
        db.dispose()
