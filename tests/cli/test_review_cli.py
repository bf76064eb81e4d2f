"""``counter review``: drawing the day's sample and refusing people who may not review."""

from __future__ import annotations

from counter.store import users
from counter.store.db import Database

from .conftest import Invoke


def test_draw_and_decide_from_the_shell(counter: Invoke, db: Database) -> None:
    users.create_branch(db, code="BJ001", name_zh="营业部", name_en="Head office")
    users.create_user(db, username="ops1", password="a-long-password", roles=["operations"],
                      branch="BJ001")
    drawn = counter("review", "draw", "--branch", "BJ001", "--day", "2026-11-25")
    assert drawn.exit_code == 0, drawn.output
    assert "drawn for review: 0 (BJ001 2026-11-25)" in drawn.output
    listed = counter("review", "list", "--as", "ops1")
    assert listed.exit_code == 0 and "waiting: 0" in listed.output
    refused = counter("review", "issue", "1", "--reason", "x", "--as", "ops1")
    assert refused.exit_code == 1 and "not a post reviewer" in refused.output
