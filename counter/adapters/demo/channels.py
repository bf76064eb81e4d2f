"""Demo users of the online and phone channels (``docs/channels.md``).

``load_channel_demo`` (idempotent) adds the remote service centre
``RC001``, where online applications and phone calls are handled, and
its users, all with the demo password:

===========  ===============  ================================================
user         role             for
===========  ===============  ================================================
merchant1    merchant         merchant 102110058120001 (the demo registry's
                              clean merchant): applies online
reviewer1    reviewer         the back-office review queue
agent1       service_agent    the customer-service phone line
authorizer1  authorizer       the remote authorization centre: approvals from
                              every branch (tiered authority, escalations)
backoffice1  post_reviewer    the post-transaction review queue (事后监督)
===========  ===============  ================================================
"""

from __future__ import annotations

from collections.abc import Mapping

from counter.config import get_settings
from counter.errors import NotFound
from counter.store.db import Database
from counter.store.users import create_branch, create_user, get_branch, get_user

__all__ = ["CHANNEL_BRANCH", "CHANNEL_USERS", "DEMO_MERCHANT_NO", "load_channel_demo"]

CHANNEL_BRANCH = "RC001"
CHANNEL_BRANCH_NAME = ("远程服务中心", "Remote service centre")
DEMO_MERCHANT_NO = "102110058120001"
CHANNEL_USERS: Mapping[str, tuple[str, str | None]] = {  # username -> (role, merchant number)
    "merchant1": ("merchant", DEMO_MERCHANT_NO),
    "reviewer1": ("reviewer", None),
    "agent1": ("service_agent", None),
    "authorizer1": ("authorizer", None),
    "backoffice1": ("post_reviewer", None),
}


def load_channel_demo(db: Database, *, password: str | None = None) -> list[str]:
    """Create what is missing of the branch and users above; returns what was done.

    ``password`` defaults to ``COUNTER_DEMO_PASSWORD`` (demo only).
    """
    done: list[str] = []
    try:
        get_branch(db, code=CHANNEL_BRANCH)
    except NotFound:
        create_branch(
            db,
            code=CHANNEL_BRANCH,
            name_zh=CHANNEL_BRANCH_NAME[0],
            name_en=CHANNEL_BRANCH_NAME[1],
        )
        done.append(f"网点 / branch {CHANNEL_BRANCH} {CHANNEL_BRANCH_NAME[0]}")
    secret = password if password is not None else get_settings().demo_password
    for username, (role, merchant_no) in CHANNEL_USERS.items():
        try:
            get_user(db, username=username)
        except NotFound:
            create_user(
                db,
                username=username,
                password=secret,
                roles=[role],
                branch=CHANNEL_BRANCH,
                merchant_no=merchant_no,
            )
            bound = f", {merchant_no}" if merchant_no else ""
            done.append(f"用户 / user {username} ({role}{bound})")
    return done
