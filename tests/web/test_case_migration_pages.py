"""Case migration in the console: preview, prepare, and only another operations user confirms."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from counter.config import PROJECT_ROOT
from counter.engine.loader import load_workflow
from counter.store import users
from counter.web.context import WebContext

from .conftest import CLEAN_IDENTITY, PASSWORD, bearer, console_login, csrf_from, fire


def _operations(web: WebContext) -> None:
    for name in ("ops1", "ops2"):
        users.create_user(web.db, username=name, password=PASSWORD, roles=["operations"],
                          branch="B001", display_name=name)


def _running_case(client: TestClient) -> str:
    """A case at the merchant information check, on today's version."""
    headers = bearer(client, "teller1")
    opened = client.post("/api/cases", json={"workflow": "pos_unbind"}, headers=headers)
    case = fire(client, headers, opened.json(), "submit_identity", CLEAN_IDENTITY)
    assert case["state"] == "info_check", case
    reference: str = case["reference"]
    return reference


def _new_version(web: WebContext, folder: Path) -> str:
    """The operator's edit: a step renamed in words only, loaded as the current version."""
    folder.mkdir()
    text = (PROJECT_ROOT / "workflows" / "pos_unbind.yaml").read_text(encoding="utf-8")
    changed = text.replace("en: Merchant information check}",
                           "en: Merchant information check (2027)}", 1)
    assert changed != text
    (folder / "pos_unbind.yaml").write_text(changed, encoding="utf-8")
    workflow = load_workflow(folder / "pos_unbind.yaml", PROJECT_ROOT / "forms",
                             web.desk.runtime.registry)
    return web.desk.runtime.catalog.add(workflow).hash


def _post(client: TestClient, page: str, action: str, **data: str) -> httpx.Response:
    token = csrf_from(client.get(page).text)
    return client.post(action, data={"csrf_token": token, **data}, follow_redirects=False)


def test_a_preview_changes_nothing_and_only_another_user_confirms(
    client: TestClient, web: WebContext, tmp_path: Path
) -> None:
    reference = _running_case(client)
    _operations(web)
    new_hash = _new_version(web, tmp_path / "workflows")
    console_login(client, "ops1")
    assert client.get("/", follow_redirects=False).headers["location"] == "/migrations"
    preview = client.get("/migrations?workflow=pos_unbind").text
    assert reference in preview and "迁移 1 笔" in preview and 'id="prepare-button"' in preview
    assert "商户信息核对" in preview  # states in words, from each case's own version
    assert web.desk.journal(reference=reference)[-1].kind != "migrated"  # nothing moved

    prepared = _post(client, "/migrations", "/migrations", workflow="pos_unbind")
    assert prepared.status_code == 303
    plan_url = prepared.headers["location"]
    page = client.get(plan_url).text
    assert 'id="own-plan"' in page and 'id="confirm-button"' not in page
    forged = _post(client, plan_url, f"{plan_url}/confirm")
    assert forged.status_code == 403 and "须由另一人确认" in forged.text
    assert 'data-status="prepared"' in client.get(plan_url).text

    console_login(client, "ops2")
    page = client.get(plan_url).text
    assert 'id="confirm-button"' in page
    done = _post(client, plan_url, f"{plan_url}/confirm")
    assert done.status_code == 303
    page = client.get(plan_url).text
    assert 'data-status="done"' in page and 'data-result="moved"' in page
    [moved] = [e for e in web.desk.journal(reference=reference) if e.kind == "migrated"]
    assert moved.actor == "ops2"
    teller_view = client.get("/migrations").text
    assert "已执行" in teller_view  # the plan's list, its status in words

    console_login(client, "auditor1")
    audit = client.get(f"/audit/cases/{reference}").text
    assert "迁移到新流程版本" in audit and new_hash in audit and '{"shape"' not in audit

    # The teller's case page tells the migration the same way: who and which version.
    console_login(client, "teller1")
    case_page = client.get(f"/cases/{reference}").text
    assert "迁移到新流程版本" in case_page and new_hash in case_page
    assert "ops1" in case_page and "ops2" in case_page and '{"shape"' not in case_page


def test_nothing_to_move_is_said_and_a_teller_may_not_migrate(
    client: TestClient, web: WebContext
) -> None:
    _operations(web)
    console_login(client, "ops1")
    refused = _post(client, "/migrations", "/migrations", workflow="pos_unbind")
    assert refused.status_code == 422 and "没有可迁移的案件" in refused.text
    console_login(client, "teller1")
    assert client.get("/migrations").status_code == 403
    assert "运营人员" in client.get("/migrations").text
