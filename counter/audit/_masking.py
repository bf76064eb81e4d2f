"""Masking a journal entry's free text for export, by the declared class of each value.

Two things are masked in the fields an entry's hash covers: its ``note``
(a supervisor's reason, a comment) and its ``findings`` (messages and
evidence). By class, never by the shape of a string:

1. the case's own personal values, known from its stored data and the
   ``pii`` class of each form field (the customer's name typed into a
   reject reason is found this way, which no pattern could do);
2. evidence values by their key's declared class: the form field of that
   name, else ``counter.banking.evidence.DECLARED_CLASSES``.

Hashes, references, merchant numbers and dates are left as written (an
auditor compares a slip's SHA-256 with the PDF). Already-masked values come
out unchanged under the same policy, so an entry whose evidence was masked
when it was written (as checks must do) is exported verbatim.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from counter.banking.evidence import KnownValues, declared_class, note_class
from counter.banking.masking import mask
from counter.config import MaskingPolicy
from counter.engine.loader import Catalog, Workflow
from counter.errors import CounterError

__all__ = ["CaseMasker", "DefinitionCache", "evidence_kind"]

log = logging.getLogger(__name__)

_IDENTIFIERS = frozenset({"code", "severity", "field"})  # from definitions and checks, not people


def evidence_kind(key: str, known_fields: Mapping[str, str] | None = None) -> str | None:
    """The masking class of an evidence value by its key's declaration, or ``None``."""
    return declared_class(key, known_fields)


class DefinitionCache:
    """Workflow versions brought back from their stored bundles, once each."""

    def __init__(self) -> None:
        self._catalog = Catalog()
        self._broken: set[str] = set()

    def get(self, definition_hash: str, bundle: Callable[[], str | None]) -> Workflow | None:
        """The version ``definition_hash``; ``bundle`` reads its stored text, if still needed."""
        if definition_hash in self._catalog:
            return self._catalog.get(definition_hash)
        if definition_hash in self._broken:
            return None
        text = bundle()
        if text is None:
            self._broken.add(definition_hash)
            return None
        try:
            return self._catalog.add_bundle(text)
        except CounterError:
            # Masking still applies by declared key; only the case's known values are lost.
            log.warning("workflow definition %s cannot be read back", definition_hash[:12])
            self._broken.add(definition_hash)
            return None


@dataclass
class CaseMasker:
    """Masks the free text of one stream's entries (see the module docstring)."""

    policy: MaskingPolicy
    known: KnownValues = field(default_factory=KnownValues)

    @classmethod
    def for_case(
        cls, policy: MaskingPolicy, workflow: Workflow | None, data: Mapping[str, Any]
    ) -> CaseMasker:
        """A masker that knows the case's personal values by their forms' ``pii`` classes."""
        return cls(policy, KnownValues.of_case(policy, workflow, data))

    @property
    def pii_fields(self) -> Mapping[str, str]:
        return self.known.fields

    def text(self, value: str) -> str:
        return self.known.text(value)

    def note(self, kind: str, value: str) -> str:
        """An entry's note: the case's known values, then masked by the note's class."""
        return mask(self.known.text(value), note_class(kind), self.policy)

    def value(self, value: Any, kind: str | None = None) -> Any:
        if isinstance(value, str):
            return mask(value, kind, self.policy) if kind else self.text(value)
        if isinstance(value, Mapping):
            return {str(k): self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(v, kind) for v in value]
        return value

    def finding(self, finding: Mapping[str, Any]) -> dict[str, Any]:
        masked: dict[str, Any] = {}
        for key, value in finding.items():
            if key in _IDENTIFIERS:
                masked[key] = value
            elif key == "evidence" and isinstance(value, Mapping):
                masked[key] = {
                    str(k): self.value(v, evidence_kind(str(k), self.pii_fields))
                    for k, v in value.items()
                }
            else:
                masked[key] = self.value(value)
        return masked

    def findings(self, findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [self.finding(f) for f in findings]
