"""The pure runtime: apply one trigger to one case snapshot and return a ``Decision``.

Nothing is stored or sent here; ``counter.cases`` persists the decision in
one transaction. On any error nothing has changed: the snapshot is never
mutated, and the machine only ever held a throw-away model.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from counter.engine.authority import refusal
from counter.engine.compiler import CaseModel, CompiledWorkflow, Route
from counter.engine.definition import (
    APPROVE,
    BUILTIN_TRIGGERS,
    REJECT,
    FieldDefinition,
    FormDefinition,
)
from counter.engine.forms import validate_form
from counter.engine.loader import Catalog, Workflow
from counter.engine.registry import Registry
from counter.engine.rekey import rekey_findings, rekey_required
from counter.engine.types import (
    ActionContext,
    Actor,
    CaseSnapshot,
    Decision,
    StepContext,
    evolve,
)
from counter.errors import (
    BlockedByFindings,
    FieldError,
    FourEyesViolation,
    InvalidTrigger,
    PermissionDenied,
)
from counter.text import Text

__all__ = ["OPEN", "Runtime"]

OPEN = "open"  # the trigger name of the decision that opens a case (``Runtime.start``)

_BUILTIN_TITLES = {
    APPROVE: Text(zh="批准", en="Approve"),
    REJECT: Text(zh="退回", en="Reject"),
}


class Runtime:
    """Decides triggers for cases of every workflow in ``catalog``; thread-safe."""

    def __init__(self, catalog: Catalog, registry: Registry) -> None:
        self.catalog = catalog
        self.registry = registry
        self._compiled: dict[str, CompiledWorkflow] = {}
        self._lock = threading.Lock()

    def compiled(self, definition_hash: str) -> CompiledWorkflow:
        """The machine of a definition version, compiled on first use and then kept."""
        found = self._compiled.get(definition_hash)
        if found is not None:
            return found
        workflow = self.catalog.get(definition_hash)
        with self._lock:
            found = self._compiled.get(definition_hash)
            if found is None:
                found = CompiledWorkflow(workflow, self.registry)
                self._compiled[definition_hash] = found
            return found

    def workflow(self, snapshot: CaseSnapshot) -> Workflow:
        return self.catalog.get(snapshot.definition_hash)

    def start(
        self,
        workflow: str,
        *,
        reference: str,
        actor: Actor,
        services: Any,
        now: datetime,
        branch: str | None = None,
        channel: str | None = None,
    ) -> tuple[CaseSnapshot, Decision]:
        """A new case of the current version of ``workflow`` at its initial state.

        ``channel`` defaults to the workflow's own.

        The initial state's ``on_enter`` actions run; their variables and
        effects are in the decision (trigger ``open``).
        """
        current = self.catalog.current(workflow)
        definition = current.definition
        self.compiled(current.hash)  # a version that cannot compile fails at open, not later
        snapshot = CaseSnapshot(
            reference=reference,
            workflow=definition.name,
            definition_hash=current.hash,
            state=definition.initial,
            version=0,
            data={"vars": {}},
            opened_by=actor.username,
            branch=branch if branch is not None else actor.branch,
            opened_at=now,
            channel=channel or definition.channel,
        )
        ctx = ActionContext(
            case=snapshot, trigger=OPEN, actor=actor, form={}, services=services, now=now
        )
        for name in definition.states[definition.initial].on_enter:
            self.registry.get_action(name)(ctx)
        decision = Decision(
            trigger=OPEN,
            source=definition.initial,
            dest=definition.initial,
            data={"vars": ctx.vars},
            findings=(),
            pending=None,
            effects=tuple(ctx.effects),
            final=False,
        )
        return evolve(snapshot, data=decision.data), decision

    def _routes(self, snapshot: CaseSnapshot) -> tuple[CompiledWorkflow, dict[str, list[Route]]]:
        compiled = self.compiled(snapshot.definition_hash)
        routes = compiled.routes.get(snapshot.state)
        if routes is None:
            raise InvalidTrigger(
                Text(
                    zh=f"案件 {snapshot.reference} 的状态 '{snapshot.state}' 不在流程中",
                    en=f"case {snapshot.reference} is in state '{snapshot.state}', "
                    "which its workflow does not declare",
                ),
                case=snapshot.reference,
                state=snapshot.state,
            )
        return compiled, routes

    def available_triggers(self, snapshot: CaseSnapshot, actor: Actor) -> list[str]:
        """The triggers ``actor`` may try in the case's state, in declared order.

        Conditions are not evaluated (they may need this step's form), so a
        listed trigger can still be refused.
        """
        compiled, routes = self._routes(snapshot)
        available: list[str] = []
        for trigger, candidates in routes.items():
            if not any(actor.roles & r.roles for r in candidates):
                continue
            if trigger in BUILTIN_TRIGGERS and (
                snapshot.pending is None or _raised_case(snapshot, actor)
            ):
                continue
            if trigger == APPROVE and self._authority_refusal(compiled, snapshot, actor):
                continue
            available.append(trigger)
        return available

    @staticmethod
    def _authority_refusal(
        compiled: CompiledWorkflow, snapshot: CaseSnapshot, actor: Actor
    ) -> Text | None:
        state = compiled.workflow.definition.states[snapshot.state]
        if state.authority is None or snapshot.pending is None:
            return None
        return refusal(state, snapshot.pending.findings, actor)

    def rekey_fields(self, snapshot: CaseSnapshot) -> dict[str, FieldDefinition]:
        """What the approver must re-enter, blind, to approve: approve-form fields by
        the ``form.field`` they re-key."""
        workflow = self.workflow(snapshot)
        state = workflow.definition.states.get(snapshot.state)
        if state is None or not state.approval:
            return {}
        return rekey_required(workflow, state, snapshot.pending)

    def form_for(self, snapshot: CaseSnapshot, trigger: str) -> FormDefinition | None:
        """The form ``trigger`` collects in the case's state (``None``: no fields)."""
        _, routes = self._routes(snapshot)
        candidates = routes.get(trigger)
        if not candidates:
            raise self._invalid(snapshot, trigger)
        return candidates[0].form

    def _invalid(
        self, snapshot: CaseSnapshot, trigger: str, message: Text | None = None
    ) -> InvalidTrigger:
        title = self.workflow(snapshot).definition.state_title(snapshot.state)
        return InvalidTrigger(
            message
            or Text(
                zh=f"在“{title.zh}”状态下不能执行 '{trigger}'",
                en=f"'{trigger}' is not possible in state '{snapshot.state}' ({title.en})",
            ),
            case=snapshot.reference,
            state=snapshot.state,
            trigger=trigger,
        )

    def decide(
        self,
        snapshot: CaseSnapshot,
        trigger: str,
        actor: Actor,
        form_data: Mapping[str, Any],
        *,
        services: Any,
        now: datetime,
    ) -> Decision:
        """Apply ``trigger``: roles, form, checks, then the machine. Raises, changing nothing.

        Errors: ``InvalidTrigger`` (no such trigger here, or no transition's
        conditions hold), ``PermissionDenied`` / ``FourEyesViolation``,
        ``InvalidInput`` (field errors), ``BlockedByFindings``.
        """
        compiled, routes = self._routes(snapshot)
        candidates = routes.get(trigger)
        if not candidates:
            raise self._invalid(snapshot, trigger)
        self._authorize(snapshot, trigger, actor, candidates)
        builtin = trigger in BUILTIN_TRIGGERS and candidates[0].index is None
        if builtin:
            self._check_pending(snapshot, trigger, actor)
            refused = self._authority_refusal(compiled, snapshot, actor)
            if trigger == APPROVE and refused is not None:
                raise PermissionDenied(
                    refused, case=snapshot.reference, trigger=trigger, actor=actor.username
                )
        route = candidates[0]
        form = route.form
        validated = (
            route.fields.validate(form_data)
            if route.fields is not None
            else validate_form(form, form_data, self.registry)
        )
        if builtin and trigger == APPROVE:
            self._check_rekey(compiled, snapshot, validated.values)
        # A new top level only: sections not replaced are shared with the snapshot, which
        # checks and conditions read through ``Mapping`` and never write; the variables,
        # which actions do write, are copied deeply for them (``CaseModel.begin``).
        new_data: dict[str, Any] = dict(snapshot.data)
        if form is not None and not builtin:
            new_data[form.name] = dict(validated.stored)
        new_data["vars"] = new_data.get("vars") or {}
        step = StepContext(
            case=evolve(snapshot, data=new_data),
            trigger=trigger,
            actor=actor,
            form=validated.values,
            services=services,
            now=now,
        )
        model = CaseModel(state=snapshot.state, step=step, new_data=new_data)
        moved = compiled.machine.fire(trigger, model)
        if not moved:
            if any(not actor.roles & r.roles for r in candidates):
                raise self._denied(snapshot, trigger, actor)
            raise self._invalid(
                snapshot,
                trigger,
                Text(
                    zh=f"'{trigger}' 的条件不满足",
                    en=f"the conditions of '{trigger}' do not hold for this case",
                ),
            )
        if model.action_ctx is not None:
            new_data["vars"] = model.action_ctx.vars
        index = model.route_index
        findings = model.findings.get(index, ()) if index is not None else ()
        note = validated.values.get("reason") or validated.values.get("comment")
        return Decision(
            trigger=trigger,
            source=snapshot.state,
            dest=model.state,
            data=new_data,
            findings=findings,
            pending=model.pending,
            effects=model.effects,
            final=compiled.workflow.definition.states[model.state].final,
            note=str(note) if note is not None else None,
        )

    @staticmethod
    def _check_rekey(
        compiled: CompiledWorkflow, snapshot: CaseSnapshot, values: Mapping[str, Any]
    ) -> None:
        """Blind re-keying: refuse the approval when a re-entered value differs or is missing."""
        state = compiled.workflow.definition.states[snapshot.state]
        if not state.rekey:
            return
        blocking = rekey_findings(
            compiled.workflow, state, snapshot.pending, snapshot.data, values
        )
        if blocking:
            raise BlockedByFindings(
                Text(zh="复核录入不一致,不能批准", en="The re-keyed values do not match"),
                findings=blocking,
                fields=[FieldError(f.field, f.code, f.message) for f in blocking if f.field],
                case=snapshot.reference,
            )

    def authorize(self, snapshot: CaseSnapshot, trigger: str, actor: Actor) -> None:
        """Raise ``PermissionDenied`` (or ``FourEyesViolation``) if ``actor`` may not fire
        ``trigger`` on the case whatever the form says; a trigger the state lacks passes
        (``decide`` refuses it)."""
        _, routes = self._routes(snapshot)
        candidates = routes.get(trigger)
        if candidates:
            self._authorize(snapshot, trigger, actor, candidates)

    def _authorize(
        self, snapshot: CaseSnapshot, trigger: str, actor: Actor, candidates: list[Route]
    ) -> None:
        if not any(actor.roles & r.roles for r in candidates):
            raise self._denied(snapshot, trigger, actor)
        builtin = trigger in BUILTIN_TRIGGERS and candidates[0].index is None
        if builtin and snapshot.pending is not None and _raised_case(snapshot, actor):
            self._check_pending(snapshot, trigger, actor)

    def action_title(self, snapshot: CaseSnapshot, trigger: str) -> Text:
        """What ``trigger`` does, in words: its declared title, the built-in's, or its form's."""
        workflow = self.workflow(snapshot)
        definition = workflow.definition
        for transition in definition.transitions:
            if transition.trigger == trigger and transition.title is not None:
                return transition.title
        if trigger in _BUILTIN_TITLES:
            return _BUILTIN_TITLES[trigger]
        for transition in definition.transitions:
            if transition.trigger == trigger:
                sources = definition.expand_sources(transition)
                name = definition.form_of(transition, sources[0]) if sources else None
                if name and name in workflow.forms:
                    return workflow.forms[name].title
        return Text(zh=trigger, en=trigger)

    def _denied(self, snapshot: CaseSnapshot, trigger: str, actor: Actor) -> PermissionDenied:
        title = self.action_title(snapshot, trigger)
        return PermissionDenied(
            Text(
                zh=f"{actor.username} 无权办理“{title.zh}”",
                en=f"{actor.username} may not do this: {title.en}",
            ),
            case=snapshot.reference,
            trigger=trigger,
            actor=actor.username,
        )

    def _check_pending(self, snapshot: CaseSnapshot, trigger: str, actor: Actor) -> None:
        pending = snapshot.pending
        if pending is None:
            raise InvalidTrigger(
                Text(zh="没有待审批的事项", en="nothing is waiting for approval"),
                case=snapshot.reference,
                trigger=trigger,
            )
        if _raised_case(snapshot, actor):
            verb = ("批准", "approve") if trigger == APPROVE else ("退回", "reject")
            raise FourEyesViolation(
                Text(
                    zh=f"不能{verb[0]}自己提交的案件(双人复核)",
                    en=f"you cannot {verb[1]} a case you raised yourself (four eyes)",
                ),
                case=snapshot.reference,
                actor=actor.username,
            )


def _raised_case(snapshot: CaseSnapshot, actor: Actor) -> bool:
    """Four eyes: whoever opened the case or fired the step that raised the findings."""
    assert snapshot.pending is not None
    return actor.username in {snapshot.pending.raised_by, snapshot.opened_by}
