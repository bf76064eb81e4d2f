"""Each web process expires idle cases (and delivers due retries) on a timer while it serves."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import text

from counter.web.app import create_app
from counter.web.context import build_context

from .conftest import bearer, make_settings


def _housekeepers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "counter-housekeeping"]


def test_an_idle_case_expires_while_the_app_serves(tmp_path: Path, seeded_database: Path) -> None:
    settings = make_settings(tmp_path, housekeeping_seconds=0.05)
    shutil.copyfile(seeded_database, tmp_path / "counter.db")
    web = build_context(settings)
    try:
        with TestClient(create_app(settings, context=web)) as client:
            assert len(_housekeepers()) == 1
            headers = bearer(client, "teller1")
            case = client.post("/api/cases", json={"workflow": "pos_unbind"}, headers=headers)
            reference = case.json()["reference"]
            with web.db.transaction() as conn:  # nine hours without a step
                conn.execute(
                    text("UPDATE teller_case SET updated_at = :t WHERE reference = :r"),
                    {
                        "t": web.desk.services.now().replace(tzinfo=None).replace(year=2000),
                        "r": reference,
                    },
                )
            state = ""
            for _ in range(100):
                state = client.get(f"/api/cases/{reference}", headers=headers).json()["state"]
                if state == "expired":
                    break
                time.sleep(0.05)
            assert state == "expired"
        assert _housekeepers() == []  # stopped with the app
    finally:
        web.db.dispose()


def test_housekeeping_can_be_left_to_counter_sweep(tmp_path: Path, seeded_database: Path) -> None:
    settings = make_settings(tmp_path, housekeeping_seconds=0)
    shutil.copyfile(seeded_database, tmp_path / "counter.db")
    web = build_context(settings)
    try:
        with TestClient(create_app(settings, context=web)):
            assert _housekeepers() == []
    finally:
        web.db.dispose()
