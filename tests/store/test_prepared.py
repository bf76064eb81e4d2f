"""Prepared statements write exactly what Core would, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import String, bindparam, cast, insert, select, update
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


@pytest.mark.postgres
@pytest.mark.parametrize("at", [AT, AT.replace(microsecond=250)])
def test_timestamps_are_stored_as_core_stores_them(db: Database, at: datetime) -> None:
    """The same text in the column, so that SQL comparisons (day ranges, due times) agree.

    sqlite3's own adapter would leave out a zero fraction (``18:00:00`` against
    Core's ``18:00:00.000000``), which sorts before the same instant.
    """
    row = {"name": "w", "bundle": "{}", "stored_at": at}
    with db.transaction() as conn:
        Prepared(insert(definitions)).execute(conn, {"hash": "p" * 64, **row})
        conn.execute(insert(definitions), {"hash": "c" * 64, **row})
    text_of = select(definitions.c.hash, cast(definitions.c.stored_at, String))
    with db.read() as conn:
        stored = {row[0]: row[1] for row in conn.execute(text_of)}
    assert stored["p" * 64] == stored["c" * 64]
    with db.read() as conn:
        same = select(definitions.c.hash).where(definitions.c.stored_at == at)
        assert len(conn.execute(same).all()) == 2


def test_each_timestamp_reads_back_as_bound(db: Database) -> None:
    """Formatting is kept per instant: a new instant, or an equal one, is never given stale text."""
    add = Prepared(insert(outbox))
    first, second = AT, AT + timedelta(microseconds=1)
    pairs = [(first, first), (first, second), (second, first), (second, second),
             (first.replace(tzinfo=None), second)]  # a naive time is taken to be UTC
    with db.transaction() as conn:
        for n, (due, created) in enumerate(pairs):
            add.execute(conn, {
                "case_reference": "BJ001-20261125-000001", "kind": "sms.send", "key": f"k{n}",
                "payload": {}, "status": "pending", "attempts": 0, "next_attempt_at": due,
                "created_at": created, "on_success": None, "on_failure": None,
            })
    with db.read() as conn:
        stored = conn.execute(
            select(outbox.c.next_attempt_at, outbox.c.created_at).order_by(outbox.c.id)
        ).all()
    expected = [(d if d.tzinfo else d.replace(tzinfo=UTC), c) for d, c in pairs]
    assert [(d, c) for d, c in stored] == expected
