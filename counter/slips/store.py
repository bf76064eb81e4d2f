"""Reading and writing the slip tables (``counter.store.slip_tables``) with SQLAlchemy Core.

``StoredSlip`` is what callers get back: never a table row. Writes happen
inside the caller's transaction, so that a slip, its template texts and its
journal entry commit together.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam, func, insert, select

from counter.cases.records import insert_ignore
from counter.slips.templates import SlipFormat, slip_format
from counter.store.slip_tables import CaseSlip, SlipTemplateVersion

__all__ = [
    "ORIGINAL",
    "SlipRecord",
    "StoredSlip",
    "insert_slip",
    "keep_sources",
    "last_copy_number",
    "load_slip",
    "load_slips",
    "load_sources",
]

ORIGINAL = 0
"""The copy number of the slip issued when the case completed; reprints count from 1."""

_slips: Table = CaseSlip.__table__  # type: ignore[attr-defined]
_versions: Table = SlipTemplateVersion.__table__  # type: ignore[attr-defined]

_RECORD_COLUMNS = (
    _slips.c.reference,
    _slips.c.copy_number,
    _slips.c.fmt,
    _slips.c.sha256,
    _slips.c.template_version,
    _slips.c.issued_at,
    _slips.c.issued_by,
)
_one_slip = select(*_RECORD_COLUMNS, _slips.c.context, _slips.c.pdf).where(
    _slips.c.reference == bindparam("reference"),
    _slips.c.copy_number == bindparam("copy_number"),
)
_slips_of_case = (
    select(*_RECORD_COLUMNS)
    .where(_slips.c.reference == bindparam("reference"))
    .order_by(_slips.c.copy_number)
)
_last_copy = select(func.max(_slips.c.copy_number)).where(
    _slips.c.reference == bindparam("reference")
)
_sources = select(_versions.c.sources).where(_versions.c.digest == bindparam("digest"))
_insert_slip = insert(_slips)


@dataclass(frozen=True)
class SlipRecord:
    """One printed slip of a case, without its bytes (for lists and the journal page)."""

    reference: str
    copy_number: int  # 0: the original; n: the n-th reprint
    fmt: SlipFormat
    sha256: str  # of the PDF bytes, as journaled
    template_version: str  # sources_digest of the template texts it was rendered from
    issued_at: datetime
    issued_by: str  # "system" for the original; for a reprint, who asked for it

    @property
    def is_reprint(self) -> bool:
        return self.copy_number != ORIGINAL

    @property
    def filename(self) -> str:
        """A download name: ``<reference>.pdf``, or ``<reference>-reprint-<n>.pdf``."""
        suffix = f"-reprint-{self.copy_number}" if self.is_reprint else ""
        return f"{self.reference}{suffix}.pdf"


@dataclass(frozen=True)
class StoredSlip(SlipRecord):
    """A printed slip with its PDF, and the (masked) context it was rendered from."""

    pdf: bytes = field(default=b"", repr=False)
    context: Mapping[str, Any] = field(default_factory=dict, repr=False)


def _record_values(row: Any) -> dict[str, Any]:
    return {
        "reference": row.reference,
        "copy_number": row.copy_number,
        "fmt": slip_format(row.fmt),
        "sha256": row.sha256,
        "template_version": row.template_version,
        "issued_at": row.issued_at,
        "issued_by": row.issued_by,
    }


def load_slip(conn: Connection, reference: str, copy_number: int) -> StoredSlip | None:
    row = conn.execute(_one_slip, {"reference": reference, "copy_number": copy_number}).first()
    if row is None:
        return None
    return StoredSlip(**_record_values(row), pdf=bytes(row.pdf), context=dict(row.context))


def load_slips(conn: Connection, reference: str) -> list[SlipRecord]:
    """Every slip printed for the case, the original first."""
    rows = conn.execute(_slips_of_case, {"reference": reference})
    return [SlipRecord(**_record_values(row)) for row in rows]


def last_copy_number(conn: Connection, reference: str) -> int | None:
    """The highest copy number printed for the case; ``None`` when nothing was printed."""
    found: int | None = conn.execute(_last_copy, {"reference": reference}).scalar()
    return found


def load_sources(conn: Connection, digest: str) -> dict[str, str] | None:
    """The template texts of version ``digest``, as they were when first used."""
    found = conn.execute(_sources, {"digest": digest}).scalar()
    if found is None:
        return None
    # Some drivers hand JSON back as text.
    loaded = json.loads(found) if isinstance(found, str) else found
    return {str(name): str(text) for name, text in loaded.items()}


def keep_sources(
    conn: Connection, *, digest: str, slip: str, sources: Mapping[str, str], now: datetime
) -> None:
    """Store a template version unless it is already stored (the digest identifies it)."""
    insert_ignore(
        conn,
        _versions,
        [{"digest": digest, "slip": slip, "sources": dict(sources), "stored_at": now}],
    )


def insert_slip(conn: Connection, slip: StoredSlip, *, ignore_existing: bool) -> bool:
    """Store ``slip``; with ``ignore_existing``, a copy already stored is left as it is.

    Returns whether the row went in. Without ``ignore_existing`` a copy
    number taken meanwhile raises the database's ``IntegrityError``.
    """
    values = {
        "reference": slip.reference,
        "copy_number": slip.copy_number,
        "fmt": slip.fmt,
        "sha256": slip.sha256,
        "template_version": slip.template_version,
        "context": dict(slip.context),
        "pdf": slip.pdf,
        "issued_at": slip.issued_at,
        "issued_by": slip.issued_by,
    }
    if ignore_existing:
        return insert_ignore(conn, _slips, [values]) == 1
    conn.execute(_insert_slip, values)
    return True
