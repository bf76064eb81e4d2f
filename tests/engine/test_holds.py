"""What a case holds: the key a field names, however a teller typed it."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from counter.engine.definition import (
    FieldDefinition,
    FormDefinition,
    HoldDefinition,
    WorkflowDefinition,
)
from counter.engine.holds import MAX_KEY_LENGTH, held, hold_key, hold_problems
from counter.text import Text

TERMINAL = HoldDefinition(
    object="terminal", title=Text(zh="终端", en="Terminal"), form="binding", field="terminal_sn"
)
WORKFLOW = WorkflowDefinition.model_validate(
    {
        "name": "w",
        "title": {"zh": "w", "en": "w"},
        "initial": "start",
        "states": {"start": {"form": "binding"}, "done": {"final": True}},
        "holds": [TERMINAL.model_dump()],
    }
)


@given(st.text(max_size=30))
def test_a_key_is_normalised_once_and_for_all(value: str) -> None:
    key = hold_key(value)
    assert hold_key(key) == key
    assert not any(ch.isspace() for ch in key)


@given(
    st.text(alphabet="abcdefXYZ0123-", min_size=1, max_size=20),
    st.sampled_from([" ", "\u3000", "\t"]),
)
def test_spacing_and_case_make_no_other_key(value: str, space: str) -> None:
    assert hold_key(f"{space}{value.lower()}{space}") == hold_key(value.upper())


def test_full_width_characters_are_the_same_key() -> None:
    assert hold_key("ＳＮ－ＰＡＸ－０００００１") == hold_key("SN-PAX-000001") == "SN-PAX-000001"


def test_a_case_holds_what_its_data_names_and_nothing_before() -> None:
    assert held(WORKFLOW, {}) == {}
    assert held(WORKFLOW, {"binding": {"terminal_sn": "  "}}) == {}
    assert held(WORKFLOW, {"binding": {"terminal_sn": "sn-1 "}}) == {TERMINAL: "SN-1"}


def test_a_field_longer_than_a_key_may_be_cannot_name_an_object() -> None:
    def form(max_length: int | None) -> FormDefinition:
        spec = FieldDefinition(name="terminal_sn", label=Text(zh="终端", en="Terminal"),
                               max_length=max_length)
        return FormDefinition(name="binding", title=Text(zh="b", en="b"), fields=(spec,))

    assert list(hold_problems(WORKFLOW, {"binding": form(None)})) == []
    assert list(hold_problems(WORKFLOW, {"binding": form(MAX_KEY_LENGTH)})) == []
    [(rule, _line, message)] = hold_problems(WORKFLOW, {"binding": form(500)})
    assert rule == "hold_field" and "at most 200" in message.en
