"""The people of the three channels and the walks they take, through the Desk.

``Counter`` (``tests/flagship/helpers.py``) fires each step through the
Desk and reloads the case from the database after it; this module adds
who acts online and on the phone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flagship.helpers import BRANCH, CLEAN, PENDING_FUNDS, Binding, Counter

from counter.adapters.demo.channels import CHANNEL_BRANCH, DEMO_MERCHANT_NO
from counter.cases.views import CaseView
from counter.engine.types import Actor

CHANNEL_ROLES = frozenset({"merchant", "reviewer", "service_agent"})
STAFF = {"teller1": ["teller"], "supervisor1": ["supervisor"]}


def _merchant(username: str, merchant_no: str | None) -> Actor:
    attributes = {"merchant_no": merchant_no} if merchant_no else {}
    return Actor(username, frozenset({"merchant"}), CHANNEL_BRANCH, attributes)


ACTORS: Mapping[str, Actor] = {
    "merchant1": _merchant("merchant1", DEMO_MERCHANT_NO),
    "merchant2": _merchant("merchant2", PENDING_FUNDS.merchant_no),
    "unbound": _merchant("unbound", None),
    "reviewer1": Actor("reviewer1", frozenset({"reviewer"}), CHANNEL_BRANCH),
    "agent1": Actor("agent1", frozenset({"service_agent"}), CHANNEL_BRANCH),
    **{name: Actor(name, frozenset(roles), BRANCH) for name, roles in STAFF.items()},
}
assert ACTORS["merchant1"].attributes["merchant_no"] == CLEAN.merchant_no


def open_case(desk: Counter, workflow: str, actor: str, channel: str) -> CaseView:
    view: CaseView = desk.desk.open_case(
        workflow=workflow, actor=desk.actors[actor], channel=channel
    )
    return desk.reloaded(view)


def call_form(binding: Binding, **changes: str) -> dict[str, str]:
    """What the caller tells the service agent about ``binding``."""
    form = {
        "merchant_no": binding.merchant_no,
        "terminal_sn": binding.terminal_sn,
        "account_last4": binding.account_number[-4:],
        "caller": "legal_rep",
    }
    form.update(changes)
    return form


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def codes(view: CaseView) -> dict[str, str]:
    """The findings waiting for the reviewer: code -> severity."""
    assert view.pending is not None, "the case waits for no review"
    return {f.code: str(f.severity) for f in view.pending.findings}


def reasons(view: CaseView) -> list[str]:
    """The codes of why the case went to a counter."""
    referral: Mapping[str, Any] = view.data["vars"]["referral"]
    assert referral["reference"] == view.reference
    return [r["code"] for r in referral["reasons"]]
