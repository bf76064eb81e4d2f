"""Prepared statements write exactly what Core would, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from counter.store import journal
from counter.store.db import Database
from counter.store.prepared import JSONText, Prepared
from counter.store.tables import Outbox, WorkflowDefinition

outbox = Outbox.__table__  # type: ignore[attr-defined]
definitions = WorkflowDefinition.__table__  # type: ignore[attr-defined]
AT = datetime(2026, 11, 25, 18, 0, 0, 0, tzinfo=timezone(timedelta(hours=8)))


@pytest.mark.postgres
def test_prepared_matches_core(db: Database) -> None:
    add = Prepared(insert(outbox))
    bump = Prepared(
        update(outbox)
        .where(outbox.c.id == bindparam("b_id"))
        .values(attempts=outbox.c.attempts + 1, result=bindparam("result"))
    )
    row = {
        "case_reference": "BJ001-20261125-000001", "kind": "sms.send", "key": "k",
        "payload": {"text": "您好", "n": [1, 2]}, "status": "pending", "attempts": 0,
        "next_attempt_at": AT, "created_at": AT, "on_success": None, "on_failure": None,
        "result": None,
    }
    with db.transaction() as conn:
        made = add.execute(conn, row)
        assert made.rowcount == 1 and made.lastrowid is not None
        assert bump.execute(conn, {"b_id": made.lastrowid, "result": {"ok": True}}).rowcount == 1
        assert bump.execute(conn, {"b_id": made.lastrowid + 99, "result": None}).rowcount == 0
    with db.read() as conn:
        stored = conn.execute(select(outbox)).one()
    assert stored.payload == {"text": "您好", "n": [1, 2]}
    assert stored.next_attempt_at == AT and stored.next_attempt_at.tzinfo == UTC
    assert (stored.attempts, stored.result) == (1, {"ok": True})


def test_prepared_many(db: Database) -> None:
    add = Prepared(insert(definitions))
    rows = [{"hash": c * 64, "name": "w", "bundle": "{}", "stored_at": AT} for c in "abc"]
    with db.transaction() as conn:
        assert add.execute_many(conn, rows) == 3
    with db.read() as conn:
        assert len(conn.execute(select(definitions)).all()) == 3


@pytest.mark.postgres
def test_json_already_encoded_is_stored_once_not_as_a_string(db: Database) -> None:
    add = Prepared(insert(outbox))
    payload = {"text": "您好", "n": [1, 2]}
    row = {
        "case_reference": "BJ001-20261125-000001", "kind": "sms.send", "key": "k",
        "payload": JSONText(journal.canonical_json(payload)), "status": "pending",
        "attempts": 0, "next_attempt_at": AT, "created_at": AT,
    }
    with db.transaction() as conn:
        add.execute(conn, row)
        add.execute_many(conn, [{**row, "key": "k2"}])
    with db.read() as conn:
        stored = conn.execute(select(outbox.c.payload)).scalars().all()
    assert stored == [payload, payload]


@pytest.mark.postgres
def test_a_collision_raises_sqlalchemys_integrity_error(db: Database) -> None:
    """Whether a statement ran through Core or straight on the driver, callers catch one error."""
    add = Prepared(insert(definitions))
    row = {"hash": "d" * 64, "name": "w", "bundle": "{}", "stored_at": AT}
    with db.transaction() as conn:
        add.execute(conn, row)
    with pytest.raises(IntegrityError), db.transaction() as conn:
        add.execute(conn, row)
    with pytest.raises(IntegrityError), db.transaction() as conn:
        add.execute_many(conn, [row])
    with db.read() as conn:
        assert len(conn.execute(select(definitions)).all()) == 1


def test_a_column_default_must_be_given(db: Database) -> None:
    """Core fills column defaults while executing; a prepared statement would store NULL."""
    add = Prepared(insert(definitions))
    with pytest.raises(ValueError, match="stored_at"), db.transaction() as conn:
        add.execute(conn, {"hash": "e" * 64, "name": "w", "bundle": "{}"})
