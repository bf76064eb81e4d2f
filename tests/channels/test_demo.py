"""``load_channel_demo``: the remote service centre and its demo users, idempotently."""

from __future__ import annotations

from counter.adapters.demo.channels import CHANNEL_BRANCH, DEMO_MERCHANT_NO, load_channel_demo
from counter.store import users
from counter.store.db import Database

from .helpers import CHANNEL_ROLES


def test_the_demo_users_are_added_once(db: Database, channel_roles: None) -> None:
    done = load_channel_demo(db, password="channel-demo-password")
    assert done[0].startswith("网点 / branch RC001")
    assert len(done) == 6
    assert load_channel_demo(db, password="channel-demo-password") == []
    found = {u.username: u for u in users.list_users(db, branch=CHANNEL_BRANCH)}
    assert {name: (u.roles, u.merchant_no) for name, u in found.items()} == {
        "merchant1": (["merchant"], DEMO_MERCHANT_NO),
        "reviewer1": (["reviewer"], None),
        "agent1": (["service_agent"], None),
        "authorizer1": (["authorizer"], None),  # the remote authorization centre
        "backoffice1": (["post_reviewer"], None),  # post-transaction review
    }
    assert {r for u in found.values() for r in u.roles} == CHANNEL_ROLES | {
        "authorizer", "post_reviewer"
    }
    stored = users.get_user(db, username="merchant1")
    assert users.verify_password(stored.password_hash, "channel-demo-password")
