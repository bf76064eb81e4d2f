"""``counter db``, ``branches``, ``users`` and ``audit`` through the real command line."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from engine.parcel import IDENTITY, TELLER, parcel_runtime
from sqlalchemy import text

from counter.cases.desk import Desk
from counter.cases.services import Services
from counter.config import get_settings
from counter.store.db import Database
from counter.store.users import get_user, verify_password

from .conftest import Invoke

ADD_BRANCH = ("branches", "add", "BJ001", "--name-zh", "北京", "--name-en", "Beijing")


@pytest.mark.postgres
def test_db_upgrade_creates_the_tables_and_can_run_again(
    counter_on_empty: Invoke, empty_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no alembic.ini needed where it runs
    first = counter_on_empty("db", "upgrade")
    assert first.exit_code == 0, first.output
    assert counter_on_empty("db", "upgrade").exit_code == 0
    assert counter_on_empty("audit", "verify").exit_code == 0


def test_commands_before_upgrade_say_what_to_do(counter_on_empty: Invoke) -> None:
    result = counter_on_empty("audit", "verify")
    assert result.exit_code == 1
    assert "counter db upgrade" in result.output and "Traceback" not in result.output


def test_db_backup_copies_a_live_database(
    counter: Invoke, db: Database, tmp_path: Path
) -> None:
    assert counter(*ADD_BRANCH).exit_code == 0
    target = tmp_path / "backups" / "copy.db"
    result = counter("db", "backup", str(target))
    assert result.exit_code == 0, result.output
    with sqlite3.connect(target) as copy:
        assert copy.execute("SELECT code FROM branches").fetchall() == [("BJ001",)]


@pytest.mark.postgres
def test_users_add_from_stdin_and_prompt(counter: Invoke, db: Database) -> None:
    assert counter(*ADD_BRANCH).exit_code == 0
    result = counter("users", "add", "tina", "--role", "teller", "--role", "supervisor",
                     "--branch", "BJ001", "--password-stdin", input="teller-pass-1\n")
    assert result.exit_code == 0, result.output
    user = get_user(db, username="tina")
    assert user.roles == ["supervisor", "teller"] and verify_password(user.password_hash,
                                                                      "teller-pass-1")
    prompted = counter("users", "add", "sam", "--role", "auditor", "--branch", "BJ001",
                       "--merchant", "898110000000001", input="audit-pass-1\naudit-pass-1\n")
    assert prompted.exit_code == 0, prompted.output
    assert get_user(db, username="sam").merchant_no == "898110000000001"
    assert "sam" in counter("users", "list").output


def test_refusals_are_bilingual_without_traceback(counter: Invoke) -> None:
    result = counter("users", "add", "x", "--role", "teller", "--branch", "NOPE",
                     "--password-stdin", input="long-enough-1\n")
    assert result.exit_code == 1
    assert "没有网点 NOPE" in result.output and "No branch NOPE" in result.output
    assert "Traceback" not in result.output


def _walked_case(db: Database) -> str:
    desk = Desk(db, parcel_runtime(), Services(db=db))
    case = desk.open_case(workflow="parcel_pickup", actor=TELLER)
    desk.fire(reference=case.reference, trigger="submit_identity", actor=TELLER, data=IDENTITY)
    desk.fire(reference=case.reference, trigger="cancel", actor=TELLER, data={"reason": "left"})
    return case.reference


@pytest.mark.postgres
def test_audit_verify_passes_then_names_an_edited_row(counter: Invoke, db: Database) -> None:
    reference = _walked_case(db)
    ok = counter("audit", "verify")
    assert ok.exit_code == 0 and "3 entries" in ok.output
    assert counter("audit", "verify", "--case", reference).exit_code == 0
    with db.transaction() as conn:
        victim = conn.execute(
            text("SELECT id FROM case_events WHERE stream = :s AND seq = 2"), {"s": reference}
        ).scalar_one()
        conn.execute(text("UPDATE case_events SET to_state = 'hand_over' WHERE id = :id"),
                     {"id": victim})
    result = counter("audit", "verify")
    assert result.exit_code == 1
    assert f"stream={reference} seq=2 id={victim}" in result.output


@pytest.mark.postgres
def test_audit_verify_fails_on_a_deleted_row(counter: Invoke, db: Database) -> None:
    reference = _walked_case(db)
    with db.transaction() as conn:
        conn.execute(text("DELETE FROM case_events WHERE stream = :s AND seq = 2"),
                     {"s": reference})
    result = counter("audit", "verify", "--case", reference)
    assert result.exit_code == 1 and reference in result.output


def test_audit_verify_of_an_unknown_case_fails(counter: Invoke) -> None:
    assert counter("audit", "verify", "--case", "BJ001-20260101-000001").exit_code == 1


def _branches(db: Database) -> list[str]:
    with db.read() as conn:
        return list(conn.execute(text("SELECT code FROM branches ORDER BY code")).scalars())


def test_db_restore_asks_then_writes_the_backup_and_moves_numbering_on(
    counter: Invoke, db: Database, tmp_path: Path
) -> None:
    assert counter(*ADD_BRANCH).exit_code == 0
    backup = tmp_path / "backups" / "copy.db"
    assert counter("db", "backup", str(backup)).exit_code == 0
    assert counter("branches", "add", "SH002", "--name-zh", "上海",
                   "--name-en", "Shanghai").exit_code == 0

    declined = counter("db", "restore", str(backup), input="n\n")
    assert declined.exit_code == 1 and _branches(db) == ["BJ001", "SH002"]

    result = counter("db", "restore", str(backup), input="y\n")
    assert result.exit_code == 0, result.output
    assert "restored from" in result.output and "the journal verifies" in result.output
    assert _branches(db) == ["BJ001"]
    with db.read() as conn:
        numbering = conn.execute(text("SELECT branch, last FROM case_sequences")).all()
    assert [tuple(row) for row in numbering] == [("BJ001", 100_000)]


def test_db_restore_refuses_what_is_not_a_counter_backup(
    counter: Invoke, db: Database, tmp_path: Path
) -> None:
    assert counter(*ADD_BRANCH).exit_code == 0
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all " * 100)
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as other:
        other.execute("CREATE TABLE notes (body TEXT)")
    other.close()
    assert db.path is not None
    for backup, said in [(db.path, "cannot be the database itself"),
                         (junk, "is not a SQLite database"),
                         (foreign, "is not a counter database")]:
        result = counter("db", "restore", str(backup), "--yes")
        assert result.exit_code == 1 and said in result.output, result.output
        assert "Traceback" not in result.output
    assert _branches(db) == ["BJ001"]


def test_db_restore_sends_postgresql_to_pg_restore(
    counter: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backup = tmp_path / "copy.dump"
    backup.write_bytes(b"PGDMP")
    monkeypatch.setenv("COUNTER_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:9/none")
    get_settings.cache_clear()
    result = counter("db", "restore", str(backup), "--yes")
    assert result.exit_code == 1
    assert "pg_restore" in result.output and "docs/operations.md" in result.output


def test_db_restore_fails_when_the_restored_journal_does_not_verify(
    counter: Invoke, db: Database, tmp_path: Path
) -> None:
    _walked_case(db)
    backup = tmp_path / "copy.db"
    assert counter("db", "backup", str(backup)).exit_code == 0
    with sqlite3.connect(backup) as copy:
        copy.execute("UPDATE case_events SET to_state = 'hand_over' WHERE seq = 2")
    copy.close()
    result = counter("db", "restore", str(backup), "--yes")
    assert result.exit_code == 1
    assert "the restored journal does not verify" in result.output


def test_users_add_refuses_a_common_password_or_the_users_name(counter: Invoke) -> None:
    assert counter(*ADD_BRANCH).exit_code == 0
    common = counter("users", "add", "tina", "--role", "teller", "--branch", "BJ001",
                     "--password-stdin", input="password123\n")
    assert common.exit_code == 1
    assert "常见密码" in common.output and "common password" in common.output
    named = counter("users", "add", "tina", "--role", "teller", "--branch", "BJ001",
                    "--display-name", "王芳", "--password-stdin", input="王芳-counter-2026\n")
    assert named.exit_code == 1 and "name" in named.output
    assert "tina" not in counter("users", "list").output


@pytest.mark.postgres
def test_users_set_password_resets_unlocks_and_ends_sessions(
    counter: Invoke, db: Database
) -> None:
    from datetime import timedelta

    from counter.store import lockout
    from counter.store.db import utcnow
    from counter.web.sessions import create_session, lookup

    assert counter(*ADD_BRANCH).exit_code == 0
    assert counter("users", "add", "tina", "--role", "teller", "--branch", "BJ001",
                   "--password-stdin", input="teller-pass-1\n").exit_code == 0
    policy = lockout.LockoutPolicy(after=2, duration=timedelta(minutes=15))
    for _ in range(2):
        lockout.check_password(db, username="tina", password="wrong-one", where="sign_in",
                               now=utcnow(), policy=policy)
    assert lockout.locked_until(db, username="tina", now=utcnow()) is not None
    token, _ = create_session(db, username="tina", kind="bearer", now=utcnow())
    assert lookup(db, token=token) is not None
    weak = counter("users", "set-password", "tina", "--password-stdin", input="12345678\n")
    assert weak.exit_code == 1 and "常见密码" in weak.output
    done = counter("users", "set-password", "tina", "--password-stdin", input="Fresh-start-42\n")
    assert done.exit_code == 0, done.output
    assert lockout.locked_until(db, username="tina", now=utcnow()) is None
    assert lookup(db, token=token) is None
    verdict = lockout.check_password(db, username="tina", password="Fresh-start-42",
                                     where="sign_in", now=utcnow(), policy=policy)
    assert verdict is lockout.Verdict.RIGHT


def test_users_unlock_lifts_a_lockout_and_journals_it(counter: Invoke, db: Database) -> None:
    from datetime import timedelta

    from counter.store import journal, lockout
    from counter.store.db import utcnow

    assert counter(*ADD_BRANCH).exit_code == 0
    assert counter("users", "add", "tina", "--role", "teller", "--branch", "BJ001",
                   "--password-stdin", input="teller-pass-1\n").exit_code == 0
    policy = lockout.LockoutPolicy(after=1, duration=timedelta(minutes=15))
    lockout.check_password(db, username="tina", password="wrong-one", where="sign_in",
                           now=utcnow(), policy=policy)
    assert lockout.locked_until(db, username="tina", now=utcnow()) is not None
    assert counter("users", "unlock", "nobody").exit_code == 1
    done = counter("users", "unlock", "tina")
    assert done.exit_code == 0, done.output
    assert lockout.locked_until(db, username="tina", now=utcnow()) is None
    with db.read() as conn:
        assert journal.entries(conn, "user:tina")[-1].kind == "unlock"
