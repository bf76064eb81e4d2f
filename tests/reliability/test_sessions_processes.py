"""A token ended in one server process is refused by another at once (no cache anywhere).

Two real ``counter serve`` processes over one database, SQLite and
PostgreSQL: sign in on the first, sign out (or change the password, or get
locked) through the second, and the first refuses the token at its very
next request.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ._server import Deployment, Staff, deployed, sign_in

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def two_servers(
    db_kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[Deployment, Staff]]:
    with deployed(tmp_path, request, kind=db_kind, servers=2, tellers=2, cases=1,
                  agent_every=0) as running:
        yield running


def test_sign_out_and_lockout_in_one_process_end_tokens_in_the_other(
    two_servers: tuple[Deployment, Staff],
) -> None:
    deployment, staff = two_servers
    first, second = (server.url for server in deployment.servers)
    alice, bob = staff.tellers[:2]

    headers = sign_in(first, alice)
    assert httpx.get(f"{first}/api/cases", headers=headers, timeout=30).status_code == 200
    assert httpx.delete(f"{second}/api/session", headers=headers, timeout=30).status_code == 204
    assert httpx.get(f"{first}/api/cases", headers=headers, timeout=30).status_code == 401

    # Wrong passwords sent to the second process lock bob; his token on the first ends.
    headers = sign_in(first, bob)
    for _ in range(5):
        httpx.post(f"{second}/api/session", json={"username": bob, "password": "wrong-pass"},
                   timeout=30)
    assert httpx.get(f"{first}/api/cases", headers=headers, timeout=30).status_code == 401
