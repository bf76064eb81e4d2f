"""Loading workflow and form files: errors name the file and the line; versions by content hash."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from counter.engine.loader import Catalog, load_workflow
from counter.engine.parsing import parse_form
from counter.engine.registry import Registry
from counter.errors import DefinitionError, NotFound

from .parcel import BROKEN, FORMS, WORKFLOWS, parcel_registry

LOAD = BROKEN / "load"


def load_error(name: str, registry: Registry | None = None) -> DefinitionError:
    with pytest.raises(DefinitionError) as caught:
        load_workflow(LOAD / f"{name}.yaml", FORMS, registry or parcel_registry())
    return caught.value


@pytest.mark.parametrize(
    ("name", "line", "words"),
    [
        ("unknown_key", 10, ["unknown key 'destination'", "did you mean 'dest'"]),
        ("unknown_state", 10, ["unknown state 'delivred'", "did you mean 'delivered'"]),
        ("unknown_check", 14, ["unknown check 'recipient_matchs'", "'recipient_matches'"]),
        ("duplicate_trigger", 13, ["'finish' from 'start'", "line 9", "no conditions"]),
        ("missing_initial", 1, ["missing key 'initial'"]),
        ("syntax_error", 6, ["YAML syntax error"]),
        ("duplicate_key", 7, ["duplicate key 'start'"]),
        ("unknown_form", 6, ["unknown form 'handovr'", "did you mean 'handover'"]),
        ("wrong_name", 1, ["'right_name' must match the file name 'wrong_name'"]),
        ("approval_as_dest", 9, ["approval state 'review'", "use review"]),
        ("bad_type", 7, ["states.done.final", "boolean"]),
        ("bad_state_name", 6, ["states.Done Now", "should match pattern"]),
        ("empty_source", 8, ["transitions.0.source", "at least 1 item"]),
        ("bad_channel", 4, ["channel", "'counter', 'online' or 'phone'"]),
    ],
)
def test_a_broken_file_names_file_line_and_what(name: str, line: int, words: list[str]) -> None:
    error = load_error(name)
    assert error.file == str(LOAD / f"{name}.yaml")
    assert error.line == line
    for word in words:
        assert word in error.message.en
    assert error.message.zh
    assert str(error).startswith(f"{LOAD / name}.yaml:{line}: ")


def test_without_a_registry_unknown_names_are_left_for_lint() -> None:
    workflow = load_workflow(LOAD / "unknown_check.yaml", FORMS, None)
    assert workflow.definition.transitions[0].checks == ("code_matches", "recipient_matchs")


def test_a_form_names_its_own_mistakes(tmp_path: Path) -> None:
    text = (
        "name: broken\n"
        "title: {zh: 坏, en: Broken}\n"
        "fields:\n"
        "  - name: kind\n"
        "    label: {zh: 类型, en: Kind}\n"
        "    type: choice\n"
        "  - name: number\n"
        "    label: {zh: 号码, en: Number}\n"
        "    validators: [digits_onyl]\n"
    )
    with pytest.raises(DefinitionError) as caught:
        parse_form(text, "broken.yaml")
    assert (caught.value.line, caught.value.file) == (4, "broken.yaml")
    assert "needs choices" in caught.value.message.en
    fixed = text.replace("    type: choice\n", "")
    with pytest.raises(DefinitionError) as caught:
        parse_form(fixed, "broken.yaml", parcel_registry())
    assert caught.value.line == 8
    assert "did you mean 'digits_only'" in caught.value.message.en


def test_required_if_must_name_a_field_of_the_form() -> None:
    text = (
        "name: f\ntitle: {zh: 表, en: F}\nfields:\n"
        "  - {name: a, label: {zh: 甲, en: A}, required_if: {acting_az: proxy}}\n"
    )
    with pytest.raises(DefinitionError, match="acting_az"):
        parse_form(text, "f.yaml")


def test_catalog_holds_versions_by_hash_and_the_current_one_by_name() -> None:
    registry = parcel_registry()
    catalog = Catalog.load(WORKFLOWS, FORMS, registry)
    workflow = catalog.current("parcel_pickup")
    assert catalog.names() == ["parcel_pickup"]
    assert catalog.get(workflow.hash) is workflow
    assert workflow.hash in catalog
    assert list(catalog) == [workflow]
    assert set(workflow.forms) == {"pickup_identity", "pickup_code", "handover", "cancel_reason"}
    assert set(workflow.slip_files) == {"parcel_receipt.html.j2", "parcel_receipt.css"}
    with pytest.raises(NotFound, match="did you mean 'parcel_pickup'"):
        catalog.current("parcel_pickp")
    with pytest.raises(NotFound):
        catalog.get("0" * 64)


def copy_data(tmp_path: Path) -> tuple[Path, Path]:
    workflows, forms = tmp_path / "workflows", tmp_path / "forms"
    shutil.copytree(WORKFLOWS, workflows)
    shutil.copytree(FORMS, forms)
    return workflows, forms


@pytest.mark.parametrize(
    "changed",
    ["workflows/parcel_pickup.yaml", "forms/handover.yaml", "forms/slips/parcel_receipt.css"],
)
def test_the_hash_covers_workflow_forms_and_slip_files(tmp_path: Path, changed: str) -> None:
    workflows, forms = copy_data(tmp_path)
    registry = parcel_registry()
    before = Catalog.load(workflows, forms, registry).current("parcel_pickup").hash
    for unrelated in ("other.css", "parcel_receipt_online.html.j2"):
        (forms / "slips" / unrelated).write_text("changed\n", encoding="utf-8")
    assert Catalog.load(workflows, forms, registry).current("parcel_pickup").hash == before
    path = tmp_path / changed
    path.write_text(path.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    assert Catalog.load(workflows, forms, registry).current("parcel_pickup").hash != before


def test_an_old_version_comes_back_from_its_bundle_after_the_files_change(tmp_path: Path) -> None:
    workflows, forms = copy_data(tmp_path)
    registry = parcel_registry()
    old = Catalog.load(workflows, forms, registry).current("parcel_pickup")
    path = workflows / "parcel_pickup.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("包裹领取", "包裹自提"), "utf-8")
    catalog = Catalog.load(workflows, forms, registry)
    assert catalog.current("parcel_pickup").hash != old.hash
    assert old.hash not in catalog
    restored = catalog.add_bundle(old.bundle)
    assert restored.hash == old.hash
    assert catalog.bundle(old.hash) == old.bundle
    assert restored.definition.title.zh == "包裹领取"
    assert restored.definition.model_dump() == old.definition.model_dump()
    assert catalog.current("parcel_pickup").hash != old.hash  # a bundle never becomes current
    assert json.loads(old.bundle)["slips"]["parcel_receipt.css"] == "p { margin: 0; }\n"


def test_a_bundle_that_is_not_canonical_is_refused() -> None:
    registry = parcel_registry()
    old = Catalog.load(WORKFLOWS, FORMS, registry).current("parcel_pickup")
    reordered = json.dumps(json.loads(old.bundle), ensure_ascii=False, indent=1)
    with pytest.raises(DefinitionError, match="not canonical"):
        Catalog().add_bundle(reordered)
    with pytest.raises(DefinitionError, match="unreadable bundle"):
        Catalog().add_bundle("{")
