"""Synthetic merchants, people and staff for the load test: one clean merchant per case.

An unbind changes the acquirer's registry (the terminal is no longer bound,
and the merchant's binding changed today), so no two cases may share a
terminal. Every merchant here has its own terminal, legal representative
and registered phone (the code's SMS is found by that phone); every
``agent_every``-th one is walked by an agent with a mandate. The numbers
pass their check algorithms (GB 11643, GB 32100, Luhn).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from counter.adapters.registry_import import MERCHANT_COLUMNS
from counter.banking.accounts import luhn_check_digit
from counter.banking.identity import resident_id_check_char
from counter.banking.uscc import uscc_check_char
from counter.store import users
from counter.store.db import Database
from counter.store.tables import User

__all__ = ["BRANCH", "PASSWORD", "LoadMerchant", "add_staff", "merchants", "write_registry"]

BRANCH = "BJ001"  # the demo branch (``counter demo-data``)
PASSWORD = "load-test-password-2026"
_BORN = date(1962, 1, 1)  # everyone is past 46: their cards are long-term


@dataclass(frozen=True)
class LoadMerchant:
    """One terminal to unbind and who comes to the counter for it."""

    number: int
    merchant_no: str
    uscc: str
    terminal_sn: str
    account_number: str
    phone: str
    legal_rep_id: str
    legal_rep_name: str
    agent_id: str | None

    def identity(self) -> dict[str, str]:
        """The identity form of whoever stands at the counter."""
        if self.agent_id is None:
            return {"id_type": "resident_id", "id_number": self.legal_rep_id,
                    "name": self.legal_rep_name, "id_expiry": "long_term", "acting_as": "self"}
        return {"id_type": "resident_id", "id_number": self.agent_id,
                "name": f"代理{self.number}", "id_expiry": "long_term", "acting_as": "agent",
                "principal_id_number": self.legal_rep_id, "mandate_ref": f"WT-LOAD-{self.number}"}

    def binding(self) -> dict[str, str]:
        return {"merchant_no": self.merchant_no, "uscc": self.uscc,
                "terminal_sn": self.terminal_sn, "account_number": self.account_number}


def _resident_id(area: str, number: int) -> str:
    born = _BORN + timedelta(days=number // 900)
    first17 = f"{area}{born:%Y%m%d}{number % 900 + 100:03d}"
    return first17 + resident_id_check_char(first17)


def merchants(count: int, *, agent_every: int = 5) -> list[LoadMerchant]:
    """``count`` merchants; every ``agent_every``-th (0: none) comes with an agent."""
    made = []
    for number in range(1, count + 1):
        first17 = f"91110000{number:09d}"
        card = f"622202{number:012d}"
        agent = agent_every > 0 and number % agent_every == 0
        made.append(LoadMerchant(
            number=number,
            merchant_no=f"9{number:014d}",
            uscc=first17 + uscc_check_char(first17),
            terminal_sn=f"SN-LOAD-{number:08d}",
            account_number=card + luhn_check_digit(card),
            phone=f"139{number:08d}",
            legal_rep_id=_resident_id("110105", number),
            legal_rep_name=f"法人{number}",
            agent_id=_resident_id("310104", number) if agent else None,
        ))
    return made


def write_registry(path: Path, made: list[LoadMerchant]) -> Path:
    """The acquirer's merchant file for ``counter registry import``."""
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(MERCHANT_COLUMNS))
        writer.writeheader()
        for m in made:
            writer.writerow({
                "merchant_no": m.merchant_no, "merchant_name": f"压测商户{m.number}",
                "uscc": m.uscc, "legal_rep_name": m.legal_rep_name,
                "legal_rep_id_number": m.legal_rep_id, "registered_phone": m.phone,
                "terminal_sn": m.terminal_sn, "terminal_id": f"L{m.number:07d}",
                "account_type": "personal_card", "account_number": m.account_number,
                "account_holder": m.legal_rep_name, "status": "active",
                "pending_settlement_cents": "0", "last_binding_change": "",
            })
    return path


def add_staff(db: Database, *, tellers: int, supervisors: int) -> tuple[list[str], list[str]]:
    """Create ``load-teller-N`` and ``load-supervisor-N`` at the demo branch; their names.

    One argon2 hash serves them all (they share the password): hashing costs
    about half a second here, and this is set-up, not the measurement.
    """
    teller_names = [f"load-teller-{n}" for n in range(1, tellers + 1)]
    supervisor_names = [f"load-supervisor-{n}" for n in range(1, supervisors + 1)]
    first = users.create_user(db, username=teller_names[0], password=PASSWORD,
                              roles=["teller"], branch=BRANCH)
    with db.session() as session:
        for names, role in ((teller_names[1:], "teller"), (supervisor_names, "supervisor")):
            for name in names:
                session.add(User(username=name, display_name=name, roles=[role],
                                 branch=BRANCH, lang="zh", password_hash=first.password_hash))
    return teller_names, supervisor_names
