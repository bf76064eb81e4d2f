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


def test_structured_notes_read_as_one_line_on_pages_and_stay_json_in_the_api() -> None:
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
    policy = MaskingPolicy()
    [page] = journal_out([entry], policy, readable=True)
    assert page.note == f"#3 {'a' * 12} → {'b' * 12} (ops1 / ops2)"
    [api] = journal_out([entry], policy)
    assert api.note is not None and json.loads(api.note)["to_hash"] == "b" * 64
