"""One broken workflow per lint rule (tests/data/broken/lint), and a clean one."""

from __future__ import annotations

import pytest

from counter.engine.lint import KNOWN_ROLES, LintIssue, check_directory, lint
from counter.engine.loader import load_workflow
from counter.errors import DefinitionError

from .parcel import BROKEN, FORMS, WORKFLOWS, parcel_registry

LINT = BROKEN / "lint"


def issues(name: str) -> list[LintIssue]:
    workflow = load_workflow(LINT / f"{name}.yaml", FORMS)
    known_forms = [path.stem for path in FORMS.glob("*.yaml")]
    return lint(workflow, parcel_registry(), KNOWN_ROLES, known_forms)


@pytest.mark.parametrize(
    ("name", "rule", "line", "words"),
    [
        ("unreachable", "unreachable", 6, "state 'orphan' cannot be reached"),
        ("no_way_out", "no_way_out", 6, "state 'stuck' is not final but has no way out"),
        ("final_never_reached", "final_never_reached", 7, "'archived' is never reached"),
        ("unknown_name", "unknown_name", 6, "unknown action 'print_reciept'"),
        ("unknown_name", "unknown_name", 12, "did you mean 'is_proxy'"),
        ("unknown_form", "unknown_form", 5, "did you mean 'pickup_identity'"),
        ("unknown_role", "unknown_role", 8, "unknown role 'teler' (did you mean 'teller'?)"),
        ("approval_without_approve", "approval_without_approve", 6, "no role may approve"),
        ("no_review", "no_review", 8, "approvable findings will block"),
        ("holds", "hold_field", 9, "no field 'parcel' (did you mean 'parcels'?)"),
        ("holds", "hold_duplicate", 10, "object 'parcel' is held twice"),
        ("holds", "hold_field", 11, "field 'pin' is secret"),
        ("holds", "hold_form", 12, "form 'handover', which no step of this workflow collects"),
    ],
)
def test_each_rule_finds_its_broken_file(name: str, rule: str, line: int, words: str) -> None:
    found = [i for i in issues(name) if i.rule == rule and i.line == line]
    assert found, issues(name)
    assert any(words in i.message.en for i in found), found
    assert all(i.file == str(LINT / f"{name}.yaml") and i.message.zh for i in found)
    expected = "warning" if rule == "no_review" else "error"
    assert {i.severity for i in found} == {expected}


def test_an_approval_state_nothing_sends_cases_to() -> None:
    wf = load_workflow(LINT / "clean.yaml", FORMS).definition
    transitions = [t.model_copy(update={"checks": ()}) for t in wf.transitions]
    unused = wf.model_copy(update={"transitions": tuple(transitions)})
    unused.locate(wf.file, {"states.review": 6})
    found = [i for i in lint(unused, parcel_registry()) if i.rule == "approval_without_approve"]
    assert [(i.line, i.message.en.split(": ")[-1]) for i in found] == [
        (6, "no transition with checks sends cases here")
    ]


def test_a_hold_that_cannot_work_refuses_to_load_with_a_registry() -> None:
    with pytest.raises(DefinitionError) as refused:
        load_workflow(LINT / "holds.yaml", FORMS, parcel_registry())
    assert (refused.value.file, refused.value.line) == (str(LINT / "holds.yaml"), 9)
    assert "no field 'parcel'" in refused.value.message.en


def test_a_clean_workflow_has_no_issue() -> None:
    assert issues("clean") == []
    assert check_directory(WORKFLOWS, FORMS, parcel_registry()) == []


def test_check_directory_reports_files_that_do_not_load_and_the_rest() -> None:
    found = check_directory(BROKEN / "load", FORMS, parcel_registry())
    loads = {i.file.rsplit("/", 1)[-1] for i in found if i.rule == "load"}
    assert "syntax_error.yaml" in loads and "unknown_state.yaml" in loads
    assert any(i.rule == "unknown_name" and "recipient_matchs" in i.message.en for i in found)
    assert str(found[0]).startswith(found[0].file)
