"""The branch day revision builds exactly the tables the models describe."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

from counter.store import branchday_tables
from counter.store.db import Database
from counter.store.migrate import current_revision, head_revision, import_table_modules, upgrade

OURS = {
    branchday_tables.CounterSession.__tablename__,
    branchday_tables.CaseSession.__tablename__,
    branchday_tables.CaseHandover.__tablename__,
    branchday_tables.BranchDay.__tablename__,
}


def _table_of(difference: object) -> str | None:
    first = difference[0] if isinstance(difference, list) else difference
    assert isinstance(first, tuple)
    for part in first[1:]:
        name = getattr(part, "name", None)
        table = getattr(part, "table", None)
        if table is not None:
            return str(table.name)
        if name in OURS:
            return str(name)
        if isinstance(part, str) and part in OURS:
            return part
    return None


@pytest.mark.postgres
def test_upgrade_builds_the_branch_day_tables_as_modelled(empty_db: Database) -> None:
    upgrade(empty_db)
    assert current_revision(empty_db) == head_revision(empty_db)
    import_table_modules()
    with empty_db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, SQLModel.metadata)
    assert [d for d in differences if _table_of(d) in OURS] == []
