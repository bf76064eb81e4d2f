"""Random triggers by random actors with random data: the invariants hold whatever happens."""

from __future__ import annotations

from typing import Any

import pytest
from engine.parcel import AUDITOR, BOTH, GOOD_CODE, IDENTITY, SUPERVISOR, TELLER, TELLER2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from counter.cases.desk import Desk
from counter.engine.definition import BUILTIN_TRIGGERS
from counter.engine.types import Actor
from counter.errors import BlockedByFindings, CounterError, PermissionDenied
from counter.store import journal

ACTORS = [TELLER, TELLER2, SUPERVISOR, BOTH, AUDITOR]
TRIGGERS = [
    "submit_identity", "submit_code", "resend_code", "hand_over", "cancel", "approve", "reject",
    "no_such_trigger",
]
PAYLOADS: list[dict[str, Any]] = [
    {},
    IDENTITY,
    {**IDENTITY, "recipient_name": "Nobody"},
    {**IDENTITY, "id_number": "000999"},
    {**IDENTITY, "acting_as": "proxy", "proxy_letter_expiry": "long_term"},
    {"code": GOOD_CODE},
    {"code": "9999"},
    {"signed": "yes"},
    {"reason": "customer left"},
    {"comment": "ok"},
]
steps = st.lists(
    st.tuples(st.sampled_from(ACTORS), st.sampled_from(TRIGGERS), st.sampled_from(PAYLOADS)),
    min_size=1,
    max_size=12,
)


def _roles_for(desk: Desk, definition_hash: str, state: str, trigger: str) -> set[str]:
    workflow = desk.workflow_of(definition_hash).definition
    if trigger in BUILTIN_TRIGGERS and workflow.states[state].approval:
        return set(workflow.states[state].approval_roles)
    roles: set[str] = set()
    for transition in workflow.transitions:
        if transition.trigger == trigger and state in workflow.expand_sources(transition):
            roles |= set(transition.roles)
    return roles


@pytest.mark.postgres
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=steps)
def test_random_walks_keep_the_invariants(
    desk: Desk, steps: list[tuple[Actor, str, dict[str, Any]]]
) -> None:
    case = desk.open_case(workflow="parcel_pickup", actor=TELLER)
    declared = set(desk.workflow_of(case.definition_hash).definition.states)
    for actor, trigger, data in steps:
        before = desk.get(reference=case.reference, actor=TELLER)
        entries = len(desk.journal(reference=case.reference))
        try:
            after = desk.fire(reference=case.reference, trigger=trigger, actor=actor,
                              data=data, version=before.version)
        except CounterError as refused:
            assert desk.get(reference=case.reference, actor=TELLER) == before
            written = desk.journal(reference=case.reference)[entries:]
            # refused by a check, a role or four eyes: one refused entry; otherwise none
            journaled = isinstance(refused, BlockedByFindings | PermissionDenied)
            assert [(e.kind, e.trigger, e.actor) for e in written] == (
                [("refused", trigger, actor.username)] if journaled else []
            )
            continue
        assert after.state in declared
        assert after.version == before.version + 1
        assert actor.roles & _roles_for(desk, case.definition_hash, before.state, trigger)
        case = after
    assert journal.verify(desk.db).ok
