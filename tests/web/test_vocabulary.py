"""Plain language: every identifier of every workflow that staff may see has words in zh and en.

The finding codes and evidence keys are read from the checks' own source
(every ``block(...)``/``approve(...)`` they call), so a new check without
words fails here, not on a teller's screen.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import counter.banking.rules  # registers the checks; its folder is read below
from counter.adapters.acquirer import ExecutionOutcome
from counter.adapters.identity import IdentityOutcome
from counter.config import Settings
from counter.engine.loader import Catalog, Workflow
from counter.engine.registry import default_registry
from counter.text import Text
from counter.web.i18n import catalog
from counter.web.wording import evidence_label, finding_title, trigger_words, value_words

RULES = Path(counter.banking.rules.__file__).parent
FINDING_MAKERS = {"block", "approve"}


def _workflows() -> list[Workflow]:
    settings = Settings()
    loaded = Catalog.load(settings.workflows_dir, settings.forms_dir, default_registry)
    return [loaded.current(name) for name in loaded.names()]


def _raised() -> Iterator[tuple[str, set[str]]]:
    """(finding code, evidence keys) for every finding the banking rules can raise."""
    for path in sorted(RULES.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef):
                continue
            dicts = {
                node.targets[0].id: {
                    k.value for k in node.value.keys if isinstance(k, ast.Constant)
                }
                for node in ast.walk(function)
                if isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Dict)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
            }
            for node in ast.walk(function):
                if not (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id in FINDING_MAKERS
                    and node.args
                    and isinstance(node.args[0], ast.Constant)
                ):
                    continue
                keys: set[str] = set()
                for keyword in node.keywords:
                    if keyword.arg is None and isinstance(keyword.value, ast.Name):
                        keys |= dicts.get(keyword.value.id, set())
                    elif keyword.arg not in (None, "field"):
                        keys.add(keyword.arg)
                yield str(node.args[0].value), keys


RAISED = list(_raised())
WORKFLOWS = _workflows()


def _words(text: Text | None, identifier: str) -> None:
    assert text is not None, identifier
    assert text.zh.strip() and text.en.strip(), identifier
    assert identifier not in (text.zh, text.en), f"{identifier} is shown as itself"


def test_the_checks_were_found() -> None:
    codes = {code for code, _ in RAISED}
    assert {"id_number_check_character", "unbind_code_attempts_exhausted"} <= codes
    assert len(codes) >= 40


@pytest.mark.parametrize("code", sorted({code for code, _ in RAISED}))
def test_every_finding_code_has_a_name(code: str) -> None:
    assert f"finding_code.{code}" in catalog(), code
    _words(finding_title(code), code)


@pytest.mark.parametrize("key", sorted({key for _, keys in RAISED for key in keys}))
def test_every_evidence_key_has_a_label(key: str) -> None:
    assert f"evidence.{key}" in catalog(), key
    _words(evidence_label(key), key)


@pytest.mark.parametrize(
    "key, value",
    [("outcome", str(v)) for v in (*ExecutionOutcome, *IdentityOutcome)]
    + [("status", s) for s in ("active", "risk_flagged", "frozen_judicial", "closed")],
)
def test_outside_systems_outcomes_read_as_words(key: str, value: str) -> None:
    shown = value_words(key, value)
    assert isinstance(shown, Text), (key, value)
    _words(shown, value)


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda w: w.name)
def test_every_state_trigger_and_field_of_every_workflow_has_words(workflow: Workflow) -> None:
    definition = workflow.definition
    _words(definition.title, workflow.name)
    for state in definition.states:
        _words(definition.state_title(state), state)
    triggers = {t.trigger for t in definition.transitions} | {"approve", "reject"}
    for trigger in sorted(triggers):
        declared = any(t.trigger == trigger and t.title for t in definition.transitions)
        assert declared or f"trigger.{trigger}" in catalog(), f"{workflow.name}: {trigger}"
        _words(trigger_words(workflow, trigger), trigger)
    for form in workflow.forms.values():
        _words(form.title, form.name)
        for spec in form.fields:
            _words(spec.label, spec.name)
            for choice in spec.choices:
                _words(choice.label, choice.value)
