"""A teller finds a case by a merchant name with a rare character, on SQLite and PostgreSQL."""

from __future__ import annotations

import unicodedata

import pytest
from sqlalchemy import update

from counter.engine.types import Actor
from counter.errors import InvalidInput
from counter.store.registry_tables import RegistryMerchant

from .helpers import CLEAN, CORPORATE, ZHANG_SAN, ZHENG_YI, Counter

pytestmark = pytest.mark.postgres

RARE = "𠮷祥五金店"  # U+20BB7 (Extension B), not 吉


def named(counter: Counter, merchant_no: str, name: str) -> None:
    table = RegistryMerchant.__table__  # type: ignore[attr-defined]
    with counter.desk.db.transaction() as conn:
        conn.execute(
            update(table).where(table.c.merchant_no == merchant_no).values(merchant_name=name)
        )


def found(counter: Counter, text: str, actor: str = "teller1") -> list[str]:
    cases = counter.desk.list_cases(actor=counter.actors[actor], merchant_name=text)
    return [c.reference for c in cases]


def test_a_case_is_found_by_its_merchants_rare_character(counter: Counter) -> None:
    named(counter, CLEAN.merchant_no, RARE)
    named(counter, CORPORATE.merchant_no, "吉祥五金店")
    rare = counter.fire(counter.identify(counter.open(), ZHANG_SAN), "submit_binding", CLEAN.form())
    plain = counter.fire(
        counter.identify(counter.open(), ZHENG_YI), "submit_binding", CORPORATE.form()
    )
    assert rare.data["vars"]["merchant"]["merchant_name"] == RARE
    assert found(counter, "𠮷") == [rare.reference]
    assert found(counter, " 𠮷祥 ") == [rare.reference]
    assert found(counter, "吉祥") == [plain.reference]
    assert sorted(found(counter, "祥五金")) == sorted([rare.reference, plain.reference])
    assert found(counter, "\u200b") == []
    [summary] = counter.desk.list_cases(actor=counter.actors["teller1"], merchant_name="𠮷")
    assert summary.merchant_name == RARE
    # Another branch's teller finds nothing: the search keeps the branch wall.
    outsider = Actor(username="teller9", roles=frozenset({"teller"}), branch="SH001")
    assert counter.desk.list_cases(actor=outsider, merchant_name="𠮷") == []


def test_a_search_is_cleaned_like_the_name_it_looks_for(counter: Counter) -> None:
    named(counter, CLEAN.merchant_no, "阿依古丽·买买提便利店 Café")
    case = counter.fire(counter.identify(counter.open(), ZHANG_SAN), "submit_binding", CLEAN.form())
    assert found(counter, "阿依古丽・买买提") == [case.reference]
    assert found(counter, unicodedata.normalize("NFD", "Café")) == [case.reference]
    assert found(counter, "100%") == []
    with pytest.raises(InvalidInput) as refused:
        found(counter, "𠮷\u202e")
    assert [f.code for f in refused.value.fields] == ["bidi_control"]
