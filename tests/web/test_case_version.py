"""The case page and the API say which workflow version a case runs on."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from fastapi.testclient import TestClient

from counter.cases.views import JournalEntryView
from counter.config import MaskingPolicy
from counter.store import journal
from counter.web.present import journal_out
from counter.web.wording import entry_shown

from .conftest import console_login
from .test_case_pages import open_case


def test_the_case_page_shows_its_workflow_version(client: TestClient) -> None:
    console_login(client, "teller1")
    reference = open_case(client)
    page = client.get(f"/cases/{reference}")
    shown = re.search(r'id="case-definition" title="([0-9a-f]{64})"', page.text)
    assert shown is not None
    assert f'<span class="mono">{shown.group(1)[:12]}</span>' in page.text
    assert "流程版本" in page.text


def test_structured_notes_read_as_facts_on_pages_and_stay_json_in_the_api() -> None:
    note = journal.canonical_json(
        {"shape": 1, "migration": 3, "kind": "migrate", "from_hash": "a" * 64,
         "to_hash": "b" * 64, "state_map": {}, "renamed": {}, "back_for": None,
         "prepared_by": "ops1", "confirmed_by": "ops2"}
    )
    entry = JournalEntryView(
        id=1, stream="BJ001-20261125-000001", seq=2, at=datetime(2026, 11, 25, tzinfo=UTC),
        actor="ops2", kind="migrated", trigger="migrate", from_state="a", to_state="b",
        findings=[], data_digest=None, note=note, prev_hash="0" * 64, hash="1" * 64,
    )
    [api] = journal_out([entry], MaskingPolicy())
    assert api.note is not None and json.loads(api.note)["to_hash"] == "b" * 64
    shown = entry_shown(api, None)
    assert shown.note is None  # not the JSON: its facts
    assert [str(f.value) for f in shown.facts] == ["#3", "迁移 / Migration", "ops1", "ops2"]
    assert [str(f.value) for f in shown.hashes][:2] == ["a" * 64, "b" * 64]
