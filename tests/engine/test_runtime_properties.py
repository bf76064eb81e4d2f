"""Property: random triggers by random actors with random data never break the rules.

Every state reached is declared, a trigger only ever succeeds for an actor
holding a role it lists, four eyes always holds, and a refused trigger
changes nothing.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from counter.engine import Actor, CaseSnapshot
from counter.engine.definition import APPROVE, BUILTIN_TRIGGERS, REJECT
from counter.errors import CounterError, FourEyesViolation

from .parcel import (
    AUDITOR,
    BOTH,
    GOOD_CODE,
    IDENTITY,
    NOW,
    SUPERVISOR,
    TELLER,
    TELLER2,
    apply,
    open_case,
    parcel_runtime,
)

RUNTIME = parcel_runtime()
DEFINITION = RUNTIME.catalog.current("parcel_pickup").definition
TRIGGERS = sorted({t.trigger for t in DEFINITION.transitions} | BUILTIN_TRIGGERS | {"nope"})
ACTORS = [TELLER, TELLER2, SUPERVISOR, BOTH, AUDITOR, Actor.system()]

DATA: list[dict[str, Any]] = [
    {},
    IDENTITY,
    dict(IDENTITY, recipient_name="Nobody"),
    dict(IDENTITY, id_number="000111"),
    dict(IDENTITY, acting_as="proxy", proxy_letter_expiry="long_term"),
    {"code": GOOD_CODE},
    {"code": "9999"},
    {"signed": "yes"},
    {"reason": "customer left"},
    {"comment": "fine"},
]
noise = st.dictionaries(
    st.sampled_from(["code", "reason", "signed", "id_number", "x"]),
    st.one_of(st.text(max_size=8), st.integers(), st.none()),
    max_size=3,
)
anything = st.tuples(
    st.sampled_from(TRIGGERS), st.sampled_from(ACTORS), st.one_of(st.sampled_from(DATA), noise)
)
# mostly moves a teller or supervisor would make, so that deep states are reached too
FITTING: dict[str, list[dict[str, Any]]] = {
    "submit_identity": DATA[1:5],
    "submit_code": [{"code": GOOD_CODE}, {"code": "9999"}],
    "hand_over": [{"signed": "yes"}],
    "cancel": [{"reason": "customer left"}],
    "approve": [{}, {"comment": "fine"}],
    "reject": [{"reason": "no"}],
}
WEIGHTED = [
    *["submit_identity"] * 3,
    *["submit_code"] * 3,
    *["hand_over", "approve"] * 2,
    *["resend_code", "reject", "cancel"],
]
plausible = st.sampled_from(WEIGHTED).flatmap(
    lambda trigger: st.tuples(
        st.just(trigger),
        st.sampled_from([TELLER, SUPERVISOR, BOTH]),
        st.sampled_from(FITTING.get(trigger, [{}])),
    )
)
steps = st.lists(st.one_of(plausible, plausible, plausible, anything), max_size=40)


def roles_listed(state: str, trigger: str) -> set[str]:
    if trigger in (APPROVE, REJECT) and DEFINITION.states[state].approval:
        return set(DEFINITION.states[state].approval_roles)
    listed: set[str] = set()
    for transition in DEFINITION.transitions:
        if transition.trigger == trigger and state in DEFINITION.expand_sources(transition):
            listed |= set(transition.roles)
    return listed


@settings(max_examples=300, deadline=None)
@given(steps)
def test_random_steps_keep_the_rules(script: list[tuple[str, Actor, dict[str, Any]]]) -> None:
    case: CaseSnapshot = open_case(RUNTIME)
    for trigger, actor, data in script:
        before = copy.deepcopy(case)
        try:
            decision = RUNTIME.decide(case, trigger, actor, data, services=None, now=NOW)
        except FourEyesViolation:
            assert case.pending is not None and case.pending.raised_by == actor.username
            continue
        except CounterError:
            assert case == before
            continue
        assert decision.source == case.state
        assert decision.dest in DEFINITION.states
        assert actor.roles & roles_listed(case.state, trigger)
        assert decision.final == DEFINITION.states[decision.dest].final
        if trigger in BUILTIN_TRIGGERS:
            assert case.pending is not None and case.pending.raised_by != actor.username
        if decision.pending is not None:
            assert DEFINITION.states[decision.dest].approval
            assert decision.pending.raised_by == actor.username
        assert "code" not in decision.data.get("pickup_code", {})
        case = apply(case, decision)
        if decision.final:
            assert RUNTIME.available_triggers(case, BOTH) == []
    assert RUNTIME.compiled(case.definition_hash).machine.models == []
