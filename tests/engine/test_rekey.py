"""``rekey`` in a workflow file: only approval states, only fields of its forms."""

from __future__ import annotations

from pathlib import Path

import pytest

from counter.engine.lint import lint
from counter.errors import DefinitionError

from .parcel import parcel_registry
from .test_migration import ORIGINAL, _version


def test_rekey_belongs_to_approval_states_and_known_fields(tmp_path: Path) -> None:
    not_approval = ORIGINAL.replace(
        "    form: handover\n",
        "    form: handover\n    rekey:\n      - field: pickup_identity.id_number\n",
    )
    with pytest.raises(DefinitionError) as caught:
        _version(tmp_path, not_approval)
    assert "rekey is for approval states" in caught.value.message.en
    unknown = ORIGINAL.replace(
        "    reject_to: refused\n",
        "    reject_to: refused\n    rekey:\n      - field: pickup_identity.nothing\n",
    )
    issues = lint(_version(tmp_path, unknown), parcel_registry())
    assert [i.rule for i in issues] == ["unknown_rekey_field"]
