"""Migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

from counter.store import journal
from counter.store.db import Database
from counter.store.migrate import (
    alembic_config,
    current_revision,
    head_revision,
    import_table_modules,
    upgrade,
)


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


AT = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def _legacy_case(db: Database) -> list[dict[str, Any]]:
    """A case as 0005 stored it: two entries, its head in ``journal_heads``; a user's stream too."""
    first = journal.chain(stream="BJ001-20261125-000001", after=(0, journal.GENESIS),
                          actor="t1", kind="open", at=AT, to_state="new", note="counter")
    second = journal.chain(stream="BJ001-20261125-000001", after=(1, first["hash"]),
                           actor="t1", kind="trigger", at=AT, trigger="go", from_state="new",
                           to_state="done")
    user = journal.chain(stream="user:t1", after=(0, journal.GENESIS), actor="t1",
                         kind="lockout", at=AT)
    with db.transaction() as conn:
        conn.execute(text("INSERT INTO workflow_definitions (hash, name, bundle, stored_at) "
                          "VALUES ('h1', 'w', '{}', :at)"), {"at": AT})
        conn.execute(
            text("INSERT INTO teller_case (reference, workflow, definition_hash, state, data, "
                 "version, branch, channel, opened_by, opened_at, updated_at) VALUES "
                 "('BJ001-20261125-000001', 'w', 'h1', 'done', '{}', 2, 'BJ001', 'counter', "
                 "'t1', :at, :at)"),
            {"at": AT},
        )
        for values in (first, second, user):
            journal.record(conn, values)
        conn.execute(text("INSERT INTO journal_heads (stream, seq, hash) VALUES "
                          "('BJ001-20261125-000001', 2, :case), ('user:t1', 1, :user)"),
                     {"case": second["hash"], "user": user["hash"]})
    return [first, second, user]


@pytest.mark.postgres
def test_case_journal_heads_move_into_the_case_rows(empty_db: Database) -> None:
    upgrade(empty_db, "0005_branch_day")
    _, second, _ = _legacy_case(empty_db)
    upgrade(empty_db)
    with empty_db.read() as conn:
        case = conn.execute(text("SELECT journal_seq, journal_hash FROM teller_case")).one()
        heads = conn.execute(text("SELECT stream, seq FROM journal_heads")).all()
    assert tuple(case) == (2, second["hash"])
    assert [tuple(h) for h in heads] == [("user:t1", 1)]
    assert journal.verify(empty_db).ok
    with empty_db.transaction() as conn:  # the moved head still catches a deleted tail
        conn.execute(text("DELETE FROM case_events WHERE hash = :h"), {"h": second["hash"]})
    broken = journal.verify(empty_db).first_broken
    assert broken is not None and broken.stream == "BJ001-20261125-000001"


def test_downgrading_puts_the_case_heads_back(empty_db: Database) -> None:
    upgrade(empty_db, "0005_branch_day")
    _, second, _ = _legacy_case(empty_db)
    upgrade(empty_db)
    config = alembic_config(empty_db)
    with empty_db.transaction() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0005_branch_day")
    with empty_db.read() as conn:
        heads = dict(conn.execute(text("SELECT stream, hash FROM journal_heads")).all())
        columns = {c["name"] for c in inspect(conn).get_columns("teller_case")}
    assert heads["BJ001-20261125-000001"] == second["hash"]
    assert "journal_seq" not in columns


@pytest.mark.postgres
def test_stored_idempotency_answers_lose_the_case_data(empty_db: Database) -> None:
    upgrade(empty_db, "0006_case_journal_head")
    answer = {"reference": "BJ001-20261125-000001", "version": 2,
              "data": {"identity": {"id_number": "110105198001010016", "name": "张三"}}}
    with empty_db.transaction() as conn:
        conn.execute(
            text("INSERT INTO idempotency_keys (key, actor, fingerprint, response, created_at) "
                 "VALUES ('k1', 't1', 'f', :response, :at)"),
            {"response": journal.canonical_json(answer), "at": AT},
        )
    upgrade(empty_db)
    with empty_db.read() as conn:
        stored = conn.execute(text("SELECT response FROM idempotency_keys")).scalar_one()
    kept = stored if isinstance(stored, dict) else json.loads(stored)
    assert kept == {"reference": "BJ001-20261125-000001", "version": 2}
