"""Schema migrations (Alembic), configured in code so they run from any directory.

``counter db upgrade`` calls :func:`upgrade`; tests call :func:`upgrade` on
a fresh database, and a test compares the migrated schema with the models.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from counter.store.db import Database

__all__ = ["TABLE_MODULES", "alembic_config", "current_revision", "head_revision", "upgrade"]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

TABLE_MODULES = tuple(
    f"counter.store.{module.name}"
    for module in pkgutil.iter_modules([str(Path(__file__).resolve().parent)])
    if module.name == "tables" or module.name.endswith("_tables")
)
"""Every module holding tables: ``counter/store/tables.py`` and each ``*_tables.py``."""


def import_table_modules() -> None:
    """Import every table module so that ``SQLModel.metadata`` holds all tables."""
    for name in TABLE_MODULES:
        importlib.import_module(name)


def alembic_config(db: Database) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    return config


def upgrade(db: Database, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` (default: the newest)."""
    config = alembic_config(db)
    with db.transaction() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(db: Database) -> str | None:
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision(db: Database) -> str | None:
    return ScriptDirectory.from_config(alembic_config(db)).get_current_head()
