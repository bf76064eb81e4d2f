"""``counter cases migrate``: dry run, prepare, a refused self-confirmation, confirm."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from counter.cases.wiring import wire
from counter.config import Settings
from counter.engine.types import Actor
from counter.store import journal, users
from counter.store.db import Database

from .conftest import Invoke

ROOT = Path(__file__).resolve().parents[2]
STAY = """
migration:
  stay:
    unbind_pending: {zh: 等待收单机构答复, en: waiting for the acquirer}
"""


@pytest.fixture
def copied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(ROOT / "workflows", tmp_path / "workflows")
    shutil.copytree(ROOT / "forms", tmp_path / "forms")
    monkeypatch.setenv("COUNTER_WORKFLOWS_DIR", str(tmp_path / "workflows"))
    monkeypatch.setenv("COUNTER_FORMS_DIR", str(tmp_path / "forms"))
    return tmp_path


def test_prepare_then_confirm_by_another_user(
    counter: Invoke, db: Database, copied: Path
) -> None:
    users.create_branch(db, code="BJ001", name_zh="营业部", name_en="Head office")
    for name, role in (("teller1", "teller"), ("ops1", "operations"), ("ops2", "operations")):
        users.create_user(db, username=name, password="a-long-password", roles=[role],
                          branch="BJ001")
    config = Settings(workflows_dir=copied / "workflows", forms_dir=copied / "forms",
                      _env_file=None)  # type: ignore[call-arg]
    desk = wire(db, settings=config, attach=False).desk
    teller = Actor("teller1", frozenset({"teller"}), branch="BJ001")
    refs = [desk.open_case(workflow="pos_unbind", actor=teller).reference for _ in range(2)]
    path = copied / "workflows" / "pos_unbind.yaml"
    path.write_text(path.read_text(encoding="utf-8") + STAY, encoding="utf-8")

    shown = counter("cases", "migrate", "--workflow", "pos_unbind", "--dry-run")
    assert shown.exit_code == 0, shown.output
    assert all(f"{ref}  BJ001  v1" in shown.output for ref in refs)
    assert "合计 / total 2: 迁移 / moves 2" in shown.output
    prepared = counter("cases", "migrate", "--workflow", "pos_unbind", "--as", "ops1",
                       "--reference", refs[0])
    assert prepared.exit_code == 0, prepared.output
    assert "计划 / plan 1" in prepared.output and refs[1] not in prepared.output
    alone = counter("cases", "migrate", "--confirm", "1", "--as", "ops1")
    assert alone.exit_code == 1 and "another user must confirm" in alone.output
    done = counter("cases", "migrate", "--confirm", "1", "--as", "ops2")
    assert done.exit_code == 0, done.output
    assert "[moved]" in done.output and "(done)" in done.output
    moved = desk.get(reference=refs[0], actor=teller)
    untouched = desk.get(reference=refs[1], actor=teller)
    assert moved.definition_hash != untouched.definition_hash and moved.version == 2
    assert journal.verify(db).ok
    assert counter("audit", "verify").exit_code == 0
