"""The migrations build the local adapters' tables exactly as the models describe them."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

from counter.adapters import LocalAcquirerRegistry
from counter.store import registry_tables
from counter.store.db import Database
from counter.store.migrate import import_table_modules, upgrade

from .factories import merchant_row, to_csv

OURS = {
    table.__table__.name  # type: ignore[attr-defined]
    for table in (
        registry_tables.RegistryMerchant,
        registry_tables.RegistryTerminal,
        registry_tables.AcquirerExecution,
        registry_tables.IdentityPerson,
        registry_tables.SmsMessage,
    )
}


@pytest.mark.postgres
def test_upgrade_creates_our_tables_as_modelled(empty_db: Database) -> None:
    upgrade(empty_db)
    import_table_modules()
    with empty_db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, SQLModel.metadata)
    assert [d for d in differences if _table_of(d) in OURS] == []
    acquirer = LocalAcquirerRegistry(empty_db)
    acquirer.import_merchants(to_csv([merchant_row()]))
    assert acquirer.execute_unbind(
        "C-1", "102110058120001", "SN-PAX-000001", merchant_row()["account_number"]
    ).done


def _table_of(difference: object) -> str | None:
    item = difference[1] if isinstance(difference, tuple) else difference[0][1]  # type: ignore[index]
    table = getattr(item, "table", item)
    return getattr(table, "name", None)
