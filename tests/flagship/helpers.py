"""A counter with the demo registry, and the walk a teller takes through pos_unbind.

Every step goes through the ``Desk`` (the runtime the web uses) and is
followed by a reload from the database that must show the same case.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from counter.adapters import LocalAcquirerRegistry, LocalSmsGateway
from counter.banking.identity import validate_document
from counter.banking.validity import LONG_TERM, age_on, validity_years
from counter.cases.views import CaseView
from counter.cases.wiring import Wired
from counter.engine.types import Actor
from counter.store import journal

PASSWORD = "counter-test-password"
BRANCH = "BJ001"


class Clock:
    """The time the desk and the checks see; tests move it forward."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass(frozen=True)
class Person:
    id_number: str
    name: str
    id_type: str = "resident_id"


# The demo registry's people (counter/adapters/demo).
ZHANG_SAN = Person("110105198001010016", "张三")  # legal rep of the clean merchant
LI_SI = Person("310104197505120020", "李四")  # pending settlement funds
WANG_WU = Person("440305199002280036", "王五")  # risk flagged
SUN_BA = Person("320102198811110051", "孙八")  # judicially frozen
ZHOU_JIU = Person("510107197007070063", "周九")  # closed
WU_SHI = Person("420106199203030078", "吴十")  # binding changed 10 days ago
ZHENG_YI = Person("110108198309090082", "郑一")  # corporate account
FENG_ER = Person("330106197812300095", "冯二")  # legal rep abroad: agent-only case
ZHAO_LIU = Person("110101198506150043", "赵六")  # the agent for 冯二
CHEN_SAN = Person("11010519491231002X", "陈三")  # photo 58, pilot USCC, card failing Luhn
QIAN_QI = Person("310104197505120039", "钱七")  # verification: mismatch
LIU_SI = Person("440305199002280052", "刘四")  # verification: not_found
HE_WU = Person("110105198001010024", "何五")  # verification: unavailable


@dataclass(frozen=True)
class Binding:
    merchant_no: str
    uscc: str
    terminal_sn: str
    account_number: str

    def form(self, **changes: str) -> dict[str, str]:
        values = {
            "merchant_no": self.merchant_no,
            "uscc": self.uscc,
            "terminal_sn": self.terminal_sn,
            "account_number": self.account_number,
        }
        values.update(changes)
        return values


CLEAN = Binding("102110058120001", "91110000600037341L", "SN-PAX-000001", "6222021234567890128")
PENDING_FUNDS = Binding(
    "102110058120002", "91110105MA01A2B3C4", "SN-PAX-000002", "6217001234000056786"
)
RISK_FLAGGED = Binding(
    "102110058120003", "91110108MA01R15K7B", "SN-PAX-000003", "6228480012345671"
)
FROZEN = Binding("102110058120004", "91110106MA01XY7P2Y", "SN-PAX-000004", "6259650000123456781")
CLOSED = Binding("102110058120005", "91110101MA0022TN1G", "SN-PAX-000005", "6214830100002233448")
RECENT_CHANGE = Binding(
    "102110058120006", "91110102MA00Q6RL3L", "SN-PAX-000006", "6225881234123412344"
)
CORPORATE = Binding(
    "102310058120007", "91440300MA5ABCDE1H", "SN-NEW-000007", "44250100003700001234"
)
AGENT_ONLY = Binding(
    "102110058120008", "91110115MA01HHH8X2", "SN-PAX-000008", "6212260000998877666"
)
PILOT = Binding("102110058120009", "91110228MA0199TT4A", "SN-PAX-000009", "6212260000998877660")

REGISTERED_PHONE = {CLEAN.merchant_no: "13800138000", AGENT_ONLY.merchant_no: "15900159000"}


def plausible_expiry(person: Person, today: date) -> str:
    """An expiry that fits the holder's age: as if the card was issued a year ago."""
    document = validate_document(person.id_type, person.id_number, today=today)
    assert document.birth_date is not None
    issued = today.replace(year=today.year - 1)
    years = validity_years(age_on(document.birth_date, issued))
    if years is None:
        return LONG_TERM
    return issued.replace(year=issued.year + years).isoformat()


def identity_form(
    person: Person,
    today: date,
    *,
    acting_as: str = "self",
    principal: Person | None = None,
    mandate_ref: str | None = None,
    **changes: str,
) -> dict[str, str]:
    form = {
        "id_type": person.id_type,
        "id_number": person.id_number,
        "name": person.name,
        "id_expiry": plausible_expiry(person, today),
        "acting_as": acting_as,
    }
    if principal is not None:
        form["principal_id_number"] = principal.id_number
    if mandate_ref is not None:
        form["mandate_ref"] = mandate_ref
    form.update(changes)
    return form


@dataclass
class Counter:
    """The desk with its dispatcher, the people behind it and the local adapters."""

    wired: Wired
    clock: Clock
    actors: Mapping[str, Actor]
    steps: list[str] = field(default_factory=list)

    @property
    def desk(self) -> Any:
        return self.wired.desk

    @property
    def acquirer(self) -> LocalAcquirerRegistry:
        acquirer = self.desk.services.acquirer
        assert isinstance(acquirer, LocalAcquirerRegistry)
        return acquirer

    @property
    def sms(self) -> LocalSmsGateway:
        sms = self.desk.services.sms
        assert isinstance(sms, LocalSmsGateway)
        return sms

    def today(self) -> date:
        return self.clock.now.date()

    def open(self, workflow: str = "pos_unbind", actor: str = "teller1") -> CaseView:
        view: CaseView = self.desk.open_case(workflow=workflow, actor=self.actors[actor])
        return self.reloaded(view)

    def fire(
        self,
        case: CaseView | str,
        trigger: str,
        data: Mapping[str, Any] | None = None,
        *,
        actor: str = "teller1",
        **options: Any,
    ) -> CaseView:
        reference = case if isinstance(case, str) else case.reference
        view: CaseView = self.desk.fire(
            reference=reference, trigger=trigger, actor=self.actors[actor], data=data, **options
        )
        self.steps.append(trigger)
        return self.reloaded(view)

    def reloaded(self, view: CaseView) -> CaseView:
        """The case read back from the database, which must be the case the step returned.

        With delivery right after commit the dispatcher may already have moved
        the case on (the acquirer's answer): then every later step is the system's.
        """
        again: CaseView = self.desk.get(reference=view.reference, actor=Actor.system())
        if again.version != view.version:
            steps = [e for e in self.desk.journal(reference=view.reference)
                     if e.kind in journal.STEP_KINDS]
            later = steps[view.version :]
            assert later and {entry.actor for entry in later} == {"system"}, later
            return again
        assert (again.state, again.data, again.pending) == (view.state, view.data, view.pending)
        return again

    def last_code(self, phone: str) -> str:
        """The code in the newest SMS to ``phone`` (the customer reads it back)."""
        messages = self.sms.outbox(phone=phone)
        assert messages, f"no SMS to {phone}"
        newest = max(messages, key=lambda m: m.sent_at)
        found = re.search(r"验证码(\d{6})", newest.text)
        assert found is not None, newest.text
        return found.group(1)

    # --- the walk ----------------------------------------------------------

    def identify(self, case: CaseView, person: Person, **options: Any) -> CaseView:
        return self.fire(case, "submit_identity", identity_form(person, self.today(), **options))

    def through_identity(
        self, person: Person, workflow: str = "pos_unbind", **options: Any
    ) -> CaseView:
        """A case past the identity step (approved by supervisor1 if it had to be)."""
        case = self.open(workflow)
        case = self.identify(case, person, **options)
        if case.state == "supervisor_review":
            case = self.fire(case, "approve", {}, actor="supervisor1")
        assert case.state == "info_check", case.state
        return case

    def through_code(self, case: CaseView, phone: str) -> CaseView:
        assert case.state == "code_check", case.state
        case = self.fire(case, "confirm_code", {"code": self.last_code(phone)})
        assert case.state == "teller_signoff", case.state
        return case

    def sign_off(self, case: CaseView, **options: Any) -> CaseView:
        return self.fire(case, "sign_off", {"password": PASSWORD}, **options)


def findings(view: CaseView) -> dict[str, str]:
    """The findings of the step that made ``view``: code -> severity."""
    return {f.code: str(f.severity) for f in view.findings}


def pending_findings(view: CaseView) -> dict[str, str]:
    assert view.pending is not None, "the case waits for no approval"
    return {f.code: str(f.severity) for f in view.pending.findings}


UTC_START = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def blocked(
    counter: Counter,
    case: CaseView,
    trigger: str,
    data: Mapping[str, Any],
    *,
    actor: str = "teller1",
) -> dict[str, tuple[str, str | None]]:
    """Fire a step that must be refused; the case must not have moved. code -> (severity, field)."""
    import pytest

    from counter.errors import BlockedByFindings

    with pytest.raises(BlockedByFindings) as caught:
        counter.fire(case, trigger, data, actor=actor)
    again = counter.reloaded(case)
    assert (again.state, again.version) == (case.state, case.version)
    return {f.code: (str(f.severity), f.field) for f in caught.value.findings}
