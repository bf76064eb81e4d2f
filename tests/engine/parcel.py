"""The test-only parcel-pickup workflow (tests/data/engine) and the names it uses.

Every test gets its own ``Registry`` from ``parcel_registry()``; nothing is
registered in ``counter.engine.registry.default_registry``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from counter.engine import (
    ActionContext,
    Actor,
    CaseSnapshot,
    Catalog,
    Decision,
    Effect,
    Finding,
    Registry,
    Runtime,
    Severity,
    StepContext,
)
from counter.text import Text

DATA = Path(__file__).resolve().parent.parent / "data" / "engine"
WORKFLOWS = DATA / "workflows"
FORMS = DATA / "forms"
BROKEN = Path(__file__).resolve().parent.parent / "data" / "broken"
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
GOOD_CODE = "1234"

TELLER = Actor("tina", frozenset({"teller"}), branch="BJ001")
TELLER2 = Actor("tom", frozenset({"teller"}), branch="BJ001")
SUPERVISOR = Actor("sam", frozenset({"supervisor"}), branch="BJ001")
BOTH = Actor("boss", frozenset({"teller", "supervisor"}), branch="BJ001")
AUDITOR = Actor("ada", frozenset({"auditor"}), branch="BJ001")

IDENTITY = {"id_number": "110105", "recipient_name": "Li Lei", "acting_as": "self"}


def parcel_registry() -> Registry:
    registry = Registry()

    @registry.check("recipient_matches")
    def recipient_matches(ctx: StepContext) -> Iterable[Finding]:
        if str(ctx.form["id_number"]).startswith("000"):
            yield Finding(
                "id_refused",
                Severity.BLOCK,
                Text(zh="证件号码无效", en="ID number refused"),
                field="id_number",
            )
        if ctx.form["recipient_name"] == "Nobody":
            yield Finding(
                "name_mismatch",
                Severity.APPROVE,
                Text(zh="姓名与包裹不符", en="Name does not match the parcel"),
                evidence={"name": "N***"},
            )

    @registry.check("code_matches")
    def code_matches(ctx: StepContext) -> Iterable[Finding]:
        if ctx.form["code"] != GOOD_CODE:
            yield Finding(
                "code_wrong",
                Severity.BLOCK,
                Text(zh="取件码错误", en="Wrong pickup code"),
                field="code",
            )

    @registry.condition("is_proxy")
    def is_proxy(ctx: StepContext) -> bool:
        return ctx.form.get("acting_as") == "proxy"

    @registry.condition("too_many_codes")
    def too_many_codes(ctx: StepContext) -> bool:
        return int(ctx.case.data.get("vars", {}).get("codes_sent", 0)) >= 3

    @registry.action("note_proxy")
    def note_proxy(ctx: ActionContext) -> None:
        ctx.set("proxy", True)

    @registry.action("send_pickup_code")
    def send_pickup_code(ctx: ActionContext) -> None:
        sent = int(ctx.vars.get("codes_sent", 0)) + 1
        ctx.set("codes_sent", sent)
        ctx.emit(Effect("sms.send", {"template": "pickup_code"}, key=str(sent)))

    @registry.action("print_receipt")
    def print_receipt(ctx: ActionContext) -> None:
        ctx.emit(Effect("slip.issue", {"slip": "parcel_receipt"}, key="receipt"))

    @registry.validator("digits_only")
    def digits_only(value: Any, form: Mapping[str, Any]) -> Text | None:
        if str(value).isdigit():
            return None
        return Text(zh="只能填数字", en="digits only")

    return registry


def parcel_runtime(registry: Registry | None = None) -> Runtime:
    registry = registry or parcel_registry()
    return Runtime(Catalog.load(WORKFLOWS, FORMS, registry), registry)


def open_case(runtime: Runtime, reference: str = "T-1") -> CaseSnapshot:
    snapshot, _ = runtime.start(
        "parcel_pickup", reference=reference, actor=TELLER, services=None, now=NOW
    )
    return snapshot


def apply(snapshot: CaseSnapshot, decision: Decision) -> CaseSnapshot:
    """The snapshot after ``decision`` is persisted (what counter.cases does)."""
    return replace(
        snapshot,
        state=decision.dest,
        data=decision.data,
        pending=decision.pending,
        version=snapshot.version + 1,
    )


def fire(
    runtime: Runtime,
    snapshot: CaseSnapshot,
    trigger: str,
    actor: Actor,
    data: Mapping[str, Any] | None = None,
) -> tuple[CaseSnapshot, Decision]:
    decision = runtime.decide(snapshot, trigger, actor, data or {}, services=None, now=NOW)
    return apply(snapshot, decision), decision
