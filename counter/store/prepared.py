"""Core statements compiled once and run straight on the SQLite driver: the hot path.

A Core ``conn.execute`` costs about 50 µs of Python per statement on these
machines, ten times the statement itself; one trigger runs three or four.
:class:`Prepared` compiles a statement once per set of parameter names,
keeps each parameter's bind processor (JSON, UTC timestamps), and then
hands the SQL string and processed values to the sqlite3 cursor of the
connection's current transaction. The statement and types are still
SQLAlchemy's, and so are the errors (``sqlalchemy.exc.IntegrityError``...);
only the per-call bookkeeping is skipped.

A JSON value the caller has already encoded (the case data, hashed for
the journal as canonical JSON anyway) can be passed as :class:`JSONText`
and goes to the driver as it is instead of being encoded a second time.

On PostgreSQL (network round trips dominate there) it simply runs
``conn.execute``.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import Connection, DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.dml import Insert, UpdateBase
from sqlalchemy.types import TypeDecorator, TypeEngine

from counter.store.db import driver_error

__all__ = ["JSONText", "Outcome", "Prepared"]

_Processor = Callable[[Any], Any] | None


class JSONText(str):
    """A JSON column's value already encoded: :class:`Prepared` stores the text as it is."""

    __slots__ = ()


class Outcome(NamedTuple):
    """What a write reports: rows touched, and the new row's id for an insert."""

    rowcount: int
    lastrowid: int | None


@dataclass(frozen=True)
class _Compiled:
    sql: str
    # each positional parameter's name, and the value the statement itself holds for it
    params: tuple[tuple[str, Any], ...]
    # (position, bind processor) of the parameters whose type processes values (JSON, time)
    processed: tuple[tuple[int, Callable[[Any], Any]], ...]


def _is_timestamp(kind: TypeEngine[Any]) -> bool:
    if isinstance(kind, TypeDecorator):  # UTCDateTime
        return isinstance(kind.impl_instance, DateTime)
    return isinstance(kind, DateTime)


_instants: dict[tuple[type, str], tuple[object, Any]] = {}  # the last formatted, per type


def _processor(kind: TypeEngine[Any], dialect: Dialect) -> _Processor:
    """What Core does to a value of ``kind`` before the driver sees it (the dialect's own).

    A timestamp is formatted once per instant: a step binds the same ``now``
    to several columns (the case's ``updated_at``, the journal's ``at``, the
    outbox's times), and formatting one costs about 4 µs on SQLite. The last
    one formatted is kept per type and dialect (the same text for every column).
    """
    process = kind.dialect_impl(dialect).bind_processor(dialect)
    if process is None or not _is_timestamp(kind):
        return process
    key = (type(kind), dialect.name)

    def once_per_instant(value: Any) -> Any:
        seen, done = _instants.get(key, (None, None))
        if value is not seen:
            done = process(value)
            _instants[key] = (value, done)
        return done

    return once_per_instant


class Prepared:
    """A Core statement compiled once; see the module docstring."""

    def __init__(self, statement: UpdateBase) -> None:
        self.statement = statement
        # Elsewhere than SQLite, inserts say what they inserted (none after ON CONFLICT DO
        # NOTHING), since a driver's rowcount for an insert is not always meaningful.
        self._fallback: UpdateBase = statement
        if isinstance(statement, Insert):
            table: Any = statement.table
            self._fallback = statement.returning(*table.primary_key.columns)
        self._compiled: dict[tuple[str, frozenset[str]], _Compiled] = {}
        self._lock = threading.Lock()

    def _compile(self, conn: Connection, keys: frozenset[str]) -> _Compiled:
        found = self._compiled.get((conn.dialect.name, keys))
        if found is not None:
            return found
        dialect = conn.dialect
        compiled = self.statement.compile(dialect=dialect, column_keys=sorted(keys))
        names = tuple(compiled.positiontup or ())
        table: Any = self.statement.table
        defaulted = [n for n in names if n not in keys and n in table.c
                     and (table.c[n].default is not None or table.c[n].onupdate is not None)]
        if defaulted:  # Core applies them while executing, which Prepared skips
            raise ValueError(
                f"{table.name}: give {', '.join(defaulted)} (a column default is not "
                "applied to a prepared statement)"
            )
        binds = [compiled.binds[name] for name in names]
        processors: list[_Processor] = [_processor(bind.type, dialect) for bind in binds]
        found = _Compiled(
            compiled.string,
            tuple((name, bind.effective_value) for name, bind in zip(names, binds, strict=True)),
            tuple((i, p) for i, p in enumerate(processors) if p is not None),
        )
        with self._lock:
            self._compiled[(dialect.name, keys)] = found
        return found

    @staticmethod
    def _values(compiled: _Compiled, params: Mapping[str, Any]) -> list[Any]:
        get = params.get
        values = [get(name, fixed) for name, fixed in compiled.params]
        for position, process in compiled.processed:
            value = values[position]
            if value is not None and type(value) is not JSONText:
                values[position] = process(value)
        return values

    @staticmethod
    def _decoded(params: Mapping[str, Any]) -> dict[str, Any]:
        return {
            name: json.loads(value) if type(value) is JSONText else value
            for name, value in params.items()
        }

    def execute(self, conn: Connection, params: Mapping[str, Any]) -> Outcome:
        """Run with one set of parameters inside ``conn``'s transaction."""
        if conn.dialect.name != "sqlite":
            result = conn.execute(self._fallback, self._decoded(params))
            if not result.returns_rows:
                return Outcome(int(result.rowcount), None)
            rows = result.all()
            new_id = rows[0][0] if rows and isinstance(rows[0][0], int) else None
            return Outcome(len(rows), new_id)
        compiled = self._compile(conn, frozenset(params))
        driver = conn.connection.driver_connection
        try:
            cursor = driver.execute(compiled.sql, self._values(compiled, params))  # type: ignore[union-attr]
        except sqlite3.Error as exc:
            raise driver_error(exc, compiled.sql) from exc
        try:
            return Outcome(cursor.rowcount, cursor.lastrowid)
        finally:
            cursor.close()

    def execute_many(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> int:
        """Run once per row (all rows with the same keys); returns the rows touched."""
        if not rows:
            return 0
        if conn.dialect.name != "sqlite":
            return int(conn.execute(self.statement, [self._decoded(r) for r in rows]).rowcount)
        compiled = self._compile(conn, frozenset(rows[0]))
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(compiled.sql, [self._values(compiled, r) for r in rows])
            return int(cursor.rowcount)
        except sqlite3.Error as exc:
            raise driver_error(exc, compiled.sql) from exc
        finally:
            cursor.close()
