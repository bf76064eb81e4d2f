"""``counter db backup`` while tellers work, then restore: the journal and every case check out."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from counter.cases.records import REFERENCE_ZONE
from counter.cli import app
from counter.config import get_settings
from counter.engine import Actor
from counter.store import journal
from counter.store.db import Database, utcnow

from . import SUPERVISOR, TELLER, TELLER2, errand_desk, inconsistencies, open_errand

WRITERS = (TELLER, TELLER2)
BEFORE_BACKUP = 15  # cases finished before the backup starts
AFTER_BACKUP = 10  # and after it ends, so that it ran in the middle of the work


class Writers:
    """Tellers in threads walking errands to their end until stopped (a supervisor approves)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.stop = threading.Event()
        self.finished = 0
        self.errors: list[BaseException] = []
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._work, args=(a,)) for a in WRITERS]

    def _work(self, actor: Actor) -> None:
        db = Database(self.url)
        desk = errand_desk(db)
        try:
            n = 0
            while not self.stop.is_set():
                n += 1
                reference = open_errand(desk, amount=5000 if n % 4 == 0 else 10, actor=actor)
                case = desk.get(reference=reference, actor=actor)
                if case.state == "review":
                    case = desk.approve(reference=reference, actor=SUPERVISOR,
                                        version=case.version)
                if n % 5 == 0:
                    desk.fire(reference=reference, trigger="cancel", actor=actor,
                              data={"reason": "customer left"}, version=case.version)
                else:  # the outbox answers at once: sign_off ends in "done"
                    desk.fire(reference=reference, trigger="sign_off", actor=actor,
                              version=case.version)
                with self._lock:
                    self.finished += 1
        except BaseException as exc:
            self.errors.append(exc)
        finally:
            db.dispose()

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def wait_for(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.finished < count and not self.errors:
            assert time.monotonic() < deadline, f"only {self.finished} cases in {timeout} s"
            time.sleep(0.01)

    def join(self) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join()
        assert self.errors == []


def _entries(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(text("SELECT count(*) FROM case_events")).scalar_one())


def _backup_command(db: Database, target: Path, cwd: Path) -> list[str]:
    """``counter db backup`` in a process of its own, as an operator would run it."""
    env = {**os.environ, "COUNTER_DATABASE_URL": db.url}
    done = subprocess.run(
        [sys.executable, "-m", "counter.cli", "db", "backup", str(target)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def _restore(backup: Path, database_file: Path | str) -> None:
    """Write ``backup`` into the database file through SQLite (the app is stopped)."""
    source, target = sqlite3.connect(backup), sqlite3.connect(database_file)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()


@pytest.fixture
def cli_on(monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def _audit_verify(runner: CliRunner, url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("COUNTER_DATABASE_URL", url)
    get_settings.cache_clear()
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.slow
def test_a_backup_taken_while_tellers_work_restores_and_verifies(
    db: Database, tmp_path: Path, cli_on: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    backup = tmp_path / "backups" / "counter-backup.db"
    writers = Writers(db.url)
    writers.start()
    try:
        writers.wait_for(BEFORE_BACKUP)
        lines = _backup_command(db, backup, tmp_path)
        done_at_backup = writers.finished
        writers.wait_for(done_at_backup + AFTER_BACKUP)
    finally:
        writers.join()
    assert any("backed up" in line for line in lines)

    # Restore by opening the copy as the database.
    restored = Database(f"sqlite:///{tmp_path / 'restored' / 'counter.db'}")
    shutil.copyfile(backup, restored.path or "")
    report = journal.verify(restored)
    assert report.ok, report.first_broken
    assert 0 < report.entries < _entries(db)  # taken in the middle of the work
    desk = errand_desk(restored)
    assert inconsistencies(restored, desk) == []
    assert f"{report.entries} entries" in _audit_verify(cli_on, restored.url, monkeypatch)

    # The restored database goes on working: a new case, start to end.
    reference = open_errand(desk)
    desk.fire(reference=reference, trigger="sign_off", actor=TELLER, version=2)
    assert desk.get(reference=reference, actor=TELLER).state == "done"
    assert journal.verify(restored).ok and inconsistencies(restored, desk) == []
    restored.dispose()


@pytest.mark.slow
def test_restoring_in_place_over_a_live_file_with_its_wal(
    db: Database, tmp_path: Path, cli_on: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Restore with SQLite's backup API into the database file (what ``db restore`` would do).

    The app was killed, so the database's ``-wal`` file is still there.
    Copying the backup over the database file would leave that WAL to be
    replayed onto the copy at the next open, bringing back the very writes
    the restore meant to undo; writing the backup through SQLite does not.
    """
    backup = tmp_path / "counter-backup.db"
    writers = Writers(db.url)
    writers.start()
    try:
        writers.wait_for(BEFORE_BACKUP)
        _backup_command(db, backup, tmp_path)
        writers.wait_for(writers.finished + AFTER_BACKUP)
    finally:
        writers.join()
    with sqlite3.connect(backup) as copy:
        in_backup = int(copy.execute("SELECT count(*) FROM case_events").fetchone()[0])
    assert db.path is not None
    wal = Path(f"{db.path}-wal")
    assert _entries(db) > in_backup
    kept = wal.read_bytes()
    db.dispose()  # the app is stopped for the restore...
    wal.write_bytes(kept)  # ...by a kill, which leaves the WAL behind
    _restore(backup, db.path)

    assert _entries(db) == in_backup
    assert journal.verify(db).ok
    assert inconsistencies(db, errand_desk(db)) == []
    _audit_verify(cli_on, db.url, monkeypatch)


def _issue_after_a_backup(db: Database, backup: Path, cwd: Path) -> set[str]:
    """Back up, then open three more cases (on today's real date): their numbers."""
    desk = errand_desk(db, utcnow)
    open_errand(desk)
    _backup_command(db, backup, cwd)
    issued_after = {open_errand(desk) for _ in range(3)}
    db.dispose()  # the app is stopped for the restore
    return issued_after


def test_the_documented_restore_gives_no_case_number_out_twice(
    db: Database, tmp_path: Path
) -> None:
    """docs/operations.md, "After any restore": today's numbering moves on for each branch.

    The acquirer and the SMS gateway take the case reference as idempotency
    key: a reused reference would get the earlier case's answer, and nothing
    would be done.
    """
    backup = tmp_path / "counter-backup.db"
    issued_after = _issue_after_a_backup(db, backup, tmp_path)
    _restore(backup, db.path or "")
    today = utcnow().astimezone(REFERENCE_ZONE).strftime("%Y%m%d")
    with db.transaction() as conn:
        conn.execute(
            text("INSERT INTO case_sequences (branch, day, last) VALUES ('BJ001', :day, 100000) "
                 "ON CONFLICT (branch, day) DO UPDATE SET last = case_sequences.last + 100000"),
            {"day": today},
        )
    assert open_errand(errand_desk(db, utcnow)) not in issued_after


def test_counter_db_restore_gives_no_case_number_out_twice(
    db: Database, tmp_path: Path, cli_on: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    backup = tmp_path / "counter-backup.db"
    issued_after = _issue_after_a_backup(db, backup, tmp_path)
    monkeypatch.setenv("COUNTER_DATABASE_URL", db.url)
    get_settings.cache_clear()
    result = cli_on.invoke(app, ["db", "restore", str(backup), "--yes"])
    assert result.exit_code == 0, result.output
    assert journal.verify(db).ok
    assert open_errand(errand_desk(db, utcnow)) not in issued_after
