"""The database set-up: SQLite pragmas, transactions, and UTC timestamps on both databases."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel

from counter.store.db import Database
from counter.store.migrate import import_table_modules
from counter.store.prepared import Prepared
from counter.store.tables import Branch, TellerCase, WorkflowDefinition


def test_sqlite_runs_wal_with_full_sync(db: Database) -> None:
    with db.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000


def test_write_transactions_do_not_nest(db: Database) -> None:
    with db.transaction(), pytest.raises(RuntimeError), db.transaction():
        pass


@pytest.mark.postgres
def test_a_failed_transaction_leaves_nothing(db: Database) -> None:
    with pytest.raises(ZeroDivisionError), db.session() as session:
        session.add(Branch(code="BJ001", name_zh="北京", name_en="Beijing"))
        session.flush()
        raise ZeroDivisionError
    with db.read_session() as session:
        assert session.get(Branch, "BJ001") is None


@pytest.mark.postgres
def test_timestamps_read_back_in_utc(db: Database) -> None:
    at = datetime(2026, 11, 25, 18, 0, 1, 123456, tzinfo=timezone(timedelta(hours=8)))
    with db.session() as session:
        session.add(WorkflowDefinition(hash="a" * 64, name="w", bundle="{}", stored_at=at))
    with db.read_session() as session:
        stored = session.get(WorkflowDefinition, "a" * 64)
    assert stored is not None
    assert stored.stored_at == at
    assert stored.stored_at.tzinfo == UTC


def test_writers_queue_instead_of_failing(db: Database) -> None:
    """Threads writing at once all commit: the process-wide lock queues them."""
    with db.session() as session:
        session.add(WorkflowDefinition(hash="b" * 64, name="w", bundle="{}"))
    errors: list[BaseException] = []

    def open_cases(n: int) -> None:
        try:
            for i in range(10):
                with db.transaction() as conn:
                    conn.execute(
                        TellerCase.__table__.insert(),  # type: ignore[attr-defined]
                        {
                            "reference": f"T{n}-{i}",
                            "workflow": "w",
                            "definition_hash": "b" * 64,
                            "state": "s",
                            "data": {},
                            "version": 1,
                            "branch": "BJ001",
                            "channel": "counter",
                            "opened_by": "t",
                            "opened_at": datetime.now(UTC),
                            "updated_at": datetime.now(UTC),
                        },
                    )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_cases, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with db.read() as conn:
        count = conn.execute(select(text("count(*)")).select_from(text("teller_case"))).scalar()
    assert count == 40


def test_the_writer_runs_full_sync_too(db: Database) -> None:
    """Writes share one connection; it has the same durable settings as any other."""
    with db.transaction() as conn:
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_a_write_after_the_connection_broke_gets_a_new_one(db: Database) -> None:
    with pytest.raises(Exception, match="closed database"), db.transaction() as conn:
        conn.connection.driver_connection.close()  # type: ignore[union-attr]
        conn.execute(text("SELECT 1"))
    with db.session() as session:
        session.add(Branch(code="BJ002", name_zh="北京二", name_en="Beijing 2"))
    with db.read_session() as session:
        assert session.get(Branch, "BJ002") is not None


@pytest.mark.postgres
def test_a_read_sees_one_snapshot_while_others_commit(db: Database) -> None:
    with db.session() as session:
        session.add(Branch(code="BJ003", name_zh="北京三", name_en="Before"))
    name = select(Branch.name_en).where(Branch.code == "BJ003")  # type: ignore[arg-type]
    with db.read() as conn:
        first = conn.execute(name).scalar()
        with db.transaction() as writer:
            writer.execute(text("UPDATE branches SET name_en = 'After' WHERE code = 'BJ003'"))
        again = conn.execute(name).scalar()
    assert first == again == "Before"
    with db.read() as conn:
        assert conn.execute(name).scalar() == "After"


def _definition(code: str) -> dict[str, object]:
    return {"hash": code * 64, "name": "w", "bundle": "{}", "stored_at": datetime.now(UTC)}


@pytest.mark.postgres
@pytest.mark.parametrize("fail", [False, True])
def test_core_and_prepared_statements_share_one_transaction(db: Database, fail: bool) -> None:
    """On SQLite the writer's transaction is begun on the driver and Core statements join it."""
    definitions = WorkflowDefinition.__table__  # type: ignore[attr-defined]
    add = Prepared(insert(definitions))
    with pytest.raises(ZeroDivisionError) if fail else nullcontext(), db.transaction() as conn:
        add.execute(conn, _definition("a"))
        conn.execute(insert(definitions), _definition("b"))
        add.execute(conn, _definition("c"))
        if fail:
            raise ZeroDivisionError
    with db.read() as conn:
        stored = conn.execute(select(definitions.c.name)).all()
    assert len(stored) == (0 if fail else 3)
    with db.session() as session:  # and the writer goes on working
        session.add(Branch(code="BJ004", name_zh="北京四", name_en="Beijing 4"))
    with db.read_session() as session:
        assert session.get(Branch, "BJ004") is not None


@pytest.mark.parametrize("joined", [False, True])
def test_a_failed_commit_keeps_nothing_and_the_next_write_works(
    db: Database, joined: bool
) -> None:
    """A commit refused by SQLite (here a deferred foreign key) is SQLAlchemy's error.

    ``joined``: a Core statement ran too, so the commit goes through SQLAlchemy.
    """
    cases = TellerCase.__table__  # type: ignore[attr-defined]
    orphan = {
        "reference": "T-orphan", "workflow": "w", "definition_hash": "f" * 64, "state": "s",
        "data": {}, "version": 1, "branch": "BJ001", "channel": "counter", "opened_by": "t",
        "opened_at": datetime.now(UTC), "updated_at": datetime.now(UTC), "journal_seq": 0,
        "journal_hash": "0" * 64,
    }
    with pytest.raises(IntegrityError, match="FOREIGN KEY"), db.transaction() as conn:
        # Checked at commit instead of at the insert (set on the driver, not to join Core).
        conn.connection.driver_connection.execute(  # type: ignore[union-attr]
            "PRAGMA defer_foreign_keys=ON"
        )
        Prepared(insert(cases)).execute(conn, orphan)
        if joined:
            conn.execute(select(text("1")))
    with db.read() as conn:
        assert conn.execute(select(cases.c.reference)).all() == []
    definitions = WorkflowDefinition.__table__  # type: ignore[attr-defined]
    with db.transaction() as conn:
        Prepared(insert(definitions)).execute(conn, _definition("e"))
    with db.read() as conn:
        assert conn.execute(select(definitions.c.hash)).scalars().all() == ["e" * 64]


_OTHER_WRITER = """
import sys
from sqlalchemy import text
from counter.store.db import Database

db = Database(sys.argv[1], busy_timeout_ms=50)
print("ready", flush=True)
with db.transaction() as conn:
    conn.execute(text("INSERT INTO branches (code, name_zh, name_en) VALUES ('SH001', 'x', 'y')"))
db.dispose()
"""


def test_sqlite_writers_of_other_processes_queue_instead_of_timing_out(tmp_path: Path) -> None:
    """A process that meets another's write waits its turn (the file lock), however short its
    busy timeout: here 50 ms, while this process holds its transaction for half a second."""
    import_table_modules()
    db = Database(f"sqlite:///{tmp_path / 'counter.db'}", busy_timeout_ms=50)
    try:
        SQLModel.metadata.create_all(db.engine)
        with db.transaction() as conn:
            conn.execute(text("INSERT INTO branches (code, name_zh, name_en) "
                              "VALUES ('BJ001', 'x', 'y')"))
            other = subprocess.Popen([sys.executable, "-c", _OTHER_WRITER, db.url],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            assert other.stdout is not None
            assert other.stdout.readline() == b"ready\n"
            time.sleep(0.5)  # the other process's busy timeout passes ten times meanwhile
            assert other.poll() is None  # it waits for the lock, it did not fail
        _, errors = other.communicate(timeout=60)
        assert other.returncode == 0, errors.decode(errors="replace")
        with db.read() as conn:
            assert conn.execute(text("SELECT code FROM branches ORDER BY code")).scalars().all(
            ) == ["BJ001", "SH001"]
    finally:
        db.dispose()
