"""The ``migration:`` key of a workflow file: parsed with lines, linted against an old version."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from counter.engine.loader import Workflow, load_workflow
from counter.engine.migration import migration_issues, plan_case
from counter.errors import DefinitionError

from .parcel import FORMS, WORKFLOWS, open_case, parcel_registry, parcel_runtime

ORIGINAL = (WORKFLOWS / "parcel_pickup.yaml").read_text(encoding="utf-8")


def _version(tmp_path: Path, text: str) -> Workflow:
    folder = tmp_path / "workflows"
    folder.mkdir(exist_ok=True)
    path = folder / "parcel_pickup.yaml"
    path.write_text(text, encoding="utf-8")
    return load_workflow(path, FORMS, parcel_registry())


def _old() -> Workflow:
    return load_workflow(WORKFLOWS / "parcel_pickup.yaml", FORMS, parcel_registry())


def _renamed(text: str = ORIGINAL) -> str:
    for old, new in (("verify_code:", "check_code:"), ("source: verify_code", "source: check_code"),
                     ("dest: verify_code", "dest: check_code")):
        text = text.replace(old, new)
    return text


@pytest.mark.parametrize(
    ("migration", "line_of", "message"),
    [
        ("migration:\n  states: {identify: nowhere}\n", "states", "unknown state 'nowhere'"),
        ("migration:\n  states: {identify: delivered}\n", "states", "final state 'delivered'"),
        (
            "migration:\n  states: {identify: identify}\n  stay:\n"
            "    identify: {zh: 不动, en: stays}\n",
            "identify: {zh",
            "cannot both move",
        ),
        (
            "migration:\n  required:\n    - field: cancel_reason.reason\n",
            "field: cancel_reason",
            "name the state in back_to",
        ),
        ("migration:\n  renamed: {identity: x}\n", "renamed", "invalid value"),
    ],
)
def test_a_broken_map_names_file_and_line(
    tmp_path: Path, migration: str, line_of: str, message: str
) -> None:
    text = ORIGINAL + migration
    with pytest.raises(DefinitionError) as caught:
        _version(tmp_path, text)
    lines = text.splitlines()
    expected = next(i for i, line in enumerate(lines, 1) if line_of in line and i > 60)
    assert caught.value.line == expected
    assert caught.value.file is not None and caught.value.file.endswith("parcel_pickup.yaml")
    assert message in caught.value.message.en


def test_lint_finds_a_running_state_left_without_destination(tmp_path: Path) -> None:
    new = _version(tmp_path, _renamed())
    issues = migration_issues(_old(), new)
    assert [(i.rule, i.severity) for i in issues] == [("migration_no_destination", "error")]
    assert "verify_code" in issues[0].message.en
    mapped = _version(tmp_path, _renamed() + "migration:\n  states: {verify_code: check_code}\n")
    assert migration_issues(_old(), mapped) == []


def test_lint_finds_states_the_old_version_lacks_and_approval_mismatches(
    tmp_path: Path,
) -> None:
    text = _renamed() + (
        "migration:\n  states:\n    verify_code: check_code\n    ghost: identify\n"
        "    supervisor_review: supervisor_review\n"
    )
    text = text.replace("migration:\n", "migration:\n  stay:\n    phantom: {zh: 无, en: none}\n")
    new = _version(tmp_path, text)
    rules = sorted(i.rule for i in migration_issues(_old(), new))
    assert rules == ["migration_unknown_state", "migration_unknown_state"]
    swapped = _version(
        tmp_path, _renamed() + "migration:\n  states: {verify_code: check_code, hand_over: "
        "supervisor_review}\n"
    )
    assert [i.rule for i in migration_issues(_old(), swapped)] == ["migration_approval"]


def test_lint_wants_every_new_required_field_declared(tmp_path: Path) -> None:
    forms = tmp_path / "forms"
    shutil.copytree(FORMS, forms)
    identity = forms / "pickup_identity.yaml"
    identity.write_text(
        identity.read_text(encoding="utf-8")
        + "  - name: recipient_phone\n    label: {zh: 电话, en: Phone}\n    required: true\n",
        encoding="utf-8",
    )
    folder = tmp_path / "workflows"
    folder.mkdir()
    path = folder / "parcel_pickup.yaml"
    path.write_text(ORIGINAL, encoding="utf-8")
    new = load_workflow(path, forms, parcel_registry())
    issues = migration_issues(_old(), new)
    assert [i.rule for i in issues] == ["migration_required"]
    assert "pickup_identity.recipient_phone" in issues[0].message.en
    path.write_text(
        ORIGINAL + "migration:\n  required:\n    - field: pickup_identity.recipient_phone\n",
        encoding="utf-8",
    )
    declared = load_workflow(path, forms, parcel_registry())
    assert migration_issues(_old(), declared) == []
    runtime = parcel_runtime()
    case = open_case(runtime)
    move = plan_case(_old(), declared, case)
    assert (move.outcome, move.to_state, move.back_for) == ("move", "identify", None)

