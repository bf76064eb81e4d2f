"""What a slip shows: ``SlipContext``, built from raw case values by ``build_context``.

The template only ever sees a ``SlipContext``. Every personal value in it
(names, ID, card, account and phone numbers) is masked by ``build_context``
through ``counter.banking.masking`` under the bank's policy, so a full number
cannot reach a template, a PDF or a log line by mistake. Employee IDs
(teller, supervisor), merchant numbers and terminal serials are not personal
data and are printed as given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from counter.banking.masking import mask, mask_id, mask_name
from counter.config import MaskingPolicy
from counter.text import Text

__all__ = [
    "DEFAULT_NOTICE",
    "AccountKind",
    "ApprovedFinding",
    "PartyInput",
    "PartyLine",
    "ReprintMark",
    "SlipContext",
    "SlipLine",
    "build_context",
    "status_lookup_url",
]

AccountKind = Literal["card", "account"]

DEFAULT_NOTICE = Text(
    zh="请妥善保管本凭条,作为业务办理凭证;可扫描二维码或凭业务编号查询办理进度。",
    en="Keep this slip as proof of the service. Scan the QR code or quote the reference "
    "to look up its status.",
)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PartyLine(_Frozen):
    """A person as printed: masked name, document type, masked document number."""

    name: str
    id_type: Text
    id_number: str


class ApprovedFinding(_Frozen):
    """A finding a supervisor approved, and who approved it."""

    code: str
    message: Text
    supervisor_id: str


class SlipLine(_Frozen):
    """An extra labelled line a workflow's own template may print (value already masked)."""

    label: Text
    value: str


class ReprintMark(_Frozen):
    """Printed on a reprint: 重打 / REPRINT, which reprint it is and when it was made."""

    number: int = Field(ge=1)
    printed_at: AwareDatetime


class SlipContext(_Frozen):
    """Everything a slip shows, masked where personal. Built by ``build_context``."""

    bank_name: Text
    branch_name: Text
    title: Text
    reference: str
    # Printed as it is given (no conversion): pass the branch's local time.
    # A time zone is required so that the PDF metadata carries a valid date.
    issued_at: AwareDatetime
    service: Text
    customer: PartyLine
    customer_phone: str | None = None
    agent: PartyLine | None = None  # when set, ``customer`` is the principal
    merchant_name: str
    merchant_number: str
    terminal_serial: str
    account_unbound: str
    account_bound: str | None = None  # the new settlement account, for a card change
    outcome: Text
    approvals: tuple[ApprovedFinding, ...] = ()
    teller_id: str
    identity_verification: Text
    notice: Text = DEFAULT_NOTICE
    status_url: str
    details: tuple[SlipLine, ...] = ()


@dataclass(frozen=True)
class PartyInput:
    """A person as the case holds them, unmasked. ``repr`` never shows the values."""

    name: str = field(repr=False)
    id_number: str = field(repr=False)
    id_type: Text = field(default_factory=lambda: Text(zh="居民身份证", en="Resident ID card"))


def _mask_party(party: PartyInput, policy: MaskingPolicy | None) -> PartyLine:
    return PartyLine(
        name=mask_name(party.name, policy=policy),
        id_type=party.id_type,
        id_number=mask_id(party.id_number, policy=policy),
    )


def status_lookup_url(base_url: str, reference: str) -> str:
    """The address the QR code and the printed link point to for one case."""
    return f"{base_url.rstrip('/')}/{reference}"


def build_context(
    *,
    bank_name: Text,
    branch_name: Text,
    title: Text,
    reference: str,
    issued_at: datetime,
    service: Text,
    customer: PartyInput,
    merchant_name: str,
    merchant_number: str,
    terminal_serial: str,
    account_unbound: str,
    outcome: Text,
    teller_id: str,
    identity_verification: Text,
    status_base_url: str,
    customer_phone: str | None = None,
    agent: PartyInput | None = None,
    account_bound: str | None = None,
    account_kind: AccountKind = "card",
    account_bound_kind: AccountKind = "card",
    approvals: Sequence[ApprovedFinding] = (),
    notice: Text = DEFAULT_NOTICE,
    details: Sequence[SlipLine] = (),
    policy: MaskingPolicy | None = None,
) -> SlipContext:
    """Mask the raw case values by ``policy`` (the bank's default when ``None``).

    ``account_kind`` says whether the settlement account is a personal debit
    card or a corporate account number, since the two are masked by different
    rules. ``details`` values are printed as given: mask them before.
    """

    def masked(value: str | None, kind: str) -> str | None:
        return None if value is None else mask(value, kind, policy=policy)

    return SlipContext(
        bank_name=bank_name,
        branch_name=branch_name,
        title=title,
        reference=reference,
        issued_at=issued_at,
        service=service,
        customer=_mask_party(customer, policy),
        customer_phone=masked(customer_phone, "phone"),
        agent=None if agent is None else _mask_party(agent, policy),
        merchant_name=merchant_name,
        merchant_number=merchant_number,
        terminal_serial=terminal_serial,
        account_unbound=mask(account_unbound, account_kind, policy=policy),
        account_bound=masked(account_bound, account_bound_kind),
        outcome=outcome,
        approvals=tuple(approvals),
        teller_id=teller_id,
        identity_verification=identity_verification,
        notice=notice,
        status_url=status_lookup_url(status_base_url, reference),
        details=tuple(details),
    )
