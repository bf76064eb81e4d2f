"""Workflow versions and the catalog that holds them.

A ``Workflow`` is one definition version: the workflow, the forms it names
and its slip templates, identified by the SHA-256 of a canonical JSON bundle
of their texts. The bundle is what ``counter.cases`` stores, so that a case
keeps its version after the files change (``Catalog.add_bundle``). Parsing
with line numbers is in ``counter.engine.parsing``.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from counter.engine.definition import FormDefinition, WorkflowDefinition
from counter.engine.holds import hold_problems
from counter.engine.parsing import fail, parse_form, parse_workflow
from counter.engine.registry import Registry, did_you_mean
from counter.errors import DefinitionError, NotFound
from counter.text import Text

__all__ = ["BUNDLE_FORMAT", "Catalog", "Workflow", "load_workflow"]

BUNDLE_FORMAT = 1


@dataclass(frozen=True)
class Workflow:
    """One definition version: what a case is pinned to."""

    hash: str
    definition: WorkflowDefinition
    forms: Mapping[str, FormDefinition]
    slip_files: Mapping[str, str]  # file name -> text: forms/slips/<slip>.html.j2 and .css
    bundle: str  # canonical JSON of every source text; its SHA-256 is ``hash``

    @property
    def name(self) -> str:
        return self.definition.name


def _form_paths(wf: WorkflowDefinition) -> Iterator[tuple[str, tuple[str | int, ...]]]:
    for name, state in wf.states.items():
        if state.form:
            yield state.form, ("states", name, "form")
    for index, t in enumerate(wf.transitions):
        if t.form:
            yield t.form, ("transitions", index, "form")



def _canonical(payload: Mapping[str, Any]) -> str:
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _build(
    workflow_text: str,
    workflow_file: str,
    form_texts: Mapping[str, tuple[str, str]],
    slip_files: Mapping[str, str],
    registry: Registry | None,
    *,
    expected_name: str | None,
    require_forms: bool,
) -> Workflow:
    wf = parse_workflow(workflow_text, workflow_file, registry, expected_name=expected_name)
    forms: dict[str, FormDefinition] = {}
    texts: dict[str, dict[str, str]] = {}
    for name, path in _form_paths(wf):
        if name in forms:
            continue
        if name not in form_texts:
            if not require_forms:
                continue
            hint = did_you_mean(name, form_texts)
            raise fail(
                workflow_file,
                wf.line(*path),
                f"未知表单 '{name}'{hint}",
                f"unknown form '{name}'{hint}",
            )
        form_file, text = form_texts[name]
        form = parse_form(text, form_file, registry)
        if form.name != name:
            raise fail(
                form_file,
                form.line("name"),
                f"表单名 '{form.name}' 必须是 '{name}'",
                f"form name '{form.name}' must be '{name}'",
            )
        forms[name] = form
        texts[name] = {"file": Path(form_file).name, "text": text}
    if require_forms:
        for _rule, line, message in hold_problems(wf, forms):
            raise DefinitionError(message, file=workflow_file, line=line)
    bundle = _canonical(
        {
            "format": BUNDLE_FORMAT,
            "workflow": {"file": Path(workflow_file).name, "text": workflow_text},
            "forms": texts,
            "slips": dict(slip_files),
        }
    )
    digest = hashlib.sha256(bundle.encode("utf-8")).hexdigest()
    return Workflow(
        hash=digest, definition=wf, forms=forms, slip_files=dict(slip_files), bundle=bundle
    )


def _disk_forms(forms_dir: Path) -> dict[str, tuple[str, str]]:
    if not forms_dir.is_dir():
        return {}
    return {
        path.stem: (str(path), path.read_text(encoding="utf-8"))
        for path in sorted(forms_dir.glob("*.yaml"))
    }


def _slip_files(forms_dir: Path, slip: str | None) -> dict[str, str]:
    if slip is None:
        return {}
    slips = forms_dir / "slips"
    # Exactly this slip's files (``pos_unbind.html.j2``, ``pos_unbind.css``), not
    # another slip whose name merely starts the same (``pos_unbind_online``).
    found = sorted(
        path for path in slips.glob(f"{slip}.*") if path.suffix in {".j2", ".css"}
    )
    return {path.name: path.read_text(encoding="utf-8") for path in found}


def load_workflow(path: Path, forms_dir: Path, registry: Registry | None = None) -> Workflow:
    """Load one workflow file and its forms.

    With a registry, every named check, condition, action and validator must
    exist and every form must be found; without one (for ``lint``), unknown
    names and missing forms are left for lint to report.
    """
    text = path.read_text(encoding="utf-8")
    raw_slip = _peek_slip(text)
    return _build(
        text,
        str(path),
        _disk_forms(forms_dir),
        _slip_files(forms_dir, raw_slip),
        registry,
        expected_name=path.stem,
        require_forms=registry is not None,
    )


def _peek_slip(text: str) -> str | None:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError:
        return None  # _build reports it with its line
    slip = raw.get("slip") if isinstance(raw, Mapping) else None
    return slip if isinstance(slip, str) and slip.isidentifier() else None


class Catalog:
    """Definition versions by content hash, and the current version of each workflow by name."""

    def __init__(self) -> None:
        self._by_hash: dict[str, Workflow] = {}
        self._current: dict[str, str] = {}
        self._lock = threading.Lock()

    @classmethod
    def load(cls, workflows_dir: Path, forms_dir: Path, registry: Registry) -> Catalog:
        """Every ``*.yaml`` in ``workflows_dir``; the first broken file raises."""
        catalog = cls()
        for path in sorted(Path(workflows_dir).glob("*.yaml")):
            catalog.add(load_workflow(path, Path(forms_dir), registry))
        return catalog

    def add(self, workflow: Workflow, *, current: bool = True) -> Workflow:
        with self._lock:
            known = self._by_hash.setdefault(workflow.hash, workflow)
            if current:
                self._current[workflow.name] = workflow.hash
            return known

    def add_bundle(self, text: str) -> Workflow:
        """Bring back a stored version (not made current). Its hash must match its text."""
        try:
            raw = json.loads(text)
            workflow_part = raw["workflow"]
            forms = {
                name: (part["file"], part["text"]) for name, part in raw.get("forms", {}).items()
            }
            slips = {str(k): str(v) for k, v in raw.get("slips", {}).items()}
            if raw.get("format") != BUNDLE_FORMAT:
                raise ValueError(f"bundle format {raw.get('format')!r}")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise fail(
                "<bundle>", None, f"定义包无法读取:{exc}", f"unreadable bundle: {exc}"
            ) from None
        workflow = _build(
            workflow_part["text"],
            workflow_part["file"],
            forms,
            slips,
            None,
            expected_name=None,
            require_forms=True,
        )
        if workflow.bundle != text:
            hashed = hashlib.sha256(text.encode("utf-8")).hexdigest()
            raise fail(
                workflow_part["file"],
                None,
                f"定义包不是规范格式(哈希 {hashed[:12]} 对不上)",
                f"the bundle is not canonical (hash {hashed[:12]} does not match its content)",
            )
        return self.add(workflow, current=False)

    def get(self, definition_hash: str) -> Workflow:
        try:
            return self._by_hash[definition_hash]
        except KeyError:
            raise NotFound(
                Text(
                    zh=f"找不到流程定义版本 {definition_hash[:12]}",
                    en=f"no workflow definition with hash {definition_hash[:12]}",
                ),
                definition_hash=definition_hash,
            ) from None

    def current(self, name: str) -> Workflow:
        digest = self._current.get(name)
        if digest is None:
            hint = did_you_mean(name, self._current)
            raise NotFound(
                Text(zh=f"没有流程 '{name}'{hint}", en=f"no workflow '{name}'{hint}"), workflow=name
            )
        return self._by_hash[digest]

    def bundle(self, definition_hash: str) -> str:
        return self.get(definition_hash).bundle

    def names(self) -> list[str]:
        return sorted(self._current)

    def __contains__(self, definition_hash: object) -> bool:
        return definition_hash in self._by_hash

    def __iter__(self) -> Iterator[Workflow]:
        """The current version of every workflow, by name."""
        return iter([self._by_hash[self._current[name]] for name in self.names()])

    def __len__(self) -> int:
        return len(self._current)
