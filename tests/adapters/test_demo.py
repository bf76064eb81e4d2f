"""The demo registry loads cleanly, idempotently, and holds each condition it promises."""

from __future__ import annotations

from datetime import date, timedelta

from counter.adapters import (
    AccountType,
    IdentityOutcome,
    LocalAcquirerRegistry,
    LocalIdentityVerifier,
    MerchantStatus,
)
from counter.adapters.demo import load_demo
from counter.store.db import Database

TODAY = date(2026, 11, 25)


def test_demo_loads_every_condition(db: Database) -> None:
    registry, people = load_demo(db, today=TODAY)
    assert registry.changes[0].created == 9 and registry.changes[1].created == 10
    assert people.changes[0].created == 13
    acquirer = LocalAcquirerRegistry(db)
    status = {
        no: merchant.status
        for no in ("102110058120003", "102110058120004", "102110058120005")
        if (merchant := acquirer.merchant(no)) is not None
    }
    assert status == {
        "102110058120003": MerchantStatus.RISK_FLAGGED,
        "102110058120004": MerchantStatus.FROZEN_JUDICIAL,
        "102110058120005": MerchantStatus.CLOSED,
    }
    recent = acquirer.merchant("102110058120006")
    assert recent is not None and recent.last_binding_change == TODAY - timedelta(days=10)
    corporate = acquirer.settlement_account("102310058120007", "SN-NEW-000008")
    assert corporate is not None and corporate.account_type is AccountType.CORPORATE
    verifier = LocalIdentityVerifier(db)
    assert verifier.verify("resident_id", "310104197505120039", "钱七").outcome is (
        IdentityOutcome.MISMATCH
    )


def test_demo_reload_changes_nothing(db: Database) -> None:
    load_demo(db, today=TODAY)
    registry, people = load_demo(db, today=TODAY)
    assert all(c.created == c.updated == 0 for c in (*registry.changes, *people.changes))
