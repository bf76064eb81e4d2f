# mypy: disable-error-code="import-untyped"
"""A small counter application built on SpiffWorkflow 3, as a team would write one.

Each case is a ``BpmnWorkflow`` of ``pos_unbind.bpmn`` (parsed once with
SpiffWorkflow's ``BpmnParser``). Completing a user task is one request:
load the case's serialization from SQLite, restore it with
``BpmnWorkflowSerializer``, put the form values into the task, run it and the
engine steps after it (the exclusive gateway), serialize it and write it back
in one durable transaction (WAL, ``synchronous=FULL``), with the same
compare-and-set on a version number that counter uses.

Three ways of storing, all measured (``STORAGES``):

- ``whole``: ``BpmnWorkflowSerializer().serialize_json(workflow)`` as it
  comes, the spec inside every case row (what the library does by default);
- ``spec_apart``: the process spec stored once and each case row holding
  only its task tree and data, as SpiffWorkflow's serialization guide
  suggests (the fastest storage its documentation describes);
- ``resident``: ``spec_apart``, and the workflow object also kept in memory
  between steps, so that a step only serializes and writes: the peer's best
  case, for one process that never restarts.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.parser import BpmnParser
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.serializer import DEFAULT_CONFIG, BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import (
    BpmnWorkflowConverter,
    WorkflowConverter,
)
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from bench.peers.cases import CODE, PASSWORD, SECRET_FIELDS, Step
from counter.banking.accounts import luhn_valid

__all__ = ["BPMN", "PROCESS_ID", "STORAGES", "SpiffCounter", "spiff_version"]

BPMN = Path(__file__).resolve().parent / "pos_unbind.bpmn"
PROCESS_ID = "pos_unbind"
STORAGES = ("whole", "spec_apart", "resident")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS spiff_spec (
    name TEXT PRIMARY KEY,
    serialization TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS spiff_case (
    id INTEGER PRIMARY KEY,
    spec TEXT NOT NULL REFERENCES spiff_spec(name),
    version INTEGER NOT NULL,
    completed INTEGER NOT NULL DEFAULT 0,
    serialization TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
"""


def spiff_version() -> str:
    from importlib.metadata import version

    return version("SpiffWorkflow")


def _serializer(specs: Mapping[str, BpmnProcessSpec], engine: PythonScriptEngine) -> Any:
    """A ``BpmnWorkflowSerializer`` whose workflows refer to their spec by name."""

    class InstanceConverter(BpmnWorkflowConverter):  # type: ignore[misc]
        def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
            dct: dict[str, Any] = WorkflowConverter.to_dict(self, workflow)
            dct["spec"] = workflow.spec.name
            dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
            dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
            return dct

        def from_dict(self, dct: dict[str, Any]) -> BpmnWorkflow:
            workflow = self.target_class(
                specs[dct.pop("spec")], {}, script_engine=engine, deserializing=True
            )
            workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
            workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
            self.set_default_attributes(workflow, dct)
            self.subprocesses_from_dict(dct["subprocesses"], workflow)
            workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
            return workflow

    config = dict(DEFAULT_CONFIG)
    config[BpmnWorkflow] = InstanceConverter
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))


class SpiffCounter:
    """Cases of ``pos_unbind.bpmn`` on SpiffWorkflow, stored in one SQLite file."""

    def __init__(self, path: Path, *, storage: str = "spec_apart") -> None:
        if storage not in STORAGES:
            raise ValueError(f"storage must be one of {', '.join(STORAGES)}, not {storage!r}")
        parser = BpmnParser()
        parser.add_bpmn_file(str(BPMN))
        self.spec: BpmnProcessSpec = parser.get_spec(PROCESS_ID)
        self.engine = PythonScriptEngine(TaskDataEnvironment({"luhn_valid": luhn_valid}))
        self.storage = storage
        self.serializer = (
            BpmnWorkflowSerializer()
            if storage == "whole"
            else _serializer({self.spec.name: self.spec}, self.engine)
        )
        self.resident = storage == "resident"
        self._resident: dict[int, tuple[BpmnWorkflow, int]] = {}
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.executescript(_SCHEMA)
        spec_json = self.serializer.serialize_json(self.spec)
        self.conn.execute(
            "INSERT OR IGNORE INTO spiff_spec (name, serialization) VALUES (?, ?)",
            (self.spec.name, spec_json),
        )

    def _restore(self, serialization: str) -> BpmnWorkflow:
        workflow: BpmnWorkflow = self.serializer.deserialize_json(serialization)
        if self.storage == "whole":  # the default converter gives it a default engine
            workflow.script_engine = self.engine
        return workflow

    def close(self) -> None:
        self.conn.close()

    def _write(self, statement: str, parameters: tuple[object, ...]) -> sqlite3.Cursor:
        """One statement in its own durable transaction; it must change exactly one row."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            cursor = self.conn.execute(statement, parameters)
            if cursor.rowcount != 1:  # the compare-and-set lost: someone else moved the case
                raise RuntimeError(f"stale version: {statement.split()[0]} changed nothing")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")
        return cursor

    def _run_engine_steps(self, workflow: BpmnWorkflow) -> None:
        workflow.do_engine_steps()

    def open_case(self) -> int:
        """Start a workflow, run it to its first user task, store it; returns the case id."""
        workflow = BpmnWorkflow(self.spec, script_engine=self.engine)
        self._run_engine_steps(workflow)
        serialization = self.serializer.serialize_json(workflow)
        cursor = self._write(
            "INSERT INTO spiff_case (spec, version, completed, serialization, updated_at)"
            " VALUES (?, 1, 0, ?, ?)",
            (self.spec.name, serialization, datetime.now(UTC).isoformat()),
        )
        case_id = int(cursor.lastrowid or 0)
        if self.resident:
            self._resident[case_id] = (workflow, 1)
        return case_id

    def _load(self, case_id: int) -> tuple[BpmnWorkflow, int]:
        if self.resident:
            return self._resident[case_id]
        row = self.conn.execute(
            "SELECT version, serialization FROM spiff_case WHERE id = ?", (case_id,)
        ).fetchone()
        if row is None:
            raise KeyError(case_id)
        return self._restore(row[1]), int(row[0])

    def complete(self, case_id: int, step: Step) -> bool:
        """Complete ``step``'s user task with its form; returns whether the case is finished."""
        workflow, version = self._load(case_id)
        task = workflow.get_next_task(state=TaskState.READY, manual=True)
        if task is None or task.task_spec.name != step.task:
            found = None if task is None else task.task_spec.name
            raise RuntimeError(f"case {case_id}: expected task {step.task}, found {found}")
        form = dict(step.form)
        if form.get("code", CODE) != CODE or form.get("password", PASSWORD) != PASSWORD:
            raise RuntimeError(f"case {case_id}: wrong code or password at {step.task}")
        task.set_data(**{k: v for k, v in form.items() if k not in SECRET_FIELDS})
        task.run()
        self._run_engine_steps(workflow)
        finished = bool(workflow.completed)
        serialization = self.serializer.serialize_json(workflow)
        self._write(
            "UPDATE spiff_case SET serialization = ?, version = version + 1,"
            " completed = ?, updated_at = ? WHERE id = ? AND version = ?",
            (serialization, int(finished), datetime.now(UTC).isoformat(), case_id, version),
        )
        if self.resident:
            if finished:
                del self._resident[case_id]
            else:
                self._resident[case_id] = (workflow, version + 1)
        return finished

    def state(self, case_id: int) -> tuple[bool, dict[str, Any]]:
        """Whether the stored case is finished, and its workflow data (for checks)."""
        row = self.conn.execute(
            "SELECT serialization FROM spiff_case WHERE id = ?", (case_id,)
        ).fetchone()
        workflow = self._restore(row[0])
        return bool(workflow.completed), dict(workflow.data)
