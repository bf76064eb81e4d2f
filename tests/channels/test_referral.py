"""A case referred to a counter (phone or online) is picked up by a teller at a branch.

The counter's ``pos_unbind`` does not offer ``pick_up_referral`` yet: these
tests run it with the one transition ``docs/channels.md`` proposes for
``workflows/pos_unbind.yaml`` (``PICK_UP`` below, the same text), added to a
copy of the real file.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from flagship.helpers import CLEAN, REGISTERED_PHONE, ZHANG_SAN, Counter, blocked

from counter.cases.views import CaseView
from counter.config import Settings
from counter.engine.loader import Catalog
from counter.engine.registry import default_registry
from counter.engine.types import Actor
from counter.errors import BlockedByFindings
from counter.store import users

from .helpers import call_form, open_case

DOCS = Path(__file__).resolve().parents[2] / "docs" / "channels.md"
PICK_UP = """
  # A teller takes up a case that the phone or online channel referred to a
  # counter: its reference links the two cases (case variable referral_of).
  - trigger: pick_up_referral
    title: {zh: 承接转柜业务, en: Pick up a referral}
    source: identity_check
    dest: identity_check
    roles: [teller]
    form: referral_pickup
    checks: [referral_open]
    after: [record_referral_pickup]
"""


@pytest.fixture
def desk(
    make_desk: Callable[..., Counter], settings: Settings, tmp_path: Path
) -> Counter:
    """The desk, its counter's pos_unbind with the proposed pick_up_referral."""
    for source in Path(settings.workflows_dir).glob("*.yaml"):
        text = source.read_text(encoding="utf-8")
        if source.name == "pos_unbind.yaml" and "pick_up_referral" not in text:
            text = text.rstrip("\n") + "\n" + PICK_UP
        (tmp_path / source.name).write_text(text, encoding="utf-8")
    catalog = Catalog.load(tmp_path, Path(settings.forms_dir), default_registry)
    return make_desk(catalog=catalog)


def test_the_proposal_is_the_documented_one() -> None:
    assert PICK_UP.strip() in DOCS.read_text(encoding="utf-8")


def referred_call(desk: Counter) -> CaseView:
    case = open_case(desk, "pos_unbind_phone", "agent1", "phone")
    case = desk.fire(case, "record_call", call_form(CLEAN, caller="agent"), actor="agent1")
    assert case.state == "referred_to_counter"
    return case


def test_a_teller_picks_up_a_phone_referral_and_the_journal_links_them(desk: Counter) -> None:
    call = referred_call(desk)
    case = desk.open()
    assert case.channel == "counter"
    case = desk.fire(case, "pick_up_referral", {"referral_ref": call.reference.lower()})
    assert case.state == "identity_check"
    link = case.data["vars"]["referral_of"]
    assert link["reference"] == call.reference
    assert link["workflow"] == "pos_unbind_phone"
    assert link["merchant_no"] == CLEAN.merchant_no
    assert [r["code"] for r in link["reasons"]] == ["caller_not_legal_rep"]
    entries = desk.desk.journal(reference=case.reference)
    picked = [e for e in entries if e.trigger == "pick_up_referral"]
    assert len(picked) == 1 and picked[0].actor == "teller1"
    assert case.data["referral_pickup"] == {"referral_ref": call.reference.lower()}
    # The counter case goes on as any other; the phone case is untouched.
    case = desk.identify(case, ZHANG_SAN)
    assert case.state == "info_check"
    case = desk.fire(case, "submit_binding", CLEAN.form())
    case = desk.through_code(case, REGISTERED_PHONE[CLEAN.merchant_no])
    case = desk.sign_off(case)
    assert case.state == "completed"
    assert case.data["vars"]["referral_of"]["reference"] == call.reference
    again = desk.reloaded(call)
    assert (again.state, again.version) == (call.state, call.version)


def test_an_online_referral_is_picked_up_too(desk: Counter) -> None:
    online = open_case(desk, "pos_unbind_online", "merchant1", "online")
    online = desk.fire(online, "request_code", CLEAN.form(), actor="merchant1")
    code = desk.last_code(REGISTERED_PHONE[CLEAN.merchant_no])
    online = desk.fire(online, "submit_application", {"code": code}, actor="merchant1")
    online = desk.fire(online, "refer_to_counter", {"reason": "licence"}, actor="reviewer1")
    case = desk.fire(desk.open(), "pick_up_referral", {"referral_ref": online.reference})
    assert case.data["vars"]["referral_of"]["workflow"] == "pos_unbind_online"


def test_only_a_referred_case_can_be_picked_up(desk: Counter) -> None:
    """Unknown, another branch's open call, one's own branch's case: the one same answer."""
    case = desk.open()
    unknown = {"referral_unknown": ("block", "referral_ref")}
    assert blocked(desk, case, "pick_up_referral", {"referral_ref": "RC001-20261125-999999"}) == (
        unknown
    )
    open_call = open_case(desk, "pos_unbind_phone", "agent1", "phone")
    assert blocked(desk, case, "pick_up_referral", {"referral_ref": open_call.reference}) == (
        unknown
    )
    own = desk.open()
    assert blocked(desk, case, "pick_up_referral", {"referral_ref": own.reference}) == unknown


def test_a_referral_is_picked_up_once_even_after_its_counter_case_ends(desk: Counter) -> None:
    call = referred_call(desk)
    first = desk.fire(desk.open(), "pick_up_referral", {"referral_ref": call.reference})
    again = desk.open()
    with pytest.raises(BlockedByFindings) as caught:
        desk.fire(again, "pick_up_referral", {"referral_ref": call.reference})
    [finding] = caught.value.findings
    assert (finding.code, finding.field) == ("held_by_open_case", "referral_ref")
    assert finding.message.zh == f"转柜业务 {call.reference} 已有进行中的业务 {first.reference}"
    desk.fire(first, "cancel", {"reason": "客户离开"})
    with pytest.raises(BlockedByFindings) as caught:
        desk.fire(again, "pick_up_referral", {"referral_ref": call.reference})
    [finding] = caught.value.findings
    assert finding.code == "held_for_good"
    assert first.reference in finding.message.zh and first.reference in finding.message.en
    assert desk.reloaded(again).version == again.version


def test_one_counter_case_takes_up_one_referral(desk: Counter) -> None:
    first, second = referred_call(desk), referred_call(desk)
    case = desk.fire(desk.open(), "pick_up_referral", {"referral_ref": first.reference})
    assert blocked(desk, case, "pick_up_referral", {"referral_ref": second.reference}) == {
        "referral_already_linked": ("block", "referral_ref")
    }


@pytest.mark.postgres
def test_parallel_pick_ups_of_one_referral_from_two_branches_let_one_win(
    desk: Counter, db_kind: str
) -> None:
    """Eight tellers of two branches press the button at once: the database lets one through."""
    users.create_branch(desk.desk.db, code="BJ002", name_zh="第二支行", name_en="Second Branch")
    tellers = [
        Actor(f"teller{n}", frozenset({"teller"}), "BJ001" if n % 2 else "BJ002")
        for n in range(8)
    ]
    cases = [desk.desk.open_case(workflow="pos_unbind", actor=t) for t in tellers]
    call = referred_call(desk)
    start = threading.Barrier(len(tellers))

    def pick_up(index: int) -> str:
        start.wait()
        try:
            desk.desk.fire(
                reference=cases[index].reference,
                trigger="pick_up_referral",
                actor=tellers[index],
                data={"referral_ref": call.reference},
                version=cases[index].version,
            )
        except BlockedByFindings as refused:
            return refused.findings[0].code
        return "picked_up"

    with ThreadPoolExecutor(len(tellers)) as pool:
        outcomes = list(pool.map(pick_up, range(len(tellers))))
    assert sorted(outcomes) == ["held_by_open_case"] * 7 + ["picked_up"]
    linked = [
        c.reference
        for c in cases
        if "referral_of" in desk.desk.get(reference=c.reference, actor=Actor.system()).data["vars"]
    ]
    assert len(linked) == 1
