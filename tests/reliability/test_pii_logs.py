"""No full ID, card, account or phone number of a case reaches a log line.

Every log record of every logger, at DEBUG, is captured while two whole
flagship cases go through the JSON API (a legal representative in person,
and an agent approved by a supervisor); then the same walk runs against a
real ``counter serve`` process whose whole output, uvicorn's access log
included, is read back. The one-time codes and the teller's password must
not be in them either.

SQLAlchemy's own statement log (the ``sqlalchemy.engine`` logger, off
unless someone turns it on) is held to the same rule in a test of its own.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from counter.web.app import create_app
from counter.web.context import WebContext

from ._server import Api, CodeReader, LoadRun, Stats, demo_context, deployed, sign_in

CLEAN = {
    "identity": {"id_type": "resident_id", "id_number": "110105198001010016", "name": "张三",
                 "id_expiry": "long_term", "acting_as": "self"},
    "binding": {"merchant_no": "102110058120001", "uscc": "91110000600037341L",
                "terminal_sn": "SN-PAX-000001", "account_number": "6222021234567890128"},
    "phone": "13800138000",
}
AGENT = {
    "identity": {"id_type": "resident_id", "id_number": "110101198506150043", "name": "赵六",
                 "id_expiry": "2036-06-30", "acting_as": "agent",
                 "principal_id_number": "330106197812300095", "mandate_ref": "WT-2026-0001"},
    "binding": {"merchant_no": "102110058120008", "uscc": "91110115MA01HHH8X2",
                "terminal_sn": "SN-PAX-000008", "account_number": "6212260000998877666"},
    "phone": "15900159000",
}
_CODE = re.compile(r"验证码(\d{6})")


def secrets_of(case: dict[str, Any]) -> set[str]:
    """The full numbers of a case that may never be logged."""
    identity, binding = case["identity"], case["binding"]
    found = {identity["id_number"], binding["account_number"], case["phone"]}
    if "principal_id_number" in identity:
        found.add(identity["principal_id_number"])
    return found


def leaks(lines: list[str], secrets: set[str]) -> list[str]:
    return [f"{secret!r} in: {line[:300]}" for line in lines for secret in secrets
            if secret in line]


@pytest.fixture
def web(tmp_path: Path) -> Iterator[WebContext]:
    with demo_context(tmp_path) as context:
        yield context


class Walk:
    """Two flagship cases through the API of an in-process app."""

    def __init__(self, web: WebContext) -> None:
        self.web = web
        self.client = TestClient(create_app(web.settings, context=web))
        self.secrets: set[str] = {web.settings.demo_password}

    def headers(self, username: str) -> dict[str, str]:
        answer = self.client.post("/api/session", json={
            "username": username, "password": self.web.settings.demo_password})
        assert answer.status_code == 200, answer.text
        return {"Authorization": f"Bearer {answer.json()['token']}"}

    def fire(self, headers: dict[str, str], case: dict[str, Any], trigger: str,
             data: dict[str, Any]) -> dict[str, Any]:
        answer = self.client.post(f"/api/cases/{case['reference']}/triggers/{trigger}",
                                  json={"data": data, "version": case["version"]},
                                  headers=headers)
        assert answer.status_code == 200, answer.text
        fired: dict[str, Any] = answer.json()
        return fired

    def case(self, teller: dict[str, str], boss: dict[str, str], given: dict[str, Any]) -> None:
        self.secrets |= secrets_of(given)
        opened = self.client.post("/api/cases", json={"workflow": "pos_unbind"}, headers=teller)
        assert opened.status_code == 201, opened.text
        case = self.fire(teller, opened.json(), "submit_identity", given["identity"])
        if case["state"] == "supervisor_review":
            queue = self.client.get("/api/approvals", headers=boss).json()
            number = next(a["id"] for a in queue if a["case_reference"] == case["reference"])
            approved = self.client.post(f"/api/approvals/{number}/approve", json={},
                                        headers=boss)
            assert approved.status_code == 200, approved.text
            case = approved.json()
        case = self.fire(teller, case, "submit_binding", given["binding"])
        sent = self.web.desk.services.sms.outbox(phone=given["phone"])
        found = _CODE.search(sent[0].text)
        assert found is not None
        self.secrets.add(found.group(1))
        case = self.fire(teller, case, "confirm_code", {"code": found.group(1)})
        case = self.fire(teller, case, "sign_off", {"password": self.web.settings.demo_password})
        final = self.client.get(f"/api/cases/{case['reference']}", headers=teller).json()
        assert final["state"] == "completed", final

    def both(self) -> None:
        with self.client:
            teller, boss = self.headers("teller1"), self.headers("supervisor1")
            self.case(teller, boss, CLEAN)
            self.case(teller, boss, AGENT)


def everything_at_debug(caplog: pytest.LogCaptureFixture, *, sql: bool) -> None:
    """Root and every logger that set its own level (SQLAlchemy sets WARN) at DEBUG.

    ``caplog.set_level`` also sets its handler's level: root goes last, at DEBUG.
    """
    # INFO is the statement log (``echo=True``); DEBUG adds result rows, data by design.
    caplog.set_level(logging.INFO if sql else logging.WARNING, logger="sqlalchemy.engine")
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if (isinstance(logger, logging.Logger) and logger.level > logging.DEBUG
                and not name.startswith("sqlalchemy.engine")):
            caplog.set_level(logging.DEBUG, logger=name)
    caplog.set_level(logging.DEBUG)


def captured(caplog: pytest.LogCaptureFixture, *, sql: bool) -> list[str]:
    """Every record's message and its arguments, exception text included."""
    lines = []
    for record in caplog.records:
        if record.name.startswith("sqlalchemy.engine") != sql:
            continue
        lines.append(f"{record.name}: {record.getMessage()} {record.args!r}")
        if record.exc_text or record.exc_info:
            lines.append(logging.Formatter().formatException(record.exc_info)
                         if record.exc_info else str(record.exc_text))
    return lines


def test_no_full_number_in_any_application_log_line(
    web: WebContext, caplog: pytest.LogCaptureFixture
) -> None:
    everything_at_debug(caplog, sql=False)  # the statement log has its own test below
    walk = Walk(web)
    walk.both()
    lines = captured(caplog, sql=False)
    assert any(line.startswith("counter.") for line in lines), "nothing was logged at all"
    assert leaks(lines, walk.secrets) == []


def test_no_full_number_in_the_sql_statement_log(
    web: WebContext, caplog: pytest.LogCaptureFixture
) -> None:
    everything_at_debug(caplog, sql=True)
    walk = Walk(web)
    walk.both()
    lines = captured(caplog, sql=True)
    assert lines, "the statement log was not captured"
    assert leaks(lines, walk.secrets) == []


@pytest.mark.slow
def test_no_full_number_in_a_served_process_output_access_log_included(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    with deployed(tmp_path, request, tellers=1, supervisors=1, cases=2, agent_every=2) as (
        deployment, staff,
    ):
        url = deployment.servers[0].url
        stats = Stats()

        async def walk() -> None:
            api = Api([url], stats, tolerate_outages=False)
            codes = CodeReader(deployment.database_url)
            run = LoadRun(api, codes, staff.merchants, race_share=0.0)
            try:
                await run.run({staff.tellers[0]: sign_in(url, staff.tellers[0])[
                    "Authorization"].removeprefix("Bearer ")},
                    {staff.supervisors[0]: sign_in(url, staff.supervisors[0])[
                        "Authorization"].removeprefix("Bearer ")},
                    lambda: not run.merchants)
            finally:
                await api.close()
                codes.close()

        walked = list(staff.merchants)
        asyncio.run(walk())
        assert stats.unexpected == [] and stats.completed == 2, stats
        deployment.servers[0].stop()
        output = deployment.servers[0].log_path.read_text(encoding="utf-8").splitlines()
    assert any('"POST /api/cases/' in line for line in output), "no access log in the output"
    secrets = {value for m in walked for value in (
        m.legal_rep_id, m.account_number, m.phone, m.agent_id) if value}
    assert leaks(output, secrets) == []
