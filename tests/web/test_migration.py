"""The web tables' migration builds exactly what the models describe."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

from counter.store import web_tables
from counter.store.db import Database
from counter.store.migrate import import_table_modules, upgrade

WEB_TABLES = {
    web_tables.WebSession.__tablename__,
    web_tables.LoginAttempts.__tablename__,
    web_tables.RateBucket.__tablename__,
}


def test_migration_matches_the_web_tables(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        upgrade(db)
        import_table_modules()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            differences = compare_metadata(context, SQLModel.metadata)
    finally:
        db.dispose()
    mine = [d for d in differences if WEB_TABLES & set(map(str, _names(d)))]
    assert mine == []


def _names(difference: object) -> list[object]:
    flat: list[object] = []
    stack = [difference]
    while stack:
        item = stack.pop()
        if isinstance(item, tuple | list):
            stack.extend(item)
        else:
            table = getattr(item, "table", item)
            flat.append(getattr(table, "name", item))
    return flat
