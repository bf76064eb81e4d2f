"""Waking the outbox worker when a step that wrote outbox messages commits.

A web process *rings* after such a commit; the worker *listens* and wakes at
once instead of waiting for its next poll. The bell carries no data: the
outbox table is the only record of what is due, so a ring that is lost (the
worker restarting, a full buffer) only delays a delivery until the worker's
fallback poll, and a ring with nothing due costs one read.

* **PostgreSQL**: ``NOTIFY counter_outbox`` / ``LISTEN counter_outbox``. The
  server delivers to every listener of the database, on any machine, so a
  worker may run apart from the web processes.
* **SQLite**: a datagram on a Unix socket in the abstract namespace (Linux),
  its name derived from the database file's path, so every process on this
  machine using the file rings the same bell and nothing is left on disk.
  Only one worker can listen on it; a second one falls back to polling.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import logging
import select
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol

from counter.store.db import Database

__all__ = ["CHANNEL", "Doorbell", "Listener", "doorbell_for"]

log = logging.getLogger(__name__)

CHANNEL = "counter_outbox"
BIND_PATIENCE = 3.0  # seconds a new SQLite listener waits for the name to be free


class Listener(Protocol):
    def wait(self, timeout: float) -> bool:
        """Block until rung or ``timeout`` seconds pass; True when rung (every ring taken)."""


class Doorbell(Protocol):
    def ring(self) -> None:
        """Wake the listening worker, if any; never raises, never blocks."""

    def listen(self) -> AbstractContextManager[Listener]:
        """Listen for rings while the context is open."""


class _Sleeper:
    """A listener that is never rung: the worker's fallback poll alone."""

    def wait(self, timeout: float) -> bool:
        time.sleep(max(0.0, timeout))
        return False


_senders: list[socket.socket] = []  # the process's one sending socket, made on first ring
_senders_guard = threading.Lock()


def _sender() -> socket.socket:
    with _senders_guard:
        if not _senders:
            sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            sender.setblocking(False)
            _senders.append(sender)
            atexit.register(sender.close)
        return _senders[0]


class SocketDoorbell:
    """The bell of one SQLite file on this machine (see the module docstring)."""

    def __init__(self, key: str) -> None:
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
        self.address = b"\0counter-outbox-" + digest.encode("ascii")

    def ring(self) -> None:
        # Nobody listening, or rings already queued: either way, nothing to do.
        with contextlib.suppress(OSError):
            _sender().sendto(b"!", self.address)

    @contextmanager
    def listen(self) -> Iterator[Listener]:
        receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        deadline = time.monotonic() + BIND_PATIENCE
        while True:
            try:
                receiver.bind(self.address)
                break
            except OSError as exc:  # a worker that is stopping may hold it a moment longer
                if time.monotonic() < deadline:
                    time.sleep(0.1)
                    continue
                receiver.close()
                log.warning("another worker listens for this database's commits (%s): polling",
                            exc)
                yield _Sleeper()
                return
        receiver.setblocking(False)
        try:
            yield _SocketListener(receiver)
        finally:
            receiver.close()


class _SocketListener:
    def __init__(self, receiver: socket.socket) -> None:
        self.receiver = receiver

    def wait(self, timeout: float) -> bool:
        readable, _, _ = select.select([self.receiver], [], [], max(0.0, timeout))
        if not readable:
            return False
        while True:  # take every ring queued: one round delivers for all of them
            try:
                self.receiver.recv(64)
            except BlockingIOError:
                return True


class PostgresDoorbell:
    """``NOTIFY``/``LISTEN`` on the channel ``counter_outbox`` of the database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def ring(self) -> None:
        try:
            with self.db.engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                    f"NOTIFY {CHANNEL}"
                )
        except Exception:  # the worker's poll delivers it anyway
            log.warning("could not ring the outbox worker", exc_info=True)

    @contextmanager
    def listen(self) -> Iterator[Listener]:
        listener = _PostgresListener(self.db)
        try:
            yield listener
        finally:
            listener.close()


class _PostgresListener:
    """A connection of its own, out of the pool, in autocommit, listening on the channel.

    A broken connection is dropped and opened again at the next wait;
    meanwhile the worker polls.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self._conn: Any = None

    def _connection(self) -> Any:
        if self._conn is None:
            raw = self.db.engine.raw_connection()
            conn: Any = raw.driver_connection
            raw.detach()  # kept for the worker's life, never returned to the pool
            self._conn = conn
            conn.autocommit = True
            conn.execute(f"LISTEN {CHANNEL}")
        return self._conn

    def wait(self, timeout: float) -> bool:
        started = time.monotonic()
        try:
            conn = self._connection()
            rung = False
            for _ in conn.notifies(timeout=max(0.0, timeout), stop_after=1):
                rung = True
            if rung:  # take the rings already queued too
                for _ in conn.notifies(timeout=0.0):
                    pass
            return rung
        except Exception:
            log.warning("listening for commits failed; polling until it works again",
                        exc_info=True)
            self.close()
            time.sleep(max(0.0, timeout - (time.monotonic() - started)))
            return False

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:
                log.debug("closing the listening connection failed", exc_info=True)


def doorbell_for(db: Database) -> SocketDoorbell | PostgresDoorbell:
    """The bell of ``db``: NOTIFY on PostgreSQL, a local socket for a SQLite file."""
    if not db.is_sqlite:
        return PostgresDoorbell(db)
    if not sys.platform.startswith("linux"):
        log.warning("no commit bell for SQLite on %s: the worker polls", sys.platform)
    return SocketDoorbell(str(db.path.resolve()) if db.path is not None else db.url)
