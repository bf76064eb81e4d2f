"""The declared masking class of every personal value that checks and actions keep outside forms.

A form field declares its class (``pii:``) in its form file. Values that the
banking rules write themselves (a finding's evidence, the case variables an
action sets from the acquirer's registry) have no form, so their class is
declared here, by the key the rules write them under. Presenters (console,
API, journal export) mask a value by its field's class or by this table,
never by what the string looks like: a hash, a reference or a merchant
number is shown as it is. Checks mask their evidence when they write it;
masking again under the same policy changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from counter.banking.masking import PiiKind, mask
from counter.config import MaskingPolicy
from counter.engine.loader import Workflow

__all__ = ["DECLARED_CLASSES", "DETAIL_KINDS", "KnownValues", "declared_class", "note_class"]

# Journal entries whose note holds details a machine wrote (a slip's SHA-256 and template
# version, as JSON): shown and exported as they are. Every other note is what a person
# typed (a reason, a comment): free text, class ``text``.
DETAIL_KINDS = frozenset({"slip", "reprint"})

_SHORTEST_KNOWN = 2

DECLARED_CLASSES: Mapping[str, PiiKind] = MappingProxyType(
    {
        # finding evidence (counter/banking/rules/*.py)
        "id_number": "id",
        "principal_id_number": "id",
        "presented_id_number": "id",
        "legal_rep_id_number": "id",
        "name": "name",
        "holder": "name",
        "legal_rep_name": "name",
        "account_number": "account",
        "new_account_number": "account",
        "sent_to": "phone",
        # case variables set from the acquirer's registry (note_merchant)
        "account_holder": "name",
        "registered_phone": "phone",
    }
)


def note_class(kind: str) -> str:
    """The masking class of a journal entry's note, by the entry's kind."""
    return "none" if kind in DETAIL_KINDS else "text"


def declared_class(key: str, fields: Mapping[str, str] | None = None) -> str | None:
    """The class of the value kept under ``key``: its form field's (``fields``), else declared."""
    if fields and key in fields:
        return fields[key]
    return DECLARED_CLASSES.get(key)


@dataclass(frozen=True)
class KnownValues:
    """A case's own personal values, by their fields' classes, to mask in free text.

    A supervisor's reason or a comment is free text (``pii: none``); the
    customer's name or number typed into it is found because the case holds
    it under a declared class, which no pattern could do. Nothing else in
    the text is touched (a hash, a reference, a date stays as written).
    """

    pairs: tuple[tuple[str, str], ...] = ()
    fields: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of_case(
        cls, policy: MaskingPolicy, workflow: Workflow | None, data: Mapping[str, Any]
    ) -> KnownValues:
        known: dict[str, str] = {}
        fields: dict[str, str] = {}
        forms = workflow.forms if workflow is not None else {}
        for section, values in data.items():
            form = forms.get(section)
            if form is None or not isinstance(values, Mapping):
                continue
            for spec in form.fields:
                if spec.pii in ("none", "text") or spec.secret:
                    continue
                fields.setdefault(spec.name, spec.pii)
                value = values.get(spec.name)
                if isinstance(value, str) and len(value.strip()) >= _SHORTEST_KNOWN:
                    known[value.strip()] = mask(value.strip(), spec.pii, policy)
        ordered = sorted(known.items(), key=lambda item: len(item[0]), reverse=True)
        return cls(tuple(ordered), fields)

    def text(self, value: str) -> str:
        for whole, masked in self.pairs:
            if whole not in value:
                continue
            if whole.isascii():
                # "Li" is a name in "Li Lei came" but not in "Limit": Latin words have edges.
                edged = re.compile(rf"(?<![A-Za-z0-9]){re.escape(whole)}(?![A-Za-z0-9])")
                value = edged.sub(masked.replace("\\", "\\\\"), value)  # a literal
            else:
                value = value.replace(whole, masked)  # Chinese is written without spaces
        return value
