"""Masking a journal entry's free text for export, by the bank's masking policy.

Two things are masked in the fields an entry's hash covers: its ``note``
(a supervisor's reason, a comment) and its ``findings`` (messages and
evidence). Three passes, strongest first:

1. the case's own personal values, known from its stored data and the
   ``pii`` class of each form field (the customer's name typed into a
   reject reason is found this way, which no pattern could do);
2. evidence values by their key (``id_number``, ``holder``, ``phone``...),
   masked by their class again under the export's policy;
3. ``mask_text`` on every string, for any long number of an unknown owner.

Already-masked values come out unchanged under the same policy, so an
entry whose evidence was masked when it was written (as checks must do)
is exported verbatim.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from counter.banking.masking import mask, mask_text
from counter.config import MaskingPolicy
from counter.engine.loader import Catalog, Workflow
from counter.errors import CounterError

__all__ = ["CaseMasker", "DefinitionCache", "evidence_kind"]

log = logging.getLogger(__name__)

_SHORTEST_KNOWN = 2
_IDENTIFIERS = frozenset({"code", "severity", "field"})  # from definitions and checks, not people
_NAME_KEYS = frozenset({"name", "holder", "customer", "recipient", "agent", "principal"})
_NOT_PERSONAL_NAMES = frozenset({"merchant_name", "workflow_name", "file_name", "bank_name"})


def evidence_kind(key: str, known_fields: Mapping[str, str] | None = None) -> str | None:
    """The masking class of an evidence value by its key, or ``None`` for free text."""
    if known_fields and key in known_fields:
        return known_fields[key]
    lowered = key.lower()
    if lowered.endswith("id_number"):
        return "id"
    if lowered.endswith(("card_number", "card_no")) or lowered == "card":
        return "card"
    if lowered.endswith("account_number") or lowered == "account":
        return "account"
    if "phone" in lowered or "mobile" in lowered:
        return "phone"
    if lowered in _NAME_KEYS or (lowered.endswith("_name") and lowered not in _NOT_PERSONAL_NAMES):
        return "name"
    return None


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
            # Masking still applies by pattern and by key; only known values are lost.
            log.warning("workflow definition %s cannot be read back", definition_hash[:12])
            self._broken.add(definition_hash)
            return None


@dataclass
class CaseMasker:
    """Masks the free text of one stream's entries (see the module docstring)."""

    policy: MaskingPolicy
    known_values: list[tuple[str, str]] = field(default_factory=list)
    pii_fields: dict[str, str] = field(default_factory=dict)

    @classmethod
    def for_case(
        cls, policy: MaskingPolicy, workflow: Workflow | None, data: Mapping[str, Any]
    ) -> CaseMasker:
        """A masker that knows the case's personal values by their forms' ``pii`` classes."""
        known: dict[str, str] = {}
        pii_fields: dict[str, str] = {}
        forms = workflow.forms if workflow is not None else {}
        for section, values in data.items():
            form = forms.get(section)
            if form is None or not isinstance(values, Mapping):
                continue
            for spec in form.fields:
                if spec.pii == "none" or spec.secret:
                    continue
                pii_fields.setdefault(spec.name, spec.pii)
                value = values.get(spec.name)
                if isinstance(value, str) and len(value.strip()) >= _SHORTEST_KNOWN:
                    known[value.strip()] = mask(value.strip(), spec.pii, policy)
        ordered = sorted(known.items(), key=lambda item: len(item[0]), reverse=True)
        return cls(policy, ordered, pii_fields)

    def text(self, value: str) -> str:
        for whole, masked in self.known_values:
            if whole not in value:
                continue
            if whole.isascii():
                # "Li" is a name in "Li Lei came" but not in "Limit": Latin words have edges.
                edged = re.compile(rf"(?<![A-Za-z0-9]){re.escape(whole)}(?![A-Za-z0-9])")
                value = edged.sub(masked.replace("\\", "\\\\"), value)  # a literal
            else:
                value = value.replace(whole, masked)  # Chinese is written without spaces
        return mask_text(value, self.policy)

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
