"""The branch day's console pages: a teller's counter, the dashboard, the end of day."""

from __future__ import annotations

import functools
import hashlib
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import SQLModel

import counter.store.branchday_tables  # noqa: F401  (the tables create_all makes)
from counter.adapters.demo import load_demo
from counter.branchday.wiring import wire_counter
from counter.config import Settings
from counter.store import users
from counter.store.db import Database
from counter.store.migrate import import_table_modules
from counter.web.app import create_app
from counter.web.context import WebContext

PASSWORD = "counter-test-2026"
PEOPLE = {
    "teller1": ["teller"],
    "teller2": ["teller"],
    "supervisor1": ["supervisor"],
    "auditor1": ["auditor"],
}
IDENTITY = {
    "id_type": "resident_id",
    "id_number": "110105198001010016",
    "name": "张三",
    "id_expiry": "long_term",
    "acting_as": "self",
}
_hash_once = functools.lru_cache(maxsize=4)(users.hash_password)


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setattr(users, "hash_password", _hash_once)
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'counter.db'}",
        var_dir=tmp_path,
        demo_mode=True,
        secret_key="branchday-web-secret",
        _env_file=None,  # type: ignore[call-arg]
    )
    db = Database(settings.database_url)
    import_table_modules()
    SQLModel.metadata.create_all(db.engine)
    users.create_branch(db, code="B001", name_zh="第一支行", name_en="First Branch")
    for name, roles in PEOPLE.items():
        users.create_user(db, username=name, password=PASSWORD, roles=roles, branch="B001")
    load_demo(db)
    wired = wire_counter(db, settings=settings)
    web = WebContext(settings=settings, db=db, desk=wired.desk, dispatcher=wired.dispatcher)
    with TestClient(create_app(settings, context=web), base_url="http://testserver") as c:
        yield c
    db.dispose()


def _csrf(html: str) -> str:
    marker = 'name="csrf_token" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def login(client: TestClient, username: str) -> str:
    """Sign in on the console; the CSRF token of the session."""
    client.cookies.clear()
    page = client.get("/login")
    answer = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": _csrf(page.text)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return _csrf(client.get("/counter" if username.startswith("teller") else "/").text)


def bearer(client: TestClient, username: str) -> dict[str, str]:
    answer = client.post("/api/session", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def test_a_teller_opens_a_case_only_at_an_open_counter(client: TestClient) -> None:
    api = bearer(client, "teller1")
    refused = client.post("/api/cases", json={"workflow": "pos_unbind"}, headers=api)
    assert refused.status_code == 403
    assert "开启柜台" in refused.text
    token = login(client, "teller1")
    page = client.post("/counter/open", data={"window": "5", "csrf_token": token})
    assert page.status_code == 200 and "5" in page.text
    opened = client.post("/api/cases", json={"workflow": "pos_unbind"}, headers=api)
    assert opened.status_code == 201, opened.text
    reference = opened.json()["reference"]
    shut = client.post("/counter/close", data={"csrf_token": token})
    assert shut.status_code == 422 and reference in shut.text
    offered = client.post(
        "/counter/handover",
        data={"reference": reference, "to_teller": "teller2", "csrf_token": token},
    )
    assert offered.status_code == 200, offered.text
    token2 = login(client, "teller2")
    client.post("/counter/open", data={"window": "6", "csrf_token": token2})
    mine = client.get("/counter")
    assert reference in mine.text and f"/counter/handover/{reference}/accept" in mine.text
    accepted = client.post(f"/counter/handover/{reference}/accept", data={"csrf_token": token2})
    assert accepted.status_code == 200
    token = login(client, "teller1")
    assert client.post("/counter/close", data={"csrf_token": token}).status_code == 200


def test_the_dashboard_is_for_supervisors_and_refreshes_a_partial(client: TestClient) -> None:
    login(client, "teller1")
    assert client.get("/dashboard").status_code == 403
    assert client.get("/dashboard/live").status_code == 403
    login(client, "supervisor1")
    page = client.get("/dashboard")
    assert page.status_code == 200
    assert 'hx-get="/dashboard/live"' in page.text and 'hx-trigger="every 15s"' in page.text
    assert "<script>" not in page.text  # the CSP forbids inline scripts
    assert page.text.count("<svg") == 3
    live = client.get("/dashboard/live")
    assert live.status_code == 200
    assert "<html" not in live.text and live.text.count("<svg") == 3
    start = live.text.index("<svg")
    ET.fromstring(live.text[start : live.text.index("</svg>", start) + len("</svg>")])


def identity_at_window_1(client: TestClient, **identity: str) -> tuple[dict[str, Any], Any]:
    """teller1 opens window 1 and a case, and submits ``identity`` over ``IDENTITY``."""
    api = bearer(client, "teller1")
    token = login(client, "teller1")
    client.post("/counter/open", data={"window": "1", "csrf_token": token})
    case = client.post("/api/cases", json={"workflow": "pos_unbind"}, headers=api).json()
    answer = client.post(
        f"/api/cases/{case['reference']}/triggers/submit_identity",
        json={"data": {**IDENTITY, **identity}, "version": case["version"]},
        headers=api,
    )
    return case, answer


def test_the_dashboards_queue_shows_each_cases_channel(client: TestClient) -> None:
    case, raised = identity_at_window_1(client, id_number="11010519491231002X", name="陈三")
    assert raised.json()["state"] == "supervisor_review", raised.text
    login(client, "supervisor1")
    live = client.get("/dashboard/live").text
    row = live.split(case["reference"])[1].split("</tr>")[0]
    assert 'data-channel="counter"' in row and "柜面" in row


def test_end_of_day_from_the_console(client: TestClient) -> None:
    api = bearer(client, "teller1")
    token = login(client, "teller1")
    client.post("/counter/open", data={"window": "1", "csrf_token": token})
    case = client.post("/api/cases", json={"workflow": "pos_unbind"}, headers=api).json()
    client.post(
        f"/api/cases/{case['reference']}/triggers/submit_identity",
        json={"data": IDENTITY, "version": case["version"]},
        headers=api,
    )
    sup = login(client, "supervisor1")
    day = client.get("/branch-day")
    assert day.status_code == 200 and case["reference"] in day.text and "teller1" in day.text
    refused = client.post("/branch-day/close", data={"csrf_token": sup})
    assert refused.status_code == 422
    client.post(
        f"/api/cases/{case['reference']}/triggers/cancel",
        json={"data": {"reason": "客户离开"}, "version": case["version"] + 1},
        headers=api,
    )
    token = login(client, "teller1")
    assert client.post("/counter/close", data={"csrf_token": token}).status_code == 200
    sup = login(client, "supervisor1")
    closed = client.post("/branch-day/close", data={"csrf_token": sup}, follow_redirects=False)
    assert closed.status_code == 303, closed.text
    report = client.get(closed.headers["location"])
    assert report.status_code == 200 and "网点日终报告" in report.text
    assert report.text.count("<svg") == 4
    pdf = client.get(closed.headers["location"] + "/report.pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    assert hashlib.sha256(pdf.content).hexdigest() in report.text
    css = client.get("/branch-day/report.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    login(client, "auditor1")
    assert client.get(closed.headers["location"]).status_code == 200
    assert client.get("/branch-day").status_code == 403


def test_the_json_api_of_the_branch_day(client: TestClient) -> None:
    teller1, teller2 = bearer(client, "teller1"), bearer(client, "teller2")
    supervisor, auditor = bearer(client, "supervisor1"), bearer(client, "auditor1")
    assert client.get("/api/counter", headers=teller1).json()["session"] is None
    assert client.post("/api/counter", json={"window": 0}, headers=teller1).status_code == 422
    opened = client.post("/api/counter", json={"window": 7}, headers=teller1)
    assert opened.status_code == 201 and opened.json()["window"] == 7
    assert client.post("/api/counter", json={"window": 8}, headers=supervisor).status_code == 403
    case = client.post("/api/cases", json={"workflow": "pos_unbind"}, headers=teller1).json()
    reference = case["reference"]
    assert client.delete("/api/counter", headers=teller1).status_code == 422
    offer = client.post(
        f"/api/cases/{reference}/handover", json={"to_teller": "teller2"}, headers=teller1
    )
    assert offer.status_code == 201 and offer.json()["status"] == "pending"
    assert client.post("/api/counter", json={"window": 8}, headers=teller2).status_code == 201
    mine = client.get("/api/counter", headers=teller2).json()
    assert [h["case_reference"] for h in mine["handovers_to_me"]] == [reference]
    wrong = client.post(f"/api/cases/{reference}/handover/accept", headers=teller1)
    assert wrong.status_code == 403
    taken = client.post(f"/api/cases/{reference}/handover/accept", headers=teller2)
    assert taken.status_code == 200 and taken.json()["status"] == "accepted"
    assert client.delete("/api/counter", headers=teller1).status_code == 200
    assert client.get("/api/counter", headers=teller2).json()["cases"] == [reference]
    assert client.post("/api/branch-day/close", headers=supervisor).status_code == 422
    client.post(
        f"/api/cases/{reference}/triggers/cancel",
        json={"data": {"reason": "客户离开"}, "version": case["version"]},
        headers=teller2,
    )
    assert client.delete("/api/counter", headers=teller2).status_code == 200
    assert client.post("/api/branch-day/close", headers=teller1).status_code == 403
    closed = client.post("/api/branch-day/close", headers=supervisor)
    assert closed.status_code == 201, closed.text
    day = closed.json()["day"]
    assert closed.json()["figures"]["cases"] == 1
    read = client.get(f"/api/branch-day/{day}", headers=auditor)
    sha = closed.json()["report_sha256"]
    assert read.status_code == 200 and read.json()["report_sha256"] == sha
    pdf = client.get(f"/api/branch-day/{day}/report.pdf", headers=auditor)
    assert hashlib.sha256(pdf.content).hexdigest() == sha
    assert client.get(f"/api/branch-day/{day}", headers=teller1).status_code == 403
    assert client.get("/api/branch-day/2000-01-01", headers=supervisor).status_code == 404
    assert client.get("/api/counter").status_code == 401


def test_every_key_the_pages_name_is_in_their_catalog_in_both_languages() -> None:
    import re

    from counter.web.routes.branchday import WORDS_FILE, words
    from counter.web.templating import TEMPLATES_DIR

    used: set[str] = set()
    for template in (TEMPLATES_DIR / "branchday").glob("*.html"):
        text = template.read_text("utf-8")
        assert not re.search(r"[\u4e00-\u9fff]", text), template.name
        used |= set(re.findall(r"""_\(\s*["']([a-z0-9_.]*[a-z0-9_])["']""", text))
    assert used and sorted(key for key in used if key not in words()) == []
    mine = [line.split(":")[0] for line in WORDS_FILE.read_text("utf-8").splitlines()]
    for key in (k for k in mine if k.startswith("bd.")):
        text = words().text(key)
        assert text.zh.strip() and text.en.strip(), key


def test_the_dashboard_counts_todays_refusals(client: TestClient) -> None:
    _, refused = identity_at_window_1(client, id_number="110105198001010017")
    assert refused.status_code == 422, refused.text
    login(client, "supervisor1")
    live = client.get("/dashboard/live").text
    assert '<span class="eod-figure" data-figure="refused">1</span>' in live
    row = live.split('data-refusal="id_number_check_character"')[1].split("</tr>")[0]
    assert "证件号码校验位错误" in row and "<td>1</td>" in row
