"""Migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

from counter.store.db import Database
from counter.store.migrate import current_revision, head_revision, import_table_modules, upgrade


@pytest.mark.postgres
def test_upgrade_reaches_head_and_matches_the_models(empty_db: Database) -> None:
    upgrade(empty_db)
    assert current_revision(empty_db) == head_revision(empty_db)
    upgrade(empty_db)  # a second run is a no-op
    import_table_modules()
    with empty_db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == []
