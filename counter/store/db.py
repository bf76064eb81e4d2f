"""The database: one SQLAlchemy engine, SQLite (embedded default) or PostgreSQL.

SQLite runs in WAL mode with ``synchronous=FULL`` so that a committed trigger
survives a power cut. Writers are serialized inside the process by a lock
taken before ``BEGIN IMMEDIATE``, and across the processes sharing the file
(``counter serve`` runs one per core, plus the outbox worker) by an
exclusive ``flock`` on ``<database>-writer.lock`` taken next: SQLite's own
busy handler makes competing writers spin and sleep (p99 of a second on
these machines), the locks make them queue. The busy timeout stays as the
backstop for a process that writes without them (``sqlite3`` by hand).
Readers use plain deferred transactions and never wait for either lock.

The hot path (firing a trigger) uses :meth:`Database.transaction`, which
yields a SQLAlchemy Core ``Connection``; cold paths (users, set-up) use
:meth:`Database.session` for an ORM session in the same write discipline.
Since SQLite writers take turns anyway, they share one connection kept out
of the pool (the writer): checking a connection out of the pool and back in
cost more Python than the rest of a transaction's bookkeeping together. For
the same reason the writer's transaction is begun and ended on the driver
(``BEGIN IMMEDIATE``, ``commit``): SQLAlchemy's ``Transaction`` objects cost
about 15 µs of the ~220 µs of Python in a trigger. A Core statement run inside
joins that transaction: SQLAlchemy begins its own bookkeeping, the ``begin``
hook sees the driver already in a transaction and emits nothing, and the
end goes through SQLAlchemy so that both sides finish together.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.pool import ConnectionPoolEntry
from sqlmodel import Session, SQLModel

from counter.config import Settings, get_settings

__all__ = [
    "Database",
    "JoinedWrites",
    "as_utc",
    "driver_error",
    "json_default",
    "utcnow",
    "write_transactions",
]

log = logging.getLogger(__name__)

_write_locks: dict[str, threading.Lock] = {}
_write_locks_guard = threading.Lock()
_begun = [0]  # write transactions begun in this process, every Database together
_begun_guard = threading.Lock()


def write_transactions() -> int:
    """How many write transactions this process has begun so far (the benchmarks count them)."""
    with _begun_guard:
        return _begun[0]


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC (what every column stores)."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """``value`` in UTC; a naive value is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def json_default(value: Any) -> Any:
    """JSON for the few non-JSON values form data may hold (dates, money as Decimal)."""
    if isinstance(value, datetime):
        return as_utc(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def driver_error(exc: sqlite3.Error, statement: str) -> StatementError:
    """A sqlite3 error raised where we call the driver ourselves, as SQLAlchemy reports it.

    Callers catch one family of errors (``sqlalchemy.exc.IntegrityError``,
    ``OperationalError``...) whichever way the statement ran.
    """
    return DBAPIError.instance(statement, None, exc, sqlite3.Error, hide_parameters=True)


# One encoder for the process: json.dumps with options builds a new encoder per call.
_dumps = json.JSONEncoder(ensure_ascii=False, default=json_default).encode


def _write_lock(key: str) -> threading.Lock:
    with _write_locks_guard:
        return _write_locks.setdefault(key, threading.Lock())


class JoinedWrites:
    """Writes decided during a step that ride in the step's own transaction.

    A check that must write once it knows its answer (the lockout resetting
    a teller's count after a right sign-off password) adds the write here
    instead of committing a transaction of its own; the step runs it first
    in its transaction, or in the transaction that journals its refusal.
    What is still pending when the scope ends (the step failed before
    either) is written then, in a transaction of its own, so the write is
    never lost but to a crash, which loses the step too. A write answers
    ``False`` when what it decided on no longer holds (the account was
    locked meanwhile): the step is then decided again.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self._pending: list[Callable[[Connection], bool]] = []
        self._ran: list[Callable[[Connection], bool]] = []

    def add(self, write: Callable[[Connection], bool]) -> None:
        self._pending.append(write)

    def run(self, conn: Connection) -> bool:
        """Run the pending writes in ``conn``'s transaction; ``False`` if one no longer held.

        Should that transaction roll back, ``rolled_back`` makes them pending again.
        """
        self._ran, self._pending = self._pending, []
        held = [write(conn) for write in self._ran]  # every one, even after a False
        return all(held)

    def rolled_back(self) -> None:
        """The transaction of the last ``run`` rolled back: its writes are pending again."""
        self._pending, self._ran = self._ran + self._pending, []

    def flush(self) -> None:
        """Write what is still pending, in a transaction of its own."""
        if self._pending:
            with self.db.transaction() as conn:
                self.run(conn)


_joined: ContextVar[JoinedWrites | None] = ContextVar("counter_joined_writes", default=None)


class Database:
    """An engine plus the transaction discipline of counter (see the module docstring)."""

    def __init__(self, url: str, *, echo: bool = False, busy_timeout_ms: int = 10_000) -> None:
        self.url = url
        parsed = make_url(url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        self.path: Path | None = None
        if self.is_sqlite:
            if parsed.database and parsed.database != ":memory:":
                self.path = Path(parsed.database)
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self.engine: Engine = create_engine(
                url,
                echo=echo,
                hide_parameters=True,  # bound values are ID, card and phone numbers
                json_serializer=_dumps,
                connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
            )
            self._install_sqlite_hooks(busy_timeout_ms)
            self._lock: threading.Lock | None = _write_lock(str(self.path or id(self)))
            self._file_lock: int | None = None
            if self.path is not None:
                lock_path = self.path.with_name(f"{self.path.name}-writer.lock")
                self._file_lock = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
                self._close_file_lock = weakref.finalize(self, os.close, self._file_lock)
        else:
            self.engine = create_engine(
                url,
                echo=echo,
                hide_parameters=True,  # bound values are ID, card and phone numbers
                json_serializer=_dumps,
                pool_pre_ping=True,
            )
            self._lock = None
            self._file_lock = None
        self._local = threading.local()
        self._writer: Connection | None = None  # SQLite only; used under self._lock

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Database:
        return cls((settings or get_settings()).database_url)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    def _install_sqlite_hooks(self, busy_timeout_ms: int) -> None:
        @event.listens_for(self.engine, "connect")
        def _on_connect(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
            # pysqlite's own implicit BEGIN comes too late (not before a SELECT);
            # take transaction control away from it and emit BEGIN ourselves.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cursor.close()

        @event.listens_for(self.engine, "begin")
        def _on_begin(connection: Connection) -> None:
            driver = connection.connection.driver_connection
            assert driver is not None
            if not driver.in_transaction:  # in the writer's transaction, a statement joins it
                driver.execute("BEGIN")

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A write transaction: commits on normal exit, rolls back on any exception.

        On SQLite only one runs at a time in this process. Do not nest them.
        """
        if getattr(self._local, "writing", False):
            raise RuntimeError("write transactions do not nest")
        with _begun_guard:
            _begun[0] += 1
        lock = self._lock
        with lock if lock is not None else nullcontext():
            self._local.writing = True
            try:
                if lock is None:  # PostgreSQL: writers run side by side on pooled connections
                    with self.engine.connect() as conn, conn.begin():
                        yield conn
                else:
                    with self._other_processes_wait():
                        conn = self._writer_connection()
                        driver = conn.connection.driver_connection
                        assert driver is not None
                        try:
                            driver.execute("BEGIN IMMEDIATE")
                        except sqlite3.Error as exc:
                            raise driver_error(exc, "BEGIN IMMEDIATE") from exc
                        try:
                            yield conn
                        except BaseException:
                            self._end_write(conn, driver, commit=False)
                            raise
                        self._end_write(conn, driver, commit=True)
            finally:
                self._local.writing = False

    @contextmanager
    def joined_writes(self) -> Iterator[JoinedWrites]:
        """A scope whose checks hand their writes to its step (see :class:`JoinedWrites`)."""
        scope = JoinedWrites(self)
        token = _joined.set(scope)
        failed = True
        try:
            yield scope
            failed = False
        finally:
            _joined.reset(token)
            if failed:  # the error that ended the step is the one to report
                try:
                    scope.flush()
                except Exception:
                    log.warning("writing what a failed step's checks decided failed",
                                exc_info=True)
            else:
                scope.flush()

    def joining(self) -> JoinedWrites | None:
        """The scope of the step being decided on this database in this context, if any."""
        scope = _joined.get()
        return scope if scope is not None and scope.db is self else None

    @contextmanager
    def _other_processes_wait(self) -> Iterator[None]:
        """Hold the file's writer lock (``flock``; see the module docstring).

        The kernel drops it when the process dies, however it dies, so a killed
        writer never leaves the others waiting.
        """
        fd = self._file_lock
        if fd is None:
            yield
            return
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def _end_write(self, conn: Connection, driver: Any, *, commit: bool) -> None:
        """Commit or roll back the writer's transaction (see the module docstring).

        A writer that fails to is closed, which makes SQLite roll back whatever
        it had begun, and the next transaction opens a new one. A failed
        rollback is only logged: the error that made the caller roll back is
        the one to report.
        """
        try:
            if conn.get_transaction() is not None:  # a Core statement joined
                if commit:
                    conn.commit()
                else:
                    conn.rollback()
            elif commit:
                try:
                    driver.commit()
                except sqlite3.Error as exc:
                    raise driver_error(exc, "COMMIT") from exc
            else:
                driver.rollback()
        except Exception:
            self._close_writer(broken=True)
            if commit:
                raise
            log.warning("rolling back the writer failed; it was closed instead", exc_info=True)

    def _writer_connection(self) -> Connection:
        conn = self._writer
        if conn is None or conn.closed:
            conn = self.engine.connect()
            self._writer = conn
        return conn

    def _close_writer(self, *, broken: bool = False) -> None:
        conn, self._writer = self._writer, None
        if conn is not None:
            if broken:
                conn.invalidate()  # closes the driver connection, whatever state it is in
            conn.close()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction seeing one consistent snapshot (rolled back at exit).

        SQLite (WAL) takes the snapshot at the first read; PostgreSQL needs
        REPEATABLE READ for that, its default READ COMMITTED sees each
        statement's own. Read-only, such a transaction never fails to serialize.
        """
        with self.engine.connect() as conn:
            if not self.is_sqlite:
                conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            with conn.begin() as tx:
                try:
                    yield conn
                finally:
                    tx.rollback()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """An ORM session inside a write transaction; flushed and committed at exit."""
        with self.transaction() as conn:
            if conn.get_transaction() is None:
                # Begun on the driver only (SQLite): let SQLAlchemy know, or the
                # session would own a transaction of its own and roll it back at close.
                conn.begin()
            with Session(bind=conn) as session:
                yield session
                session.flush()

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """An ORM session for reading; nothing it does is committed."""
        with self.read() as conn, Session(bind=conn) as session:
            yield session

    def create_all(self) -> None:
        """Create every table straight from the models (tests); operators use migrations."""
        from counter.store import tables  # noqa: F401  (registers the tables)

        SQLModel.metadata.create_all(self.engine)

    def dispose(self) -> None:
        if self._lock is not None:
            with self._lock:
                self._close_writer()
                if self._file_lock is not None:
                    self._file_lock = None
                    self._close_file_lock()
        self.engine.dispose()
