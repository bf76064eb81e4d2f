"""The values that cross the engine's boundary: actors, findings, case snapshots, decisions.

The engine is pure: it takes a ``CaseSnapshot`` and returns a ``Decision``;
``counter.cases`` persists that decision in one transaction. Nothing here
knows about databases, HTTP, slips or outside systems.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from counter.text import Text

__all__ = [
    "ActionContext",
    "Actor",
    "CaseSnapshot",
    "Decision",
    "Effect",
    "Finding",
    "PendingApproval",
    "Severity",
    "StepContext",
    "copy_data",
    "evolve",
]

_Frozen = TypeVar("_Frozen")
_plain_classes: dict[type, bool] = {}


def evolve(obj: _Frozen, **changes: Any) -> _Frozen:
    """``dataclasses.replace`` for the hot path, at a third of the cost.

    ``replace`` calls ``__init__`` again, and a frozen dataclass's ``__init__``
    sets each field through ``object.__setattr__``. For a dataclass whose
    fields are all plain ``__init__`` arguments and which has no
    ``__post_init__`` (checked once per class), copying the fields and
    overwriting the changed ones gives the same object; any other class goes
    through ``replace``.
    """
    cls = type(obj)
    plain = _plain_classes.get(cls)
    if plain is None:
        plain = (
            dataclasses.is_dataclass(cls)
            and not hasattr(cls, "__post_init__")
            and not hasattr(cls, "__slots__")
            and all(f.init for f in dataclasses.fields(cls))
        )
        _plain_classes[cls] = plain
    if not plain:
        return dataclasses.replace(obj, **changes)  # type: ignore[type-var]
    values = dict(vars(obj))
    if not values.keys() >= changes.keys():
        unknown = ", ".join(sorted(changes.keys() - values.keys()))
        raise TypeError(f"{cls.__name__} has no field {unknown}")
    values.update(changes)
    new: _Frozen = object.__new__(cls)
    object.__setattr__(new, "__dict__", values)
    return new


_SCALARS = frozenset({str, int, float, bool, type(None)})


def copy_data(value: Any) -> Any:
    """A deep copy of case data: JSON-shaped (dicts, lists, scalars) as stored.

    Several times cheaper than ``copy.deepcopy`` on such values, which it
    still uses for anything else (a date a check put in, say).
    """
    kind = type(value)
    if kind is dict:
        return {key: copy_data(item) for key, item in value.items()}
    if kind is list:
        return [copy_data(item) for item in value]
    if kind in _SCALARS:
        return value
    return copy.deepcopy(value)


class Severity(StrEnum):
    BLOCK = "block"  # the step cannot go on: correct the input or cancel
    APPROVE = "approve"  # a supervisor may accept it; the case goes to the approval queue


@dataclass(frozen=True)
class Finding:
    """What a check found. ``evidence`` must hold masked values only (it is journaled)."""

    code: str
    severity: Severity
    message: Text
    field: str | None = None
    evidence: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": str(self.severity),
            "message": {"zh": self.message.zh, "en": self.message.en},
            "field": self.field,
            "evidence": dict(self.evidence),
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Finding:
        return cls(
            code=raw["code"],
            severity=Severity(raw["severity"]),
            message=Text(**raw["message"]),
            field=raw.get("field"),
            evidence=dict(raw.get("evidence") or {}),
        )


@dataclass(frozen=True)
class Actor:
    """Who fires a trigger. ``roles`` as granted; ``system`` is the dispatcher and sweeper.

    ``attributes`` is what the sign-in knows of the user beyond roles and
    branch, for checks that need it (``merchant_no`` for a ``merchant``
    user, who may act only for that merchant). The engine never reads it.
    """

    username: str
    roles: frozenset[str]
    branch: str | None = None
    attributes: Mapping[str, str] = dataclasses.field(default_factory=dict, hash=False)

    @classmethod
    def system(cls) -> Actor:
        return cls(username="system", roles=frozenset({"system"}))


@dataclass(frozen=True)
class PendingApproval:
    """Why a case waits in an approval state and where it goes when approved."""

    trigger: str  # the trigger that raised the findings
    source: str  # the state it was fired from
    dest: str  # where the case goes on approval
    raised_by: str  # username; never allowed to approve (four eyes)
    findings: tuple[Finding, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "trigger": self.trigger,
            "source": self.source,
            "dest": self.dest,
            "raised_by": self.raised_by,
            "findings": [f.as_dict() for f in self.findings],
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> PendingApproval:
        return cls(
            trigger=raw["trigger"],
            source=raw["source"],
            dest=raw["dest"],
            raised_by=raw["raised_by"],
            findings=tuple(Finding.from_dict(f) for f in raw["findings"]),
        )


@dataclass(frozen=True)
class CaseSnapshot:
    """A case as stored: enough for the engine to decide the next step.

    ``data`` holds the accepted form values keyed by form name
    (``{"identity": {...}, "binding": {...}}``) and the workflow's own
    variables under ``"vars"``. Fields marked ``secret`` (passwords, codes)
    are never in it.
    """

    reference: str
    workflow: str
    definition_hash: str
    state: str
    version: int
    data: Mapping[str, Any]
    opened_by: str
    branch: str | None = None
    pending: PendingApproval | None = None
    opened_at: datetime | None = None
    channel: str = "counter"  # where the customer is served: counter, online, phone


@dataclass(frozen=True)
class Effect:
    """A message for an outside system, written to the outbox in the trigger's transaction.

    ``kind`` names a registered handler (``sms.send``, ``acquirer.unbind``,
    ``slip.issue``); the dispatcher delivers it after commit with
    ``case reference + kind + key`` as idempotency key, and may fire
    ``on_success``/``on_failure`` triggers on the case with the answer.
    """

    kind: str
    payload: Mapping[str, Any]
    key: str = ""
    on_success: str | None = None
    on_failure: str | None = None


@dataclass
class StepContext:
    """What a check, condition or validator sees while a trigger is being decided.

    ``services`` is whatever the caller passed in (adapters, settings); the
    engine never looks inside it.
    """

    case: CaseSnapshot
    trigger: str
    actor: Actor
    form: Mapping[str, Any]  # the validated values of this step's form, secrets included
    services: Any
    now: datetime

    def value(self, form: str, name: str, default: Any = None) -> Any:
        """A value accepted in an earlier step (or this one, if ``form`` is this step's form)."""
        section = self.case.data.get(form)
        if isinstance(section, Mapping):
            return section.get(name, default)
        return default


@dataclass
class ActionContext(StepContext):
    """What an action sees: it may set workflow variables and emit outbox effects."""

    vars: dict[str, Any] = dataclasses.field(default_factory=dict)
    effects: list[Effect] = dataclasses.field(default_factory=list)

    def set(self, name: str, value: Any) -> None:
        self.vars[name] = value

    def emit(self, effect: Effect) -> None:
        self.effects.append(effect)


@dataclass(frozen=True)
class Decision:
    """The engine's answer to one trigger; persisted as one transaction by ``counter.cases``."""

    trigger: str
    source: str
    dest: str
    data: Mapping[str, Any]  # the case's complete data after the step
    findings: tuple[Finding, ...]
    pending: PendingApproval | None
    effects: tuple[Effect, ...]
    final: bool
    note: str | None = None  # e.g. the reason of a cancel or reject, for the journal
