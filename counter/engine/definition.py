"""Workflow and form definitions: the frozen models a YAML file becomes.

These models check the *shape* of a file (keys, types, names). Whether the
names point somewhere (states, forms, registered checks) is checked by
``counter.engine.loader`` because only it knows the lines to blame.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, StringConstraints, model_validator

from counter.text import Text

__all__ = [
    "ANY_STATE",
    "APPROVE",
    "BUILTIN_TRIGGERS",
    "MIN_NAME_LENGTH",
    "REJECT",
    "AuthorityDefinition",
    "Choice",
    "Edge",
    "FieldDefinition",
    "FieldType",
    "FormDefinition",
    "HoldDefinition",
    "MigrationDefinition",
    "PiiClass",
    "PostReviewDefinition",
    "RekeyField",
    "RequiredField",
    "StateDefinition",
    "TransitionDefinition",
    "WorkflowDefinition",
]

ANY_STATE = "*"  # as a transition source: every non-final state
APPROVE = "approve"
REJECT = "reject"
BUILTIN_TRIGGERS = frozenset({APPROVE, REJECT})
DEFAULT_APPROVAL_ROLES = ("supervisor",)
NEEDS_APPROVAL = "needs_approval"  # the condition of the branch that approvable findings take

Name = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
FieldType = Literal[
    "text", "choice", "date", "date_or_long_term", "integer", "money_cents", "password", "code"
]
PiiClass = Literal["id", "card", "account", "phone", "name", "text", "none"]
Channel = Literal["counter", "online", "phone"]
"""Where a customer is served: at a branch counter, online, or on the phone."""
Scalar = str | int | bool
MIN_NAME_LENGTH = 50
"""Name fields hold at least this many characters (民委发〔2016〕33号, for minority names)."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _Located(_Frozen):
    """A top-level definition that remembers its file and the line of every key."""

    _file: str = PrivateAttr(default="")
    _lines: Mapping[str, int] = PrivateAttr(default_factory=dict)

    @property
    def file(self) -> str:
        return self._file

    def line(self, *path: str | int) -> int | None:
        """The line of ``path`` (``"states", "review", "roles"``), or of its nearest parent."""
        parts = [str(p) for p in path]
        while True:
            found = self._lines.get(".".join(parts))
            if found is not None or not parts:
                return found
            parts.pop()

    def locate(self, file: str, lines: Mapping[str, int]) -> None:
        """Record where the definition came from (the loader calls this once)."""
        self._file = file
        self._lines = dict(lines)


# --- forms -----------------------------------------------------------------


class Choice(_Frozen):
    value: str
    label: Text


class FieldDefinition(_Frozen):
    """One input field of a form."""

    name: Name
    label: Text
    type: FieldType = "text"
    required: bool = False
    required_if: dict[str, Scalar | list[Scalar]] | None = None
    # Shown (and filled in) only when another field has this value; ``required_if``
    # implies it. Pages hide the field otherwise; the form's checks still decide.
    shown_if: dict[str, Scalar | list[Scalar]] | None = None
    max_length: int | None = Field(default=None, gt=0, le=10_000)
    choices: tuple[Choice, ...] = ()
    validators: tuple[str, ...] = ()
    pii: PiiClass = "none"
    secret: bool = False
    multiline: bool = False
    """Line breaks and tabs are allowed (a reason, a comment); elsewhere they are refused."""
    help: Text | None = None

    @model_validator(mode="after")
    def _names_fit(self) -> FieldDefinition:
        if self.pii == "name" and self.max_length is not None and (
            self.max_length < MIN_NAME_LENGTH
        ):
            raise ValueError(
                f"a name field holds at least {MIN_NAME_LENGTH} characters"
                f" (max_length {self.max_length} is too short for minority names)"
            )
        return self


class FormDefinition(_Located):
    """What one step collects (``forms/<name>.yaml``)."""

    name: Name
    title: Text
    fields: tuple[FieldDefinition, ...] = ()

    def field(self, name: str) -> FieldDefinition | None:
        return next((f for f in self.fields if f.name == name), None)


# --- workflows -------------------------------------------------------------


class Edge(NamedTuple):
    """One way from one state to another, for lint and diagrams."""

    trigger: str
    source: str
    dest: str
    conditions: tuple[str, ...] = ()
    transition: int | None = None  # index of the declared transition; None: approve/reject


FieldPath = Annotated[
    str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$", max_length=129)
]
"""A form's field as ``form.field`` (``pos_binding.settlement_account``)."""


class RekeyField(_Frozen):
    """A field the approver re-enters without seeing it (blind re-keying)."""

    field: FieldPath
    when: tuple[str, ...] = ()  # finding codes that ask for it; none: always


class AuthorityDefinition(_Frozen):
    """Who may approve what in an approval state (tiered authority).

    ``levels`` are roles, lowest first: a higher level may approve whatever
    a lower one may. A finding named in ``findings`` needs at least that
    level; any other finding, the lowest. ``remote`` roles (a remote
    authorization centre) approve at any level for every branch. After
    ``escalate_after_minutes`` an approval still waiting escalates one
    level up (from the top level, to the remote centre).
    """

    levels: tuple[Name, ...] = Field(min_length=1)
    findings: dict[Name, Name] = {}
    remote: tuple[Name, ...] = ()
    escalate_after_minutes: int | None = Field(default=None, gt=0, le=7 * 24 * 60)


class StateDefinition(_Frozen):
    """One state. ``approval`` states own the built-in ``approve``/``reject`` triggers."""

    title: Text | None = None
    form: Name | None = None
    approval: bool = False
    roles: tuple[str, ...] | None = None
    reject_to: str | None = None
    final: bool = False
    on_enter: tuple[str, ...] = ()
    rekey: tuple[RekeyField, ...] = ()  # approval states: what the approver re-enters blind
    authority: AuthorityDefinition | None = None  # approval states: levels, remote centre

    @property
    def approval_roles(self) -> tuple[str, ...]:
        return self.roles if self.roles is not None else DEFAULT_APPROVAL_ROLES


class TransitionDefinition(_Frozen):
    """One trigger from one or more states to a destination."""

    trigger: Name
    source: str | Annotated[tuple[str, ...], Field(min_length=1)]
    dest: str
    roles: tuple[str, ...] = Field(min_length=1)
    title: Text | None = None
    form: Name | None = None
    checks: tuple[str, ...] = ()
    conditions: tuple[str, ...] = ()
    unless: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    review: str | None = None

    @property
    def sources(self) -> tuple[str, ...]:
        """The sources as written (``("*",)`` for every non-final state)."""
        return (self.source,) if isinstance(self.source, str) else self.source


class HoldDefinition(_Frozen):
    """A business object a case holds while it is open (``counter.engine.holds``).

    No two open cases hold the same ``object`` with the same key, whatever
    their workflows: the key is the value of ``field`` in ``form``, taken
    when a step collects it. ``release``: ``final`` gives the object back
    when the case reaches a final state; ``never`` keeps it taken for good
    (a referral is picked up once).
    """

    object: Name
    title: Text  # how a teller calls the object, in the message that names its case
    form: Name
    field: Name
    release: Literal["final", "never"] = "final"
class RequiredField(_Frozen):
    """A field this version requires that earlier versions did not collect."""

    field: FieldPath
    back_to: str | None = None  # the state that collects it (default: the one with its form)


class MigrationDefinition(_Frozen):
    """How running cases of earlier versions move to this one (``counter cases migrate``).

    ``states`` maps an old state to its new name (a state not named keeps
    its name); ``renamed`` moves a value from one field to another;
    ``required`` sends a case that has passed the step collecting a new
    required field back to it; cases in a ``stay`` state do not move.
    """

    states: dict[Name, Name] = {}
    renamed: dict[FieldPath, FieldPath] = {}
    required: tuple[RequiredField, ...] = ()
    stay: dict[Name, Text] = {}  # old state -> why its cases stay on their version


class PostReviewDefinition(_Frozen):
    """Post-transaction review (事后监督): which closed cases the back office reviews.

    ``share`` of the cases closed per branch and day in one of ``states``
    (every final state if none are named) is drawn, reproducibly, plus every
    case whose findings a supervisor approved.
    """

    share: float = Field(ge=0, le=1)
    states: tuple[Name, ...] = ()


class WorkflowDefinition(_Located):
    """A whole workflow file (``workflows/<name>.yaml``)."""

    name: Name
    title: Text
    initial: str
    slip: Name | None = None
    channel: Channel = "counter"  # recorded on every case
    states: dict[Name, StateDefinition] = Field(min_length=1)
    transitions: tuple[TransitionDefinition, ...] = ()
    holds: tuple[HoldDefinition, ...] = ()
    migration: MigrationDefinition | None = None
    post_review: PostReviewDefinition | None = None

    def state_title(self, state: str) -> Text:
        title = self.states[state].title
        return title if title is not None else Text(zh=state, en=state)

    def open_states(self) -> list[str]:
        return [name for name, s in self.states.items() if not s.final]

    def approval_states(self) -> list[str]:
        return [name for name, s in self.states.items() if s.approval]

    def opening_roles(self) -> frozenset[str]:
        """Who may open a case: whoever may fire a transition from its initial state."""
        return frozenset(
            role
            for t in self.transitions
            if self.initial in self.expand_sources(t)
            for role in t.roles
        )

    def expand_sources(self, transition: TransitionDefinition) -> list[str]:
        """The states a transition leaves from, ``*`` expanded to every non-final state."""
        if transition.sources == (ANY_STATE,):
            return self.open_states()
        return list(transition.sources)

    def form_of(self, transition: TransitionDefinition, source: str) -> str | None:
        """The form a transition collects: its own, else the source state's.

        ``form: null`` written out means "no form", even where the state has one.
        """
        if transition.form is not None or "form" in transition.model_fields_set:
            return transition.form
        state = self.states.get(source)
        return state.form if state is not None else None

    def review_of(self, transition: TransitionDefinition) -> str | None:
        """Where approvable findings send the case: ``review``, else the only approval state."""
        if transition.review is not None:
            return transition.review
        approvals = self.approval_states()
        return approvals[0] if len(approvals) == 1 else None

    def form_names(self) -> list[str]:
        names: list[str] = []
        for state in self.states.values():
            if state.form and state.form not in names:
                names.append(state.form)
        for transition in self.transitions:
            if transition.form and transition.form not in names:
                names.append(transition.form)
        return names

    def names_used(self) -> dict[str, list[tuple[str, tuple[str | int, ...]]]]:
        """Every registered name this workflow uses, by kind, with the path naming it."""
        used: dict[str, list[tuple[str, tuple[str | int, ...]]]] = {
            "check": [],
            "condition": [],
            "action": [],
        }
        for state_name, state in self.states.items():
            for i, name in enumerate(state.on_enter):
                used["action"].append((name, ("states", state_name, "on_enter", i)))
        for t_index, t in enumerate(self.transitions):
            for key, kind in (
                ("checks", "check"),
                ("conditions", "condition"),
                ("unless", "condition"),
                ("after", "action"),
            ):
                names: tuple[str, ...] = getattr(t, key)
                for i, name in enumerate(names):
                    used[kind].append((name, ("transitions", t_index, key, i)))
        return used

    def _reviewed_into(self, state: str) -> list[TransitionDefinition]:
        return [t for t in self.transitions if t.checks and self.review_of(t) == state]

    def approve_dests(self, state: str) -> list[str]:
        """Where ``approve`` can take a case waiting in approval state ``state``."""
        return list(dict.fromkeys(t.dest for t in self._reviewed_into(state)))

    def reject_dests(self, state: str) -> list[str]:
        """Where ``reject`` can take it: ``reject_to``, else back to where it came from."""
        reject_to = self.states[state].reject_to
        if reject_to is not None:
            return [reject_to]
        sources = (s for t in self._reviewed_into(state) for s in self.expand_sources(t))
        return list(dict.fromkeys(sources))

    def edges(self) -> list[Edge]:
        """Every way between states, branches to review states and approve/reject included."""
        found: list[Edge] = []
        for index, t in enumerate(self.transitions):
            conditions = (*t.conditions, *(f"not {u}" for u in t.unless))
            review = self.review_of(t)
            for source in self.expand_sources(t):
                found.append(Edge(t.trigger, source, t.dest, conditions, index))
                if t.checks and review is not None:
                    found.append(
                        Edge(t.trigger, source, review, (*conditions, NEEDS_APPROVAL), index)
                    )
        for state in self.approval_states():
            found += [Edge(APPROVE, state, dest) for dest in self.approve_dests(state)]
            found += [Edge(REJECT, state, dest) for dest in self.reject_dests(state)]
        return found
