"""Moving running parcel cases to a new workflow version, through the service, under four eyes.

Every scenario reloads the cases from the database before it asserts.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime
from pathlib import Path

import pytest
from engine.parcel import IDENTITY, SUPERVISOR, TELLER, parcel_runtime
from sqlalchemy import text

from counter.audit import export_journal, verify_export
from counter.banking.masking import mask_text
from counter.cases.desk import Desk
from counter.cases.migration import PLAN_STREAM, CaseMigrations, MigrationView
from counter.cases.records import REFERENCE_ZONE
from counter.cases.services import Services
from counter.engine.types import Actor
from counter.errors import FourEyesViolation, InvalidInput, PermissionDenied, StaleVersion
from counter.store import journal
from counter.store.db import Database
from counter.store.users import create_branch

from .versions import in_state, new_version

OPS1 = Actor("olive", frozenset({"operations"}), branch="BJ001")
OPS2 = Actor("oscar", frozenset({"operations"}), branch="BJ001")

MIGRATION = """
migration:
  states:
    verify_code: check_code
  required:
    - field: pickup_identity.recipient_phone
  stay:
    hand_over: {zh: 包裹已出库, en: the parcel is out of the locker}
"""

RENAMED = ("verify_code", "check_code")
RENAME_ONLY = """
migration:
  states: {verify_code: check_code}
"""


def _stored(db: Database, desk: Desk) -> dict[str, tuple[str, str, int, int]]:
    """Every case as stored: (state, definition hash, version, journal length)."""
    found = {}
    for summary in desk.list_cases(actor=Actor("ada", frozenset({"auditor"})), limit=1000):
        case = desk.get(reference=summary.reference, actor=SUPERVISOR)
        with db.read() as conn:
            length = len(journal.entries(conn, case.reference))
        found[case.reference] = (case.state, case.definition_hash, case.version, length)
    return found


@pytest.fixture
def migrations(desk: Desk) -> CaseMigrations:
    return CaseMigrations(desk)


def test_a_dry_run_changes_nothing(
    db: Database, desk: Desk, migrations: CaseMigrations, tmp_path: Path
) -> None:
    cases = [in_state(desk, s) for s in ("identify", "verify_code", "hand_over")]
    before = _stored(db, desk)
    new = new_version(
        desk, tmp_path / "v2", rename_state=("verify_code", "check_code"), migration=MIGRATION,
        phone_required=True,
    )
    current = desk.open_case(workflow="parcel_pickup", actor=TELLER)
    before[current.reference] = _stored(db, desk)[current.reference]
    plan = migrations.plan(workflow="parcel_pickup")
    assert plan.id is None and plan.status == "dry_run" and plan.to_hash == new.hash
    outcome = {c.reference: (c.outcome, c.to_state) for c in plan.cases}
    assert outcome == {
        cases[0].reference: ("move", "identify"),
        cases[1].reference: ("move", "identify"),  # back for the new required phone
        cases[2].reference: ("stay", None),
        current.reference: ("stay", None),  # already on the new version
    }
    assert plan.cases[3].reason is not None and "already" in plan.cases[3].reason.en
    assert plan.cases[1].back_for == "pickup_identity.recipient_phone"
    assert plan.cases[2].reason is not None and "locker" in plan.cases[2].reason.en
    assert _stored(db, desk) == before
    with db.read() as conn:
        assert conn.execute(text("SELECT count(*) FROM case_migrations")).scalar() == 0


def test_a_hundred_cases_of_mixed_states(
    db: Database, desk: Desk, migrations: CaseMigrations, tmp_path: Path
) -> None:
    states = ["identify", "verify_code", "supervisor_review", "hand_over"]
    cases = [in_state(desk, states[i % 4]) for i in range(100)]
    done = desk.open_case(workflow="parcel_pickup", actor=TELLER)
    done = desk.fire(reference=done.reference, trigger="cancel", actor=TELLER,
                     data={"reason": "customer left"}, version=done.version)
    new = new_version(
        desk, tmp_path / "v2", rename_state=("verify_code", "check_code"), migration=MIGRATION,
        phone_required=True,
    )
    before = _stored(db, desk)
    plan = migrations.prepare(workflow="parcel_pickup", actor=OPS1)
    assert (plan.count("move"), plan.count("stay"), plan.count("refused")) == (50, 25, 25)
    assert done.reference not in {c.reference for c in plan.cases}  # closed cases stay out
    assert _stored(db, desk) == before  # prepared is not moved
    result = migrations.confirm(migration_id=plan.id or 0, actor=OPS2)
    assert result.status == "done" and result.confirmed_by == "oscar"
    after = _stored(db, desk)
    for case in cases:
        state, digest, version, length = after[case.reference]
        old = before[case.reference]
        if case.state in ("identify", "verify_code"):
            expected = ("identify", new.hash, old[2] + 1, old[3] + 1)
            assert (state, digest, version, length) == expected
        else:  # refused (waiting for a supervisor) or staying: untouched
            assert (state, digest, version, length) == old
    assert after[done.reference] == before[done.reference]
    assert journal.verify(db).ok
    moved = next(c for c in cases if c.state == "verify_code")
    entry = desk.journal(reference=moved.reference)[-1]
    assert (entry.kind, entry.trigger, entry.actor) == ("migrated", "migrate", "oscar")
    note = json.loads(entry.note or "{}")
    assert note["shape"] == 1 and note["to_hash"] == new.hash
    assert note["state_map"]["verify_code"] == "check_code"
    assert note["prepared_by"] == "olive" and note["back_for"] == "pickup_identity.recipient_phone"
    # the moved case goes on under the new version: the phone is asked for now
    case = desk.get(reference=moved.reference, actor=TELLER)
    with pytest.raises(InvalidInput):
        desk.fire(reference=case.reference, trigger="submit_identity", actor=TELLER,
                  data=IDENTITY, version=case.version)
    case = desk.fire(reference=case.reference, trigger="submit_identity", actor=TELLER,
                     data={**IDENTITY, "recipient_phone": "13800138000"}, version=case.version)
    assert case.state == "check_code"


def test_the_preparer_alone_cannot_migrate(
    db: Database, desk: Desk, migrations: CaseMigrations, tmp_path: Path
) -> None:
    in_state(desk, "verify_code")
    new_version(desk, tmp_path / "v2", rename_state=RENAMED, migration=RENAME_ONLY)
    before = _stored(db, desk)
    with pytest.raises(PermissionDenied):
        migrations.prepare(workflow="parcel_pickup", actor=SUPERVISOR)
    plan = migrations.prepare(workflow="parcel_pickup", actor=OPS1)
    with pytest.raises(FourEyesViolation):
        migrations.confirm(migration_id=plan.id or 0, actor=OPS1)
    with pytest.raises(PermissionDenied):
        migrations.confirm(migration_id=plan.id or 0, actor=TELLER)
    with pytest.raises(PermissionDenied):
        migrations.withdraw(migration_id=plan.id or 0, actor=TELLER)
    assert _stored(db, desk) == before
    assert migrations.get(migration_id=plan.id or 0).status == "prepared"
    with db.read() as conn:  # the refusals journaled on the plan's own stream
        refused = journal.entries(conn, f"{PLAN_STREAM}{plan.id}")
        # no plan existed for the supervisor's: on their own stream
        [prepared] = journal.entries(conn, f"user:{SUPERVISOR.username}")
    assert [(e.kind, e.actor, e.trigger, e.findings[0]["code"]) for e in refused] == [
        (journal.REFUSED, OPS1.username, "confirm", "four_eyes"),
        (journal.REFUSED, TELLER.username, "confirm", "forbidden"),
        (journal.REFUSED, TELLER.username, "withdraw", "forbidden"),
    ]
    assert (prepared.kind, prepared.trigger, prepared.findings[0]["code"]) == (
        journal.REFUSED, "prepare_migration", "forbidden"
    )
    assert journal.verify(db).ok
    assert migrations.withdraw(migration_id=plan.id or 0, actor=OPS1).status == "withdrawn"
    with pytest.raises(StaleVersion):
        migrations.confirm(migration_id=plan.id or 0, actor=OPS2)
    assert _stored(db, desk) == before


def test_a_revert_moves_back_what_nothing_touched_since(
    db: Database, desk: Desk, migrations: CaseMigrations, tmp_path: Path
) -> None:
    left, touched = (in_state(desk, "verify_code") for _ in range(2))
    waiting = in_state(desk, "supervisor_review")
    old_hash = left.definition_hash
    before = _stored(db, desk)
    new_version(desk, tmp_path / "v2", rename_state=RENAMED, migration=RENAME_ONLY)
    plan = migrations.prepare(workflow="parcel_pickup", actor=OPS1)
    migrations.confirm(migration_id=plan.id or 0, actor=OPS2)
    assert desk.get(reference=left.reference, actor=TELLER).state == "check_code"
    assert desk.get(reference=waiting.reference, actor=TELLER).definition_hash != old_hash
    step = desk.get(reference=touched.reference, actor=TELLER)
    desk.fire(reference=step.reference, trigger="resend_code", actor=TELLER, data={},
              version=step.version)
    revert = migrations.prepare(workflow="parcel_pickup", actor=OPS2, revert=True)
    assert {c.reference: c.outcome for c in revert.cases} == {
        left.reference: "move", touched.reference: "refused", waiting.reference: "move",
    }
    migrations.confirm(migration_id=revert.id or 0, actor=OPS1)
    after = _stored(db, desk)
    for case in (left, waiting):
        state, digest, version, length = after[case.reference]
        assert (state, digest) == before[case.reference][:2]
        assert (version, length) == (before[case.reference][2] + 2, before[case.reference][3] + 2)
    assert after[touched.reference][:2] == ("check_code", plan.to_hash)
    approval = desk.approvals(actor=SUPERVISOR)[0]
    assert (approval.source, approval.dest) == ("identify", "verify_code")
    # the reverted case runs on its old version again, approval and all
    case = desk.approve(reference=waiting.reference, actor=SUPERVISOR)
    assert case.state == "verify_code" and case.definition_hash == old_hash
    assert journal.verify(db).ok


def test_a_map_that_does_not_lint_refuses_the_cases_of_that_version(
    db: Database, desk: Desk, migrations: CaseMigrations, tmp_path: Path
) -> None:
    case = in_state(desk, "verify_code")
    new_version(desk, tmp_path / "v2", rename_state=RENAMED)  # no map for verify_code
    plan = migrations.plan(workflow="parcel_pickup")
    assert [c.outcome for c in plan.cases] == ["refused"]
    assert plan.cases[0].reason is not None and "verify_code" in plan.cases[0].reason.en
    assert len(plan.issues) == 1 and "parcel_pickup.yaml:" in plan.issues[0]
    with pytest.raises(InvalidInput):
        migrations.prepare(workflow="parcel_pickup", actor=OPS1)
    assert desk.get(reference=case.reference, actor=TELLER).version == case.version


@pytest.mark.postgres
def test_two_confirmations_at_once_move_each_case_once(
    db: Database, desk: Desk, migrations: CaseMigrations, tmp_path: Path
) -> None:
    cases = [in_state(desk, "verify_code") for _ in range(3)]
    new_version(desk, tmp_path / "v2", rename_state=RENAMED, migration=RENAME_ONLY)
    plan = migrations.prepare(workflow="parcel_pickup", actor=OPS1)
    second_db = Database(db.url)
    other = CaseMigrations(Desk(second_db, parcel_runtime(), Services(db=db)))
    third = Actor("otto", frozenset({"operations"}), branch="BJ001")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def confirm(service: CaseMigrations, actor: Actor) -> None:
        barrier.wait()
        try:
            service.confirm(migration_id=plan.id or 0, actor=actor)
            outcomes.append("confirmed")
        except StaleVersion:
            outcomes.append("refused")

    threads = [threading.Thread(target=confirm, args=args)
               for args in ((migrations, OPS2), (other, third))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    second_db.dispose()
    assert sorted(outcomes) == ["confirmed", "refused"]
    for case in cases:
        entries = desk.journal(reference=case.reference)
        assert [e.kind for e in entries].count("migrated") == 1
    assert journal.verify(db).ok


@pytest.mark.postgres
def test_a_step_racing_the_migration_leaves_one_of_them(
    db: Database, desk: Desk, migrations: CaseMigrations, tmp_path: Path
) -> None:
    case = in_state(desk, "verify_code")
    new_version(desk, tmp_path / "v2", rename_state=RENAMED, migration=RENAME_ONLY)
    plan = migrations.prepare(workflow="parcel_pickup", actor=OPS1)
    second_db = Database(db.url)
    teller_desk = Desk(second_db, parcel_runtime(), Services(db=db))
    barrier = threading.Barrier(2)
    results: dict[str, object] = {}

    def migrate() -> None:
        barrier.wait()
        results["migration"] = migrations.confirm(migration_id=plan.id or 0, actor=OPS2)

    def step() -> None:
        barrier.wait()
        try:
            results["step"] = teller_desk.fire(
                reference=case.reference, trigger="resend_code", actor=TELLER, data={},
                version=case.version,
            )
        except StaleVersion:
            results["step"] = "stale"

    threads = [threading.Thread(target=migrate), threading.Thread(target=step)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    second_db.dispose()
    after = desk.get(reference=case.reference, actor=TELLER)
    kinds = [e.kind for e in desk.journal(reference=case.reference)]
    assert after.version == case.version + 1  # exactly one of the two moved it
    if results["step"] == "stale":
        assert kinds[-1] == "migrated" and after.state == "check_code"
    else:
        assert "migrated" not in kinds and after.state == "verify_code"
        view = results["migration"]
        assert isinstance(view, MigrationView) and view.cases[0].result == "changed"
    assert journal.verify(db).ok


def test_the_migrated_entry_is_exported_verbatim_with_its_hash(
    db: Database, desk: Desk, migrations: CaseMigrations, tmp_path: Path
) -> None:
    create_branch(db, code="BJ001", name_zh="营业部", name_en="Head office")
    case = in_state(desk, "verify_code")
    for nonce in range(200):  # a version whose hash holds a long run of digits, as 1 in 8 do
        new = new_version(desk, tmp_path / "v2", rename_state=RENAMED,
                          migration=f"{RENAME_ONLY}# {nonce}\n")
        if mask_text(new.hash) != new.hash:
            break
    assert mask_text(new.hash) != new.hash  # what masking by shape would have cut
    plan = migrations.prepare(workflow="parcel_pickup", actor=OPS1)
    migrations.confirm(migration_id=plan.id or 0, actor=OPS2)
    day = datetime.now(REFERENCE_ZONE).date()
    text = "".join(export_journal(db, branch="BJ001", start=day, end=day, fmt="jsonl"))
    assert verify_export(text).ok
    [entry] = [
        json.loads(line) for line in text.splitlines()
        if '"kind":"migrated"' in line and case.reference in line
    ]
    stored = desk.journal(reference=case.reference)[-1]
    assert (entry["note"], entry["masked"], entry["hash"]) == (stored.note, [], stored.hash)
