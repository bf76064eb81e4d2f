"""A desk on the test-only parcel workflow, over the fresh database of each test."""

from __future__ import annotations

import pytest
from engine.parcel import parcel_runtime

from counter.cases.desk import Desk
from counter.cases.services import Services
from counter.store.db import Database


@pytest.fixture
def desk(db: Database) -> Desk:
    return Desk(db, parcel_runtime(), Services(db=db))
