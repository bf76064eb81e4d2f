"""Idle cases expire on a timer: in each web process with inline delivery, else in the worker."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import text

from counter.cases.sweeper import Sweeper
from counter.cases.worker import OutboxWorker
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


def test_with_the_outbox_worker_no_web_process_sweeps_and_the_worker_does(
    tmp_path: Path, seeded_database: Path
) -> None:
    """COUNTER_OUTBOX_DELIVERY=worker: the sweeper runs once, in the worker, not per process."""
    settings = make_settings(tmp_path, housekeeping_seconds=0.05, outbox_delivery="worker")
    shutil.copyfile(seeded_database, tmp_path / "counter.db")
    web = build_context(settings)
    try:
        with TestClient(create_app(settings, context=web)) as client:
            assert _housekeepers() == []
            headers = bearer(client, "teller1")
            reference = client.post("/api/cases", json={"workflow": "pos_unbind"},
                                    headers=headers).json()["reference"]
            with web.db.transaction() as conn:  # nine hours without a step
                conn.execute(
                    text("UPDATE teller_case SET updated_at = :t WHERE reference = :r"),
                    {"t": web.desk.services.now().replace(tzinfo=None).replace(year=2000),
                     "r": reference},
                )
            worker = OutboxWorker(web.dispatcher, sweeper=Sweeper(web.desk), poll_seconds=0.05,
                                  sweep_seconds=0.05)
            stop = threading.Event()
            thread = threading.Thread(target=worker.run, args=(stop,))
            thread.start()
            try:
                state = ""
                for _ in range(200):
                    state = client.get(f"/api/cases/{reference}", headers=headers).json()["state"]
                    if state == "expired":
                        break
                    time.sleep(0.05)
            finally:
                stop.set()
                thread.join(timeout=30)
            assert state == "expired"
    finally:
        web.db.dispose()
