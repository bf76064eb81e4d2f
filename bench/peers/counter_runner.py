"""The same six user tasks through counter: ``Desk`` on SQLite (WAL, ``synchronous=FULL``).

The workflow and forms are under this directory (``unbind_peer``), with
their own registry: the code and password checks, and the card check that
sends every case to the supervisor (the gateway of ``pos_unbind.bpmn``),
which calls the same ``luhn_valid`` the BPMN condition calls.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from sqlmodel import SQLModel

from bench.peers.cases import CODE, PASSWORD, Step
from counter.banking.accounts import luhn_valid
from counter.cases.desk import Desk
from counter.cases.services import Services
from counter.engine import Actor, Catalog, Finding, Registry, Runtime, Severity, StepContext
from counter.store.db import Database
from counter.store.migrate import import_table_modules
from counter.text import Text

__all__ = ["BRANCH", "FORMS", "SUPERVISOR", "TELLER", "WORKFLOW", "WORKFLOWS", "CounterPeer"]

HERE = Path(__file__).resolve().parent
WORKFLOWS = HERE / "workflows"
FORMS = HERE / "forms"
WORKFLOW = "unbind_peer"
BRANCH = "BJ001"
TELLER = Actor("bench_teller", frozenset({"teller"}), branch=BRANCH)
SUPERVISOR = Actor("bench_supervisor", frozenset({"supervisor"}), branch=BRANCH)


def peer_registry() -> Registry:
    """The names ``unbind_peer.yaml`` uses, in a registry of their own."""
    registry = Registry()

    @registry.check("peer_code_matches")
    def code_matches(ctx: StepContext) -> Iterable[Finding]:
        if ctx.form["code"] != CODE:
            yield Finding(
                "code_wrong", Severity.BLOCK, Text(zh="验证码错误", en="Wrong code"), field="code"
            )

    @registry.check("peer_card_checks")
    def card_checks(ctx: StepContext) -> Iterable[Finding]:
        if not luhn_valid(str(ctx.value("peer_binding", "settlement_card", ""))):
            yield Finding(
                "card_check_digit",
                Severity.APPROVE,
                Text(zh="结算卡号校验位不符,请主管核实", en="Card check digit fails: confirm"),
                field="settlement_card",
            )

    @registry.check("peer_password_matches")
    def password_matches(ctx: StepContext) -> Iterable[Finding]:
        if ctx.form["password"] != PASSWORD:
            yield Finding(
                "password_wrong",
                Severity.BLOCK,
                Text(zh="密码错误", en="Wrong password"),
                field="password",
            )

    return registry


def peer_runtime() -> Runtime:
    registry = peer_registry()
    return Runtime(Catalog.load(WORKFLOWS, FORMS, registry), registry)


class CounterPeer:
    """Cases of ``unbind_peer`` through ``Desk``, one transaction per step."""

    def __init__(self, path: Path, *, create: bool = True) -> None:
        self.db = Database(f"sqlite:///{path}")
        if create:
            import_table_modules()
            SQLModel.metadata.create_all(self.db.engine)
        self.desk = Desk(self.db, peer_runtime(), Services(db=self.db))
        self._versions: dict[str, int] = {}

    def close(self) -> None:
        self.db.dispose()

    def open_case(self) -> str:
        view = self.desk.open_case(workflow=WORKFLOW, actor=TELLER)
        self._versions[view.reference] = view.version
        return view.reference

    def complete(self, reference: str, step: Step) -> bool:
        """Fire ``step``'s trigger with its form; returns whether the case is finished."""
        actor = SUPERVISOR if step.role == "supervisor" else TELLER
        view = self.desk.fire(
            reference=reference,
            trigger=step.trigger,
            actor=actor,
            data=step.form,
            version=self._versions[reference],
        )
        if view.final:
            del self._versions[reference]
        else:
            self._versions[reference] = view.version
        return view.final
