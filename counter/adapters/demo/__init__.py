"""Demo data for the local adapters: a merchant registry and an identity list.

``load_demo`` imports both (idempotently: a re-run updates nothing). The
merchants cover every condition a teller meets at the counter:

=================  ==========================================================
merchant_no        condition
=================  ==========================================================
102110058120001    clean: active, nothing pending, card bound long ago
102110058120002    pending settlement funds (12,500.00 yuan)
102110058120003    risk_flagged
102110058120004    frozen_judicial
102110058120005    closed
102110058120006    binding changed 10 days ago (within 30 days)
102310058120007    corporate account, two terminals
102110058120008    agent-only case: legal rep 冯二 abroad; agent 赵六
                   (110101198506150043) comes with a mandate
102110058120009    early pilot USCC failing its check, card failing Luhn,
                   legal rep's photo score 58
=================  ==========================================================

People: every legal representative and the agent verify as ``match``;
钱七 (310104197505120039) is ``mismatch``, 刘四 (440305199002280052)
``not_found`` and 何五 (110105198001010024) ``unavailable``.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from counter.adapters._store import ImportSummary
from counter.adapters.identity import LocalIdentityVerifier
from counter.adapters.local_acquirer import LocalAcquirerRegistry
from counter.store.db import Database

__all__ = ["DEMO_DIR", "load_demo"]

DEMO_DIR = Path(__file__).resolve().parent
RECENT_CHANGE_DAYS_AGO = 10


def load_demo(db: Database, *, today: date | None = None) -> tuple[ImportSummary, ImportSummary]:
    """Import the demo merchants and people; returns (merchants, people) summaries.

    The "recent change" merchant's date is written relative to ``today`` so
    that it stays within 30 days whenever the demo is loaded.
    """
    day = today or date.today()
    recent = (day - timedelta(days=RECENT_CHANGE_DAYS_AGO)).isoformat()
    merchants = (DEMO_DIR / "merchants.csv").read_text(encoding="utf-8").replace("{recent}", recent)
    registry = LocalAcquirerRegistry(db).import_merchants(merchants.encode("utf-8"))
    people = LocalIdentityVerifier(db).import_people(DEMO_DIR / "people.csv")
    return registry, people
