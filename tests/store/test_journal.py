"""The hash-chained journal: appending, verifying, and catching every kind of tampering."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from counter.errors import AuditChainBroken
from counter.store import journal
from counter.store.db import Database

AT = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def _write(db: Database, stream: str, n: int) -> list[journal.JournalEntry]:
    written = []
    with db.transaction() as conn:
        for i in range(n):
            written.append(
                journal.append(
                    conn,
                    stream=stream,
                    actor="t1",
                    kind="lockout",
                    at=AT,
                    note=f"entry {i}",
                    findings=[{"code": "x", "message": {"zh": "甲", "en": "a"}}],
                )
            )
    return written


@pytest.mark.postgres
def test_entries_chain_from_genesis(db: Database) -> None:
    first, second, third = _write(db, "user:t1", 3)
    assert (first.seq, second.seq, third.seq) == (1, 2, 3)
    assert first.prev_hash == journal.GENESIS
    assert second.prev_hash == first.hash and third.prev_hash == second.hash
    with db.read() as conn:
        stored = journal.entries(conn, "user:t1")
    assert stored == [first, second, third]
    report = journal.verify(db)
    assert report.ok and report.entries == 3 and report.streams == 1


def test_streams_are_separate_chains(db: Database) -> None:
    _write(db, "user:a", 2)
    (other,) = _write(db, "branch:BJ001", 1)
    assert other.seq == 1 and other.prev_hash == journal.GENESIS
    assert journal.verify(db).ok
    assert journal.verify(db, stream="branch:BJ001").entries == 1


@pytest.mark.postgres
def test_an_edited_entry_is_named(db: Database) -> None:
    entries = _write(db, "user:t1", 3)
    with db.transaction() as conn:
        conn.execute(text("UPDATE case_events SET note = 'nothing' WHERE id = :id"),
                     {"id": entries[1].id})
    report = journal.verify(db)
    broken = report.first_broken
    assert broken is not None and (broken.stream, broken.seq, broken.id) == (
        "user:t1", 2, entries[1].id)
    with pytest.raises(AuditChainBroken) as caught:
        report.raise_if_broken()
    assert caught.value.context["id"] == entries[1].id


@pytest.mark.postgres
def test_a_rehashed_edit_breaks_the_next_link(db: Database) -> None:
    """Recomputing the edited row's own hash does not help: the next entry names it."""
    entries = _write(db, "user:t1", 3)
    with db.transaction() as conn:
        conn.execute(text("UPDATE case_events SET hash = :h WHERE id = :id"),
                     {"h": "f" * 64, "id": entries[0].id})
    broken = journal.verify(db).first_broken
    assert broken is not None and broken.seq == 1


@pytest.mark.postgres
@pytest.mark.parametrize("victim", [0, 1, 2])
def test_a_deleted_entry_is_caught(db: Database, victim: int) -> None:
    entries = _write(db, "user:t1", 3)
    with db.transaction() as conn:
        conn.execute(text("DELETE FROM case_events WHERE id = :id"), {"id": entries[victim].id})
    broken = journal.verify(db).first_broken
    assert broken is not None and broken.stream == "user:t1"


def test_digest_is_canonical() -> None:
    assert journal.digest({"b": 1, "a": "甲"}) == journal.digest({"a": "甲", "b": 1})
    assert journal.canonical_json({"b": 1, "a": "甲"}) == '{"a":"甲","b":1}'


@pytest.mark.postgres
def test_a_wrong_head_hint_still_chains_correctly(db: Database) -> None:
    first, second = _write(db, "user:t1", 2)
    with db.transaction() as conn:
        third = journal.append(conn, stream="user:t1", actor="t1", kind="lockout", at=AT,
                               head=(first.seq, first.hash))
        fourth = journal.append(conn, stream="user:t1", actor="t1", kind="lockout", at=AT,
                                head=(third.seq, third.hash))
    assert (third.seq, third.prev_hash) == (3, second.hash)
    assert (fourth.seq, fourth.prev_hash) == (4, third.hash)
    assert journal.verify(db).ok


@pytest.mark.postgres
def test_verify_reads_in_batches_and_misses_nothing(db: Database) -> None:
    """Batches of two streams: every break is found wherever it falls, headless ones too."""
    written = {name: _write(db, name, 2) for name in ("user:a", "user:b", "user:c", "user:d")}
    _write(db, "user:e", 1)
    with db.transaction() as conn:
        conn.execute(text("UPDATE case_events SET note = 'x' WHERE id = :id"),
                     {"id": written["user:c"][1].id})
        conn.execute(text("DELETE FROM case_events WHERE stream = 'user:d'"))
    report = journal.verify(db, batch=2)
    assert sorted((b.stream, b.seq) for b in report.broken) == [("user:c", 2), ("user:d", None)]
    assert (report.streams, report.entries) == (5, 7)
    assert journal.verify(db, stream="user:d", batch=2).first_broken is not None
    assert journal.verify(db, stream="user:b", batch=2).ok
