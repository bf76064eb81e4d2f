"""The case page and the API say which workflow version a case runs on."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

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
