"""The one case both engines complete: six user tasks with the same form data.

Each step names the BPMN user task (``task``), counter's trigger
(``trigger``), who completes it, and the form values the teller or the
supervisor types in. The settlement card fails its Luhn check on purpose, so
every case takes the exclusive gateway to the supervisor's approval and both
engines do all six steps.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["CODE", "PASSWORD", "SECRET_FIELDS", "STEPS", "Step"]

CODE = "482913"  # the unbind code the customer reads back from the SMS
PASSWORD = "counter-bench"  # the teller's sign-off password
SECRET_FIELDS = frozenset({"code", "password"})  # checked, never stored


@dataclass(frozen=True)
class Step:
    """One user task of the case, as each engine names it."""

    task: str  # BPMN userTask id in pos_unbind.bpmn
    trigger: str  # counter trigger in workflows/unbind_peer.yaml
    role: str  # teller or supervisor
    form: Mapping[str, Any]


STEPS: tuple[Step, ...] = (
    Step(
        "identity_check",
        "submit_identity",
        "teller",
        {
            "id_type": "resident_id",
            "id_number": "11010519491231002X",
            "name": "张三",
            "acting_as": "self",
        },
    ),
    Step(
        "info_check",
        "submit_binding",
        "teller",
        {
            "merchant_no": "102110058120001",
            "terminal_id": "10000001",
            "settlement_card": "6222020200112233447",  # fails Luhn: a supervisor confirms it
            "uscc": "91110000600037341L",
        },
    ),
    Step("code_check", "confirm_code", "teller", {"code": CODE}),
    Step("supervisor_review", "approve", "supervisor", {"comment": "card checked by hand"}),
    Step("teller_signoff", "sign_off", "teller", {"password": PASSWORD}),
    Step("hand_over", "hand_over", "teller", {"slip_handed": "yes"}),
)
