"""What a case holds: the business objects its workflow declares under ``holds``.

::

    holds:
      - object: terminal                 # cases of any workflow holding the same object
        title: {zh: 终端, en: Terminal}   # and key exclude each other
        form: pos_binding
        field: terminal_sn               # the key: this field's value, normalised
        release: final                   # (default) given back at a final state; or never

The engine only says *what* a case holds after a step (``held``); taking and
giving back is the service layer's, in the step's own transaction, against a
unique index (``counter.cases.reservations``). ``hold_problems`` is what lint
(and loading with a registry) refuses.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Mapping
from typing import Any

from counter.engine.definition import FormDefinition, HoldDefinition, WorkflowDefinition
from counter.engine.registry import did_you_mean
from counter.text import Text

__all__ = ["HoldProblem", "held", "hold_key", "hold_problems"]

MAX_KEY_LENGTH = 200  # the key column's size; a field left without max_length takes 200
HoldProblem = tuple[str, int | None, Text]
"""(lint rule, line, message)."""


def hold_key(value: Any) -> str:
    """The key of an object as typed: NFKC, no white space, upper case ("" when empty).

    Two spellings a teller might type for one object ("sn-pax 01", "SN-PAX01")
    must not make two keys: the index would then let two cases hold it.
    """
    key = str(value if value is not None else "")
    for _ in range(4):  # upper case can undo NFKC ("ǖ"): go on to the fixed point
        again = "".join(unicodedata.normalize("NFKC", key).upper().split())
        if again == key:
            break
        key = again
    return key


def held(definition: WorkflowDefinition, data: Mapping[str, Any]) -> dict[HoldDefinition, str]:
    """The objects a case with ``data`` names, with their keys (objects not named yet left out)."""
    found: dict[HoldDefinition, str] = {}
    for hold in definition.holds:
        section = data.get(hold.form)
        if isinstance(section, Mapping):
            key = hold_key(section.get(hold.field))
            if key:
                found[hold] = key
    return found


def hold_problems(
    definition: WorkflowDefinition, forms: Mapping[str, FormDefinition]
) -> Iterator[HoldProblem]:
    """Holds that cannot work: a form the workflow never collects, an unknown or secret field,
    an object held twice. Forms missing from ``forms`` are left to the unknown-form rule."""
    collected = definition.form_names()
    seen: set[str] = set()
    for index, hold in enumerate(definition.holds):

        def problem(rule: str, key: str, zh: str, en: str, at: int = index) -> HoldProblem:
            return (rule, definition.line("holds", at, key), Text(zh=zh, en=en))

        if hold.object in seen:
            yield problem(
                "hold_duplicate",
                "object",
                f"对象 '{hold.object}' 已在 holds 中声明过",
                f"object '{hold.object}' is held twice",
            )
        seen.add(hold.object)
        form = forms.get(hold.form)
        spec = form.field(hold.field) if form is not None else None
        if hold.form not in collected:
            hint = did_you_mean(hold.form, collected)
            yield problem(
                "hold_form",
                "form",
                f"holds 引用的表单 '{hold.form}' 不由本流程的任何步骤收集{hint}",
                f"holds names form '{hold.form}', which no step of this workflow collects{hint}",
            )
        elif form is not None and spec is None:
            hint = did_you_mean(hold.field, [f.name for f in form.fields])
            yield problem(
                "hold_field",
                "field",
                f"表单 '{hold.form}' 没有字段 '{hold.field}'{hint}",
                f"form '{hold.form}' has no field '{hold.field}'{hint}",
            )
        elif spec is not None and (spec.max_length or 0) > MAX_KEY_LENGTH:
            yield problem(
                "hold_field",
                "field",
                f"字段 '{hold.field}' 最长 {spec.max_length} 字,"
                f"占用对象的键最长 {MAX_KEY_LENGTH} 字",
                f"field '{hold.field}' takes up to {spec.max_length} characters; "
                f"an object's key is at most {MAX_KEY_LENGTH}",
            )
        elif spec is not None and spec.secret:
            yield problem(
                "hold_field",
                "field",
                f"字段 '{hold.field}' 是保密字段(不保存),不能作为占用对象",
                f"field '{hold.field}' is secret (never stored) and cannot name an object",
            )
