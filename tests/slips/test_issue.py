"""The slip of a completed case: issued by the dispatcher, stored, journaled, reprinted.

Cases walk the flagship through the Desk on the demo registry, as
``tests/flagship`` does (its ``staffed_db`` fixture and helpers); outbox
messages, the slip's among them, are delivered right after each commit.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from flagship.conftest import counter, make_counter, staffed_db
from flagship.helpers import (
    AGENT_ONLY,
    BRANCH,
    CHEN_SAN,
    CLEAN,
    FENG_ER,
    PILOT,
    REGISTERED_PHONE,
    ZHANG_SAN,
    ZHAO_LIU,
    Counter,
)
from sqlalchemy import select, update

from counter.cases import records
from counter.cases.views import CaseView
from counter.config import PROJECT_ROOT, Settings
from counter.engine.types import Actor
from counter.errors import NotFound, PermissionDenied
from counter.slips import default_renderer, sources_digest
from counter.slips.issue import (
    SLIP_EFFECT,
    build_case_context,
    get_slip,
    issue_case_slip,
    list_slips,
    reprint_slip,
    write_case_slip,
)
from counter.slips.store import load_sources
from counter.store import journal
from counter.store.db import write_transactions

from .factories import all_text, default_policy, page_texts

__all__ = ["counter", "make_counter", "staffed_db"]  # the flagship's fixtures, used here

MakeCounter = Callable[..., Counter]
FULL_NUMBERS = [
    ZHANG_SAN.id_number,
    CLEAN.account_number,
    REGISTERED_PHONE[CLEAN.merchant_no],
    ZHAO_LIU.id_number,
    FENG_ER.id_number,
    AGENT_ONLY.account_number,
    REGISTERED_PHONE[AGENT_ONLY.merchant_no],
]
AUDITOR = Actor(username="auditor1", roles=frozenset({"auditor"}), branch=BRANCH)
MERCHANT = Actor(username="merchant1", roles=frozenset({"merchant"}), branch=BRANCH)
ELSEWHERE = Actor(username="teller9", roles=frozenset({"teller"}), branch="SH001")


@pytest.fixture
def forms_dir(tmp_path: Path) -> Path:
    """A copy of forms/ that a test may edit, as an operator edits the real one."""
    copy = tmp_path / "forms"
    shutil.copytree(PROJECT_ROOT / "forms", copy)
    return copy


@pytest.fixture
def settings(forms_dir: Path) -> Settings:
    """The settings the flagship's ``make_counter`` wires the desk with: forms/ is our copy."""
    return Settings(
        demo_mode=True,
        secret_key="slip-tests-secret",
        forms_dir=forms_dir,
        masking=default_policy(),
        _env_file=None,
    )


def completed_clean(counter: Counter) -> CaseView:
    case = counter.through_identity(ZHANG_SAN)
    case = counter.fire(case, "submit_binding", CLEAN.form())
    case = counter.sign_off(counter.through_code(case, REGISTERED_PHONE[CLEAN.merchant_no]))
    assert case.state == "completed"
    return case


def completed_by_an_agent(counter: Counter) -> CaseView:
    mandate = f"WT-{counter.today():%Y%m%d}-0001"
    case = counter.through_identity(
        ZHAO_LIU, acting_as="agent", principal=FENG_ER, mandate_ref=mandate
    )
    case = counter.fire(case, "submit_binding", AGENT_ONLY.form())
    case = counter.sign_off(counter.through_code(case, REGISTERED_PHONE[AGENT_ONLY.merchant_no]))
    assert case.state == "completed"
    return case


def slip_entries(counter: Counter, reference: str, kind: str) -> list[journal.JournalEntry]:
    with counter.desk.db.read() as conn:
        return [e for e in journal.entries(conn, reference) if e.kind == kind]


def teller(counter: Counter) -> Actor:
    return counter.actors["teller1"]


@pytest.mark.postgres
def test_completion_issues_the_slip_stored_hashed_and_journaled(counter: Counter) -> None:
    case = completed_clean(counter)
    slip = get_slip(counter.desk, reference=case.reference, actor=teller(counter))
    assert (slip.copy_number, slip.fmt, slip.issued_by) == (0, "a5", "system")
    assert slip.sha256 == hashlib.sha256(slip.pdf).hexdigest()
    [entry] = slip_entries(counter, case.reference, "slip")
    assert (entry.actor, entry.data_digest) == ("system", slip.sha256)
    note = json.loads(entry.note or "")
    assert (note["sha256"], note["template_version"]) == (slip.sha256, slip.template_version)
    with counter.desk.db.read() as conn:
        sources = load_sources(conn, slip.template_version)
    assert sources is not None and sources_digest(sources) == slip.template_version
    # the layout and stylesheets the template extends are kept with it
    assert {"pos_unbind.html.j2", "base.html.j2", "macros.html.j2", "slip.css"} <= set(sources)
    assert journal.verify(counter.desk.db).ok  # a slip entry is not a step


def test_the_slip_shows_the_case_masked(counter: Counter) -> None:
    case = completed_clean(counter)
    pdf = get_slip(counter.desk, reference=case.reference, actor=teller(counter)).pdf
    texts = page_texts(pdf)
    assert len(texts) == 2  # customer and bank copies
    text = "".join(all_text(pdf).split())
    for shown in (
        "POS机结算卡解绑确认单",
        case.reference,
        "北京分行营业部",
        "北京示例餐饮有限公司",
        CLEAN.merchant_no,
        CLEAN.terminal_sn,
        "622202*********0128",
        "110***********0016",
        "张*",
        "teller1",
        "联网核查+短信验证码",
    ):
        assert shown in text, shown
    for full in FULL_NUMBERS:
        assert full not in text and full not in pdf.decode("latin-1")


def test_an_agents_slip_names_both_and_the_supervisor_who_approved(counter: Counter) -> None:
    case = completed_by_an_agent(counter)
    slip = get_slip(counter.desk, reference=case.reference, actor=teller(counter))
    text = "".join(all_text(slip.pdf).split())
    for shown in ("委托人", "代理人", "冯*", "赵*", "330***********0095", "supervisor1", "WT-"):
        assert shown in text, shown
    assert slip.context["approvals"][0]["code"] == "agent_with_mandate"
    for full in FULL_NUMBERS:
        assert full not in text


def test_three_approvals_and_a_photo_score_still_fit_one_page_a_copy(counter: Counter) -> None:
    case = counter.through_identity(CHEN_SAN)  # photo score 58: supervisor1 approved
    case = counter.fire(case, "submit_binding", PILOT.form())
    rekey = {"rekey_account_number": PILOT.account_number}  # re-keyed blind: card fails Luhn
    case = counter.fire(case, "approve", rekey, actor="supervisor2")  # pilot USCC, card Luhn
    case = counter.sign_off(counter.through_code(case, "15800158000"))
    assert case.state == "completed"
    pdf = get_slip(counter.desk, reference=case.reference, actor=teller(counter)).pdf
    texts = page_texts(pdf)
    assert len(texts) == 2 and "客户联" in texts[0] and "银行留存联" in texts[1]
    text = "".join(texts[0].split())
    assert "人像比对58分" in text and "supervisor1" in text and "supervisor2" in text
    assert CHEN_SAN.id_number not in text and PILOT.account_number not in text


@pytest.mark.postgres
def test_a_second_delivery_issues_no_second_slip(counter: Counter) -> None:
    case = completed_clean(counter)
    first = get_slip(counter.desk, reference=case.reference, actor=teller(counter))
    outbox = records.outbox
    with counter.desk.db.transaction() as conn:  # as if the delivery had not been recorded
        conn.execute(
            update(outbox)
            .where(outbox.c.case_reference == case.reference, outbox.c.kind == SLIP_EFFECT)
            .values(status="pending", next_attempt_at=counter.clock.now)
        )
    assert counter.wired.dispatcher.run_once() == 1
    assert issue_case_slip(counter.desk, reference=case.reference).sha256 == first.sha256
    assert [
        s.copy_number
        for s in list_slips(counter.desk, reference=case.reference, actor=teller(counter))
    ] == [0]
    assert len(slip_entries(counter, case.reference, "slip")) == 1
    with counter.desk.db.read() as conn:
        statuses = (
            conn.execute(
                select(outbox.c.status).where(
                    outbox.c.case_reference == case.reference, outbox.c.kind == SLIP_EFFECT
                )
            )
            .scalars()
            .all()
        )
    assert statuses == ["delivered"]


@pytest.mark.postgres
def test_a_reprint_is_marked_counted_and_journaled(counter: Counter) -> None:
    case = completed_clean(counter)
    original = get_slip(counter.desk, reference=case.reference, actor=teller(counter))
    counter.clock.advance(days=30)
    first = reprint_slip(counter.desk, reference=case.reference, actor=teller(counter))
    second = reprint_slip(
        counter.desk,
        reference=case.reference,
        actor=counter.actors["supervisor1"],
        fmt="roll80",
    )
    assert (first.copy_number, first.issued_by, first.fmt) == (1, "teller1", "a5")
    assert (second.copy_number, second.issued_by, second.fmt) == (2, "supervisor1", "roll80")
    text = all_text(first.pdf)
    assert "REPRINT" in text and "重打" in text and "No. 1" in text
    assert "No. 2" in all_text(second.pdf)
    assert "REPRINT" not in all_text(original.pdf)
    assert first.sha256 == hashlib.sha256(first.pdf).hexdigest() != original.sha256
    assert first.template_version == original.template_version
    entries = slip_entries(counter, case.reference, "reprint")
    assert [(e.actor, e.data_digest) for e in entries] == [
        ("teller1", first.sha256),
        ("supervisor1", second.sha256),
    ]
    assert json.loads(entries[0].note or "")["original_sha256"] == original.sha256
    again = get_slip(counter.desk, reference=case.reference, actor=AUDITOR)
    assert (again.sha256, again.pdf) == (original.sha256, original.pdf)
    latest = get_slip(counter.desk, reference=case.reference, actor=AUDITOR, copy_number=None)
    assert latest.copy_number == 2
    listed = list_slips(counter.desk, reference=case.reference, actor=teller(counter))
    assert [(s.copy_number, s.filename) for s in listed] == [
        (0, f"{case.reference}.pdf"),
        (1, f"{case.reference}-reprint-1.pdf"),
        (2, f"{case.reference}-reprint-2.pdf"),
    ]
    assert journal.verify(counter.desk.db).ok


def test_reprint_is_refused_by_role_and_branch(counter: Counter) -> None:
    case = completed_clean(counter)
    for actor in (AUDITOR, MERCHANT):
        with pytest.raises(PermissionDenied) as refused:
            reprint_slip(counter.desk, reference=case.reference, actor=actor)
        assert "重打" in refused.value.message.zh and "reprint" in refused.value.message.en
    with pytest.raises(NotFound):  # another branch's teller does not see the case at all
        reprint_slip(counter.desk, reference=case.reference, actor=ELSEWHERE)
    with pytest.raises(NotFound):
        get_slip(counter.desk, reference=case.reference, actor=ELSEWHERE)
    assert len(list_slips(counter.desk, reference=case.reference, actor=AUDITOR)) == 1
    assert slip_entries(counter, case.reference, "reprint") == []


def test_no_slip_before_completion(counter: Counter) -> None:
    case = counter.through_identity(ZHANG_SAN)
    with pytest.raises(NotFound):
        get_slip(counter.desk, reference=case.reference, actor=teller(counter))
    with pytest.raises(NotFound):
        issue_case_slip(counter.desk, reference=case.reference)
    with pytest.raises(NotFound):
        reprint_slip(counter.desk, reference=case.reference, actor=teller(counter))


def test_rendered_again_from_the_reloaded_case_it_is_byte_identical(
    counter: Counter, make_counter: MakeCounter
) -> None:
    # WeasyPrint writes no timestamp or file identifier of its own here: the only
    # date in the PDF is the slip's, from the case. So the bytes compare as they are.
    reference = completed_by_an_agent(counter).reference
    stored = get_slip(counter.desk, reference=reference, actor=teller(counter))
    fresh = make_counter()  # a new desk: nothing cached, the case read from the database
    context = build_case_context(fresh.desk, reference=reference)
    assert context.model_dump(mode="json") == stored.context
    with fresh.desk.db.read() as conn:
        sources = load_sources(conn, stored.template_version)
    assert sources is not None
    again = default_renderer().render_from_sources(sources, "pos_unbind", context)
    assert again == stored.pdf


def test_a_reprint_keeps_the_template_of_the_original(
    counter: Counter, make_counter: MakeCounter, forms_dir: Path
) -> None:
    old = completed_clean(counter)
    marker = "NEW-TEMPLATE-2027"
    for name in ("base.html.j2", "pos_unbind.html.j2"):
        path = forms_dir / "slips" / name
        path.write_text(
            path.read_text(encoding="utf-8")
            .replace(
                "{% block rows scoped %}{% endblock %}",
                f"<p>{marker}</p>{{% block rows scoped %}}{{% endblock %}}",
            )
            .replace("{% block rows %}", f"{{% block rows %}}<p>{marker}</p>"),
            encoding="utf-8",
        )
    later = make_counter()  # loads the edited files: new cases run on the new version
    reprint = reprint_slip(later.desk, reference=old.reference, actor=teller(later))
    assert marker not in all_text(reprint.pdf)
    new = completed_by_an_agent(later)  # another merchant: the clean one is unbound now
    assert marker in all_text(get_slip(later.desk, reference=new.reference, actor=AUDITOR).pdf)


def test_write_case_slip_writes_the_stored_original(counter: Counter, tmp_path: Path) -> None:
    case = completed_clean(counter)
    path = write_case_slip(counter.desk, case.reference, tmp_path / "var")
    stored = get_slip(counter.desk, reference=case.reference, actor=AUDITOR)
    assert path == tmp_path / "var" / f"{case.reference}.pdf"
    assert path.read_bytes() == stored.pdf


def test_a_failed_print_is_retried_and_a_print_is_one_write_transaction(
    make_counter: MakeCounter, forms_dir: Path
) -> None:
    """The slip needs no claim: a render that fails leaves its message due later (attempt
    counted, error kept); the print that succeeds stores the slip, journals it and settles
    the message in one write transaction."""
    counter = make_counter(attach=False)
    case = counter.through_identity(ZHANG_SAN)
    case = counter.fire(case, "submit_binding", CLEAN.form())
    counter.wired.dispatcher.run_once()  # the SMS
    counter.sign_off(counter.through_code(case, REGISTERED_PHONE[CLEAN.merchant_no]))
    layout = forms_dir / "slips" / "base.html.j2"  # not in the definition bundle: from disk
    kept = layout.read_text(encoding="utf-8")
    layout.write_text(kept.replace("</html>", "{{ no_such_value }}</html>"), encoding="utf-8")
    counter.wired.dispatcher.run_once()  # the acquirer, its follow-up, and the print fails
    outbox = records.outbox
    query = select(outbox.c.status, outbox.c.attempts, outbox.c.last_error).where(
        outbox.c.case_reference == case.reference, outbox.c.kind == SLIP_EFFECT)
    with counter.desk.db.read() as conn:
        [(status, attempts, error)] = conn.execute(query).all()
    assert (status, attempts) == ("pending", 1) and "no_such_value" in error
    assert slip_entries(counter, case.reference, "slip") == []

    layout.write_text(kept, encoding="utf-8")
    counter.clock.advance(seconds=3)  # the first retry is due after 2 s
    writes = write_transactions()
    assert counter.wired.dispatcher.run_once() == 1
    assert write_transactions() - writes == 1
    with counter.desk.db.read() as conn:
        [(status, attempts, _)] = conn.execute(query).all()
    assert (status, attempts) == ("delivered", 2)
    assert len(slip_entries(counter, case.reference, "slip")) == 1
