"""Random running cases migrated between two random compatible versions, and back.

Whatever the states, versions and steps taken in between, every journal
verifies, every case is in a state its own version declares, and a case
nothing touched since the migration is back where it was, data and all.
"""

from __future__ import annotations

import json
from pathlib import Path

from engine.parcel import AUDITOR, SUPERVISOR, TELLER
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from counter.cases.desk import Desk
from counter.cases.migration import CaseMigrations
from counter.engine.loader import Workflow
from counter.engine.types import Actor
from counter.store import journal
from counter.store.db import Database

from .versions import in_state, new_version

OPS1 = Actor("olive", frozenset({"operations"}), branch="BJ001")
OPS2 = Actor("oscar", frozenset({"operations"}), branch="BJ001")
STATES = ["identify", "verify_code", "supervisor_review", "hand_over"]
# (state verify_code is called, field recipient_name is called); openable: the checks still read
# recipient_name, so cases are only opened on versions that keep it.
VARIANTS = {
    "original": ("verify_code", "recipient_name"),
    "state_renamed": ("check_code", "recipient_name"),
    "field_renamed": ("verify_code", "recipient_full_name"),
    "both_renamed": ("check_code", "recipient_full_name"),
}
OPENABLE = ["original", "state_renamed"]


def _variant(desk: Desk, folder: Path, name: str, since: str | None) -> Workflow:
    """Version ``name``, with a map from version ``since`` when there is one."""
    state, field = VARIANTS[name]
    migration = ""
    if since is not None:
        old_state, old_field = VARIANTS[since]
        migration = "\nmigration:\n"
        if old_state != state:
            migration += f"  states: {{{old_state}: {state}}}\n"
        if old_field != field:
            migration += (
                f"  renamed: {{pickup_identity.{old_field}: pickup_identity.{field}}}\n"
            )
    return new_version(
        desk,
        folder / f"{name}_from_{since}",
        rename_state=("verify_code", state) if state != "verify_code" else None,
        rename_field=("recipient_name", field) if field != "recipient_name" else None,
        migration=migration,
    )


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    before=st.sampled_from(OPENABLE),
    after=st.sampled_from(list(VARIANTS)),
    states=st.lists(st.sampled_from(STATES), min_size=1, max_size=6),
    touched=st.sets(st.integers(min_value=0, max_value=5), max_size=3),
)
def test_there_and_back_keeps_every_case_and_journal_sound(
    db: Database, desk: Desk, tmp_path: Path, before: str, after: str, states: list[str],
    touched: set[int],
) -> None:
    if before == after:
        after = "both_renamed"
    old = _variant(desk, tmp_path, before, None)
    cases = [in_state(desk, state) for state in states]
    assert {c.definition_hash for c in cases} == {old.hash}
    originals = {c.reference: desk.get(reference=c.reference, actor=SUPERVISOR) for c in cases}
    new = _variant(desk, tmp_path, after, before)
    migrations = CaseMigrations(desk)
    refs = list(originals)
    plan = migrations.prepare(workflow="parcel_pickup", actor=OPS1, references=refs)
    assert plan.count("move") == len(cases)  # compatible: nothing stays, nothing is refused
    migrations.confirm(migration_id=plan.id or 0, actor=OPS2)
    for index in sorted(touched):
        if index < len(refs):
            case = desk.get(reference=refs[index], actor=TELLER)
            desk.fire(reference=case.reference, trigger="cancel", actor=TELLER,
                      data={"reason": "customer left"}, version=case.version)
    back = migrations.plan(workflow="parcel_pickup", references=refs, revert=True)
    moved_back = {c.reference for c in back.cases if c.outcome == "move"}
    assert moved_back == {r for i, r in enumerate(refs) if i not in touched}
    if moved_back:
        prepared = migrations.prepare(
            workflow="parcel_pickup", actor=OPS2, references=refs, revert=True
        )
        migrations.confirm(migration_id=prepared.id or 0, actor=OPS1)
    assert journal.verify(db).ok
    for reference, original in originals.items():
        case = desk.get(reference=reference, actor=SUPERVISOR)
        declared = desk.workflow_of(case.definition_hash).definition.states
        assert case.state in declared
        if reference in moved_back:
            assert (case.state, case.definition_hash, case.data, case.version) == (
                original.state, old.hash, original.data, original.version + 2
            )
            there, back_again = (
                json.loads(e.note or "{}")
                for e in desk.journal(reference=reference) if e.kind == "migrated"
            )
            assert back_again["renamed"] == {v: k for k, v in there["renamed"].items()}
            assert (there["kind"], back_again["kind"]) == ("migrate", "revert")
        else:
            assert case.definition_hash == new.hash and case.state == "cancelled"
    assert all(
        e.kind != "migrated" or e.actor in ("olive", "oscar")
        for r in refs
        for e in desk.journal(reference=r, actor=AUDITOR)
    )
