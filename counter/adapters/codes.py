"""One-time codes read back by the customer: issue, keep as a hash, verify.

These are pure functions over a small ``CodeRecord`` that the workflow keeps
in its case variables (``as_vars`` / ``from_vars``), so no table holds codes.
The plain code leaves this module only to be sent by SMS; what is kept is an
HMAC-SHA256 under the settings' secret key with a random nonce, so that a
copy of the case data does not give the code away and two cases that happen
to draw the same code do not share a hash.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

__all__ = [
    "CODE_MAX_ATTEMPTS",
    "CODE_TTL",
    "CodeCheck",
    "CodeRecord",
    "CodeVerification",
    "issue_code",
    "verify_code",
]

CODE_TTL = timedelta(minutes=5)
CODE_MAX_ATTEMPTS = 3
_CODE_DIGITS = 6


class CodeCheck(StrEnum):
    OK = "ok"
    WRONG = "wrong"  # attempts remain
    EXPIRED = "expired"  # the teller resends a new code
    EXHAUSTED = "exhausted"  # no attempts left: a supervisor confirms identity another way


@dataclass(frozen=True)
class CodeRecord:
    """What the case keeps about the code it sent: never the code itself."""

    digest: str
    nonce: str
    issued_at: datetime
    attempts: int = 0

    def as_vars(self) -> dict[str, Any]:
        """A JSON-ready dict for the case variables."""
        return {
            "digest": self.digest,
            "nonce": self.nonce,
            "issued_at": self.issued_at.isoformat(),
            "attempts": self.attempts,
        }

    @classmethod
    def from_vars(cls, raw: Mapping[str, Any]) -> CodeRecord:
        return cls(
            digest=str(raw["digest"]),
            nonce=str(raw["nonce"]),
            issued_at=_aware(datetime.fromisoformat(str(raw["issued_at"]))),
            attempts=int(raw.get("attempts", 0)),
        )


@dataclass(frozen=True)
class CodeVerification:
    """The outcome of one attempt and the record to keep afterwards."""

    outcome: CodeCheck
    record: CodeRecord
    attempts_left: int

    @property
    def ok(self) -> bool:
        return self.outcome is CodeCheck.OK


def issue_code(secret_key: str, *, now: datetime | None = None) -> tuple[str, CodeRecord]:
    """Draw a fresh 6-digit code; returns the plain code (to send) and the record (to keep)."""
    code = f"{secrets.randbelow(10**_CODE_DIGITS):0{_CODE_DIGITS}d}"
    nonce = secrets.token_hex(16)
    issued_at = _aware(now or datetime.now(UTC))
    return code, CodeRecord(
        digest=_digest(secret_key, nonce, code), nonce=nonce, issued_at=issued_at
    )


def verify_code(
    record: CodeRecord,
    entered: str,
    secret_key: str,
    *,
    now: datetime | None = None,
    ttl: timedelta = CODE_TTL,
    max_attempts: int = CODE_MAX_ATTEMPTS,
) -> CodeVerification:
    """Check ``entered`` against ``record``.

    A wrong code uses up an attempt; the attempt that uses up the last one
    answers ``exhausted`` rather than ``wrong``, so that the workflow raises
    its finding at once. Once exhausted or expired, even the right code is
    refused. Expiry is checked before the code so that a late right code
    does not count as a wrong one.
    """
    moment = _aware(now or datetime.now(UTC))
    if record.attempts >= max_attempts:
        return CodeVerification(CodeCheck.EXHAUSTED, record, 0)
    if moment - record.issued_at > ttl:
        return CodeVerification(CodeCheck.EXPIRED, record, max_attempts - record.attempts)
    candidate = entered.strip()
    expected = record.digest.encode("ascii")
    if hmac.compare_digest(_digest(secret_key, record.nonce, candidate).encode("ascii"), expected):
        return CodeVerification(CodeCheck.OK, record, max_attempts - record.attempts)
    used = replace(record, attempts=record.attempts + 1)
    left = max_attempts - used.attempts
    return CodeVerification(CodeCheck.WRONG if left > 0 else CodeCheck.EXHAUSTED, used, left)


def _digest(secret_key: str, nonce: str, code: str) -> str:
    message = f"counter.code.v1|{nonce}|{code}".encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()


def _aware(moment: datetime) -> datetime:
    """Naive datetimes are taken as UTC (SQLite and some callers drop the zone)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
