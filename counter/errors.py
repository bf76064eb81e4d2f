"""The one exception tree of counter.

::

    CounterError                      anything counter raises on purpose
    ├── DefinitionError               a workflow or form file is broken (file, line, what)
    ├── ConfigurationError            settings refused (default secret outside demo mode, ...)
    ├── NotFound                      no such case, workflow, user, approval (HTTP 404)
    ├── PermissionDenied              the actor may not do this (HTTP 403)
    │   └── FourEyesViolation         the approver raised the case themselves
    ├── AuthenticationFailed          wrong password, locked account, expired session (HTTP 401)
    ├── InvalidTrigger                the trigger does not exist in the case's state (HTTP 409)
    ├── StaleVersion                  the case changed since the caller read it (HTTP 409)
    ├── InvalidInput                  form data refused, field by field; nothing changed (HTTP 422)
    │   └── BlockedByFindings         checks found something that stops the step (HTTP 422)
    ├── ImportRejected                a CSV import refused as a whole, with row-level errors
    ├── AuditChainBroken              the journal does not verify; names the first bad entry
    └── PeerError                     an outside system over the network gave no usable answer
        ├── PeerUnavailable           try later (unreachable, timed out, 5xx, breaker open,
        │                             unsigned answer): the same request may be sent again
        └── PeerRejected              the peer refused the request itself (4xx): retrying it
                                      as it is will not help; fix the settings or the input

Catch ``CounterError`` at the edges (CLI, web) to turn any of them into a
message for a person; catch a leaf where the caller can do something about
it (reload on ``StaleVersion``, show fields on ``InvalidInput``). Every error
carries a bilingual ``message`` (``Text``); only ``counter.web`` maps them to
HTTP statuses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from counter.text import Text

__all__ = [
    "AuditChainBroken",
    "AuthenticationFailed",
    "BlockedByFindings",
    "ConfigurationError",
    "CounterError",
    "DefinitionError",
    "FieldError",
    "FourEyesViolation",
    "ImportRejected",
    "InvalidInput",
    "InvalidTrigger",
    "NotFound",
    "PeerError",
    "PeerRejected",
    "PeerUnavailable",
    "PermissionDenied",
    "StaleVersion",
]


@dataclass(frozen=True)
class FieldError:
    """What is wrong with one input field, for the teller, in both languages."""

    field: str
    code: str
    message: Text


class CounterError(Exception):
    """Base of every error counter raises on purpose."""

    code = "error"

    def __init__(self, message: Text, **context: Any) -> None:
        self.message = message
        self.context = context
        super().__init__(str(message))


class DefinitionError(CounterError):
    """A workflow or form definition cannot be loaded or does not pass lint."""

    code = "definition_error"

    def __init__(
        self, message: Text, *, file: str | None = None, line: int | None = None, **context: Any
    ) -> None:
        self.file = file
        self.line = line
        super().__init__(message, file=file, line=line, **context)

    def __str__(self) -> str:
        where = self.file or "<definition>"
        if self.line is not None:
            where = f"{where}:{self.line}"
        return f"{where}: {self.message.en}"


class ConfigurationError(CounterError):
    code = "configuration_error"


class NotFound(CounterError):
    code = "not_found"


class PermissionDenied(CounterError):
    code = "forbidden"


class FourEyesViolation(PermissionDenied):
    code = "four_eyes"


class AuthenticationFailed(CounterError):
    code = "unauthenticated"


class InvalidTrigger(CounterError):
    code = "invalid_trigger"


class StaleVersion(CounterError):
    code = "stale_version"


class InvalidInput(CounterError):
    """Form data refused; ``fields`` says which field and why. Nothing was changed."""

    code = "invalid_input"

    def __init__(
        self, message: Text, *, fields: Sequence[FieldError] = (), **context: Any
    ) -> None:
        self.fields = list(fields)
        super().__init__(message, **context)


class BlockedByFindings(InvalidInput):
    """Checks returned findings of severity ``block``; ``findings`` lists them all."""

    code = "blocked"

    def __init__(
        self,
        message: Text,
        *,
        findings: Sequence[Any] = (),
        fields: Sequence[FieldError] = (),
        **context: Any,
    ) -> None:
        self.findings = list(findings)
        super().__init__(message, fields=fields, **context)


@dataclass
class RowError:
    """One bad row of an import file (1-based line number as in the file)."""

    line: int
    message: str
    columns: list[str] = field(default_factory=list)


class ImportRejected(CounterError):
    code = "import_rejected"

    def __init__(self, message: Text, *, rows: Sequence[RowError] = (), **context: Any) -> None:
        self.rows = list(rows)
        super().__init__(message, **context)


class AuditChainBroken(CounterError):
    code = "audit_chain_broken"


class PeerError(CounterError):
    """An outside system reached over the network (``counter.adapters.http``); ``peer`` names it."""

    code = "peer_error"

    def __init__(self, message: Text, *, peer: str, **context: Any) -> None:
        self.peer = peer
        super().__init__(message, peer=peer, **context)


class PeerUnavailable(PeerError):
    """Try later: nothing says the request failed for good, and repeating it (same key) is safe."""

    code = "peer_unavailable"


class PeerRejected(PeerError):
    """The peer answered that the request itself is wrong (``status``, its ``error_code``)."""

    code = "peer_rejected"
