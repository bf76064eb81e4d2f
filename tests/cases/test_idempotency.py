"""Idempotency keys keep no case data, repeats pass the access check, old keys go."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from engine.parcel import IDENTITY, TELLER, parcel_runtime
from sqlalchemy import text

from counter.cases.desk import Desk
from counter.cases.services import Services
from counter.cases.sweeper import Sweeper
from counter.config import Settings
from counter.engine.types import Actor
from counter.errors import NotFound, PermissionDenied
from counter.store.db import Database


def _stored(db: Database) -> list[Any]:
    with db.read() as conn:
        return [r.response for r in conn.execute(text("SELECT response FROM idempotency_keys"))]


def _request(reference: str, version: int, actor: Actor = TELLER) -> dict[str, Any]:
    return {"reference": reference, "trigger": "submit_identity", "actor": actor,
            "data": IDENTITY, "version": version, "idempotency_key": "k-1"}


@pytest.mark.postgres
def test_a_key_keeps_the_reference_and_version_only(desk: Desk) -> None:
    case = desk.open_case(workflow="parcel_pickup", actor=TELLER)
    first = desk.fire(**_request(case.reference, case.version))
    (stored,) = _stored(desk.db)
    if isinstance(stored, str):
        import json

        stored = json.loads(stored)
    assert stored == {"reference": case.reference, "version": first.version}
    assert desk.fire(**_request(case.reference, case.version)) == first


@pytest.mark.parametrize(
    ("now_as", "error"),
    [
        (Actor("tina", frozenset({"auditor"}), branch="BJ001"), PermissionDenied),
        (Actor("tina", frozenset({"teller"}), branch="SH001"), NotFound),
    ],
)
def test_a_repeat_passes_the_access_check_of_the_first_request(
    desk: Desk, now_as: Actor, error: type[Exception]
) -> None:
    """The same username with other roles or at another branch gets no answer from the key."""
    case = desk.open_case(workflow="parcel_pickup", actor=TELLER)
    desk.fire(**_request(case.reference, case.version))
    with pytest.raises(error):
        desk.fire(**_request(case.reference, case.version, actor=now_as))


def test_the_sweeper_deletes_keys_older_than_the_setting(db: Database) -> None:
    moment = [datetime(2026, 12, 1, 9, 0, tzinfo=UTC)]
    settings = Settings(idempotency_keep_hours=2, _env_file=None)  # type: ignore[call-arg]
    desk = Desk(db, parcel_runtime(), Services(settings=settings, clock=lambda: moment[0], db=db))
    old = desk.open_case(workflow="parcel_pickup", actor=TELLER)
    desk.fire(**_request(old.reference, old.version))
    moment[0] += timedelta(hours=1, minutes=59)
    new = desk.open_case(workflow="parcel_pickup", actor=TELLER)
    desk.fire(**{**_request(new.reference, new.version), "idempotency_key": "k-2"})
    sweeper = Sweeper(desk, idle=timedelta(days=30))
    assert sweeper.run_once().keys_forgotten == 0
    moment[0] += timedelta(minutes=2)
    assert sweeper.run_once().keys_forgotten == 1
    assert len(_stored(db)) == 1
