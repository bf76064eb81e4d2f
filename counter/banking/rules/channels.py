"""The other two doors to an unbind: the merchant's online application and the phone call.

``workflows/pos_unbind_online.yaml`` and ``workflows/pos_unbind_phone.yaml``
name the counter's own checks wherever the counter's rule holds; this module
holds only what differs (``docs/channels.md``):

* who may act online: a ``merchant`` user acts for the merchant number bound
  to their user (``Actor.attributes["merchant_no"]``), never another's
  (``merchant_own_number``), and every online application waits for a
  reviewer (``online_application_review``);
* the phone call gives only the merchant number, the terminal and the last 4
  digits of the bound account (form ``phone_call``). The ``phone_*`` checks
  and actions are the counter's, run with the call shown to them as the
  counter's binding form; ``phone_needs_identity_check`` picks out the calls
  that need a document check at a counter;
* referrals: ``record_referral`` keeps why a case went to a counter (case
  variable ``referral``); at the counter, ``referral_open`` and
  ``record_referral_pickup`` take such a case up by its reference and keep
  the link (case variable ``referral_of``).

A referral is looked up through ``services.extra["cases"]``: a callable
``(reference) -> CaseSnapshot | None`` (``counter.cases.wiring`` provides it).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar, cast

from counter.banking._clean import compact
from counter.banking.accounts import normalize_account_number
from counter.banking.rules._support import (
    acquirer,
    approve,
    block,
    same_number,
    text_value,
)
from counter.banking.rules.actions import note_merchant, request_unbind
from counter.banking.rules.binding import (
    merchant_on_record,
    pending_settlement,
    recent_binding_change,
    settlement_account_matches,
    terminal_on_record,
)
from counter.banking.rules.code import send_unbind_code, unbind_code_last_attempt
from counter.engine.registry import action, check, condition, validator
from counter.engine.types import (
    ActionContext,
    CaseSnapshot,
    Finding,
    Severity,
    StepContext,
)
from counter.errors import ConfigurationError
from counter.text import Text

__all__ = [
    "CASES",
    "MERCHANT_NO",
    "REFERRAL_VAR",
    "REFERRED",
    "account_last4_format",
    "case_reference_format",
    "merchant_own_number",
    "online_application_review",
    "phone_needs_identity_check",
    "record_referral",
    "record_referral_pickup",
    "referral_open",
]

MERCHANT_NO = "merchant_no"  # key in Actor.attributes
CASES = "cases"  # key in services.extra: (reference) -> CaseSnapshot | None
REFERRAL_VAR = "referral"  # on the referred case: why, by whom, when
PICKUP_VAR = "referral_of"  # on the counter case: the case it took up
REFERRED = "referred_to_counter"  # the final state of a referred case
BINDING = "pos_binding"
CALL = "phone_call"

_LAST4 = re.compile(r"[0-9]{4}")
_CASE_REFERENCE = re.compile(r"[A-Z0-9]{1,16}-[0-9]{8}-[0-9]{6}")  # BRANCH-YYYYMMDD-NNNNNN

Ctx = TypeVar("Ctx", bound=StepContext)


# --- online: the merchant user -------------------------------------------------


def _own_merchant_no(ctx: StepContext) -> str:
    return str(ctx.actor.attributes.get(MERCHANT_NO) or "")


@check("merchant_own_number")
def merchant_own_number(ctx: StepContext) -> Iterator[Finding]:
    """A merchant user acts only for the merchant number bound to their user.

    Before the application names a merchant number, only the user who
    opened it may act on it.
    """
    own = _own_merchant_no(ctx)
    if not own:
        yield block(
            "merchant_user_unbound",
            Text(
                zh="您的用户未绑定商户编号,不能在线办理,请联系银行",
                en="Your user is bound to no merchant number; contact the bank",
            ),
            user=ctx.actor.username,
        )
        return
    applied = text_value(ctx, BINDING, "merchant_no")
    if applied and same_number(applied, own):
        return
    if not applied and ctx.case.opened_by == ctx.actor.username:
        return
    yield block(
        "merchant_not_own",
        Text(
            zh="只能为本用户绑定的商户办理",
            en="You may act only for the merchant your user is bound to",
        ),
        field="merchant_no" if applied else None,
        merchant_no=applied,
        own_merchant_no=own,
    )


@check("online_application_review")
def online_application_review(ctx: StepContext) -> Iterator[Finding]:
    """Always one finding: an online application is decided by a reviewer, never by itself."""
    yield approve(
        "online_application_review",
        Text(
            zh="网上申请须经后台审核",
            en="An online application is decided by a back-office reviewer",
        ),
        channel="online",
    )


# --- phone: the call as the counter's binding form --------------------------


def _bound_account_number(ctx: StepContext) -> str:
    """The bound account when its last 4 digits are the caller's, else what the caller said."""
    said = text_value(ctx, CALL, "account_last4")
    merchant_no = text_value(ctx, CALL, "merchant_no")
    terminal_sn = text_value(ctx, CALL, "terminal_sn")
    if not merchant_no or not terminal_sn:
        return said
    bound = acquirer(ctx.services).settlement_account(merchant_no, terminal_sn)
    if bound is None:
        return said
    number = normalize_account_number(bound.account_number)
    return number if number[-4:] == said else said


def _on_call(ctx: Ctx) -> Ctx:
    """``ctx`` with the call's merchant, terminal and account shown as the binding form.

    An ``ActionContext`` keeps its variables and effects: the copy shares them.
    """
    binding = {
        "merchant_no": text_value(ctx, CALL, "merchant_no"),
        "terminal_sn": text_value(ctx, CALL, "terminal_sn"),
        "account_number": _bound_account_number(ctx),
    }
    data = {**ctx.case.data, BINDING: binding}
    return dataclasses.replace(ctx, case=dataclasses.replace(ctx.case, data=data))


def _call_check(name: str, counter_check: Callable[[StepContext], Iterable[Finding]]) -> None:
    def on_call(ctx: StepContext) -> Iterable[Finding]:
        return counter_check(_on_call(ctx))

    on_call.__doc__ = f"``{counter_check.__name__}`` on the merchant and terminal of the call."
    check(name)(on_call)


_call_check("phone_merchant_on_record", merchant_on_record)
_call_check("phone_terminal_on_record", terminal_on_record)
_call_check("phone_settlement_account", settlement_account_matches)
_call_check("phone_pending_settlement", pending_settlement)
_call_check("phone_recent_binding_change", recent_binding_change)


@action("phone_send_code")
def phone_send_code(ctx: ActionContext) -> None:
    """``send_unbind_code`` to the registered phone of the merchant the caller named."""
    send_unbind_code(_on_call(ctx))


@action("phone_note_merchant")
def phone_note_merchant(ctx: ActionContext) -> None:
    """``note_merchant``: what the registry says of the merchant the caller named."""
    note_merchant(_on_call(ctx))


@action("phone_request_unbind")
def phone_request_unbind(ctx: ActionContext) -> None:
    """``request_unbind`` for the call's terminal and the account bound to it."""
    request_unbind(_on_call(ctx))


def _identity_reasons(ctx: StepContext) -> list[Finding]:
    """Why the call needs a document check at a counter (empty: the phone may go on).

    Only for a merchant and terminal the counter could act on: a call the
    counter would refuse outright is refused on the phone too.
    """
    if CALL not in ctx.case.data:
        return []
    shown = _on_call(ctx)
    status = list(merchant_on_record(shown))
    if any(f.severity is Severity.BLOCK for f in status):  # unknown, closed, frozen
        return []
    if list(terminal_on_record(shown)):
        return []
    bound = acquirer(ctx.services).settlement_account(
        text_value(ctx, CALL, "merchant_no"), text_value(ctx, CALL, "terminal_sn")
    )
    if bound is None:  # nothing to unbind: terminal_not_bound refuses the call
        return []
    reasons = [f for f in status if f.severity is Severity.APPROVE]  # the risk flag
    if text_value(ctx, CALL, "caller") == "agent":
        reasons.append(
            block(
                "caller_not_legal_rep",
                Text(
                    zh="来电人不是法定代表人本人,须凭授权委托书到柜面办理",
                    en="The caller is not the legal representative; an agent needs a "
                    "mandate, checked at a counter",
                ),
            )
        )
    said = text_value(ctx, CALL, "account_last4")
    if normalize_account_number(bound.account_number)[-4:] != said:
        reasons.append(
            block(
                "account_last4_mismatch",
                Text(
                    zh="来电人所报结算账号后4位与登记不符,须到柜面核验身份",
                    en="The last 4 digits given are not the bound account's; the "
                    "caller's identity is checked at a counter",
                ),
                field="account_last4",
            )
        )
    return reasons


@condition("phone_needs_identity_check")
def phone_needs_identity_check(ctx: StepContext) -> bool:
    """The caller acts for someone, gave wrong last 4 digits, or the merchant is risk-flagged."""
    return bool(_identity_reasons(ctx))


@validator("account_last4_format")
def account_last4_format(value: Any, form: Mapping[str, Any]) -> Text | None:
    if _LAST4.fullmatch(compact(str(value))):
        return None
    return Text(zh="请填写结算账号的后4位数字", en="Enter the last 4 digits of the account")


# --- referrals to a counter -------------------------------------------------


@validator("case_reference_format")
def case_reference_format(value: Any, form: Mapping[str, Any]) -> Text | None:
    """A case reference as the status page and the caller give it: ``RC001-20261125-000003``."""
    if _CASE_REFERENCE.fullmatch(compact(str(value)).upper()):
        return None
    return Text(
        zh="请填写完整的业务编号,例如 RC001-20261125-000003",
        en="Enter the whole case reference, for example RC001-20261125-000003",
    )


def _reason(finding: Finding) -> dict[str, Any]:
    return {"code": finding.code, "message": {"zh": finding.message.zh, "en": finding.message.en}}


@action("record_referral")
def record_referral(ctx: ActionContext) -> None:
    """Keep why the case goes to a counter, for the status page and the teller who takes it up.

    The reasons: the call's (``phone_needs_identity_check``), a code wrong
    too often on the phone, or the reviewer's own (``reason`` of the
    ``referral`` form).
    """
    reasons = [_reason(f) for f in _identity_reasons(ctx)]
    if "code" in ctx.form and unbind_code_last_attempt(ctx):
        reasons.append(
            _reason(
                block(
                    "unbind_code_attempts_exhausted",
                    Text(
                        zh="验证码连续输错3次,须到柜面核验身份",
                        en="The code was entered wrong 3 times; identity is checked at a counter",
                    ),
                )
            )
        )
    written = str(ctx.form.get("reason") or "")
    if written:
        reasons.append(
            {"code": "reviewer_referral", "message": {"zh": written, "en": written}}
        )
    form = CALL if CALL in ctx.case.data else BINDING
    ctx.set(
        REFERRAL_VAR,
        {
            "reference": ctx.case.reference,
            "merchant_no": text_value(ctx, form, "merchant_no"),
            "terminal_sn": text_value(ctx, form, "terminal_sn"),
            "reasons": reasons,
            "referred_by": ctx.actor.username,
            "referred_at": ctx.now.isoformat(),
        },
    )


def _lookup(services: Any) -> Callable[[str], CaseSnapshot | None]:
    extra = getattr(services, "extra", None)
    found = extra.get(CASES) if isinstance(extra, dict) else None
    if not callable(found):
        raise ConfigurationError(
            Text(
                zh=f"业务规则需要的外部服务 'extra[{CASES!r}]' 未配置",
                en=f"the service 'extra[{CASES!r}]' that the banking rules need is not configured",
            ),
            service=CASES,
        )
    return cast("Callable[[str], CaseSnapshot | None]", found)


def _referred_case(ctx: StepContext) -> tuple[str, CaseSnapshot | None]:
    reference = compact(str(ctx.form.get("referral_ref") or "")).upper()
    return reference, _lookup(ctx.services)(reference) if reference else None


def _open_referral(referred: CaseSnapshot | None) -> bool:
    return (
        referred is not None
        and referred.state == REFERRED
        and REFERRAL_VAR in (referred.data.get("vars") or {})
    )


@check("referral_open")
def referral_open(ctx: StepContext) -> Iterator[Finding]:
    """The reference is a case that the phone or online channel referred to a counter.

    A referral is addressed to every counter, so any teller may find it; any
    other reference (unknown, another branch's case, a case not referred)
    gets the one same finding, which says nothing of whether or whose the
    case is. That a referral is picked up once is the case's ``holds``.
    """
    taken = (ctx.case.data.get("vars") or {}).get(PICKUP_VAR)
    if isinstance(taken, Mapping):
        yield block(
            "referral_already_linked",
            Text(
                zh=f"本业务已承接转柜业务 {taken.get('reference', '')},请另开业务",
                en=f"This case took up referral {taken.get('reference', '')} already; "
                "open another case",
            ),
            field="referral_ref",
        )
        return
    _, referred = _referred_case(ctx)
    if not _open_referral(referred):
        yield block(
            "referral_unknown",
            Text(zh="没有此转柜业务编号", en="No referral has this reference"),
            field="referral_ref",
        )


@action("record_referral_pickup")
def record_referral_pickup(ctx: ActionContext) -> None:
    """Link this counter case to the referred case (``referral_of``), with its reasons."""
    reference, referred = _referred_case(ctx)
    if referred is None or not _open_referral(referred):  # referral_open refused it already
        return
    referral = dict((referred.data.get("vars") or {}).get(REFERRAL_VAR) or {})
    ctx.set(
        PICKUP_VAR,
        {
            "reference": reference,
            "workflow": referred.workflow,
            "merchant_no": referral.get("merchant_no", ""),
            "terminal_sn": referral.get("terminal_sn", ""),
            "reasons": referral.get("reasons", []),
        },
    )
