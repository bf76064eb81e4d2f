"""Checks against the acquirer's registry: merchant, terminal, account, code, person.

Binding (``submit_binding``): the merchant, terminal, account and social
credit code presented against the registry, whether the person may act for
the merchant (this needs the identity step's answers too), pending funds
and recent binding changes. Card change (``submit_new_account``): the new
account. Codes and severities are listed in ``docs/flagship.md``; evidence
holds masked values only.

Each check looks the merchant up again rather than share a cache: a check
must not depend on which other checks a workflow lists, and a real registry
adapter may cache as it sees fit.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from counter.banking.accounts import check_card_number, check_corporate_account
from counter.banking.masking import mask_account, mask_id, mask_name
from counter.banking.merchant import normalize_terminal_sn
from counter.banking.rules._support import (
    acquirer,
    approve,
    block,
    merchant_of,
    policy,
    same_name,
    same_number,
    text_value,
)
from counter.banking.uscc import check_uscc
from counter.engine.registry import check
from counter.engine.types import Finding, StepContext
from counter.text import Text

__all__ = [
    "RECENT_CHANGE_DAYS",
    "merchant_on_record",
    "new_account_acceptable",
    "pending_settlement",
    "person_authorised",
    "recent_binding_change",
    "settlement_account_matches",
    "terminal_on_record",
    "uscc_matches",
]

RECENT_CHANGE_DAYS = 30
IDENTITY = "identity"
BINDING = "pos_binding"
NEW_ACCOUNT = "new_account"

# --- binding ----------------------------------------------------------------


@check("merchant_on_record")
def merchant_on_record(ctx: StepContext) -> Iterator[Finding]:
    """The merchant exists and its status lets a binding change."""
    merchant_no = text_value(ctx, BINDING, "merchant_no")
    merchant = merchant_of(ctx)
    if merchant is None:
        yield block(
            "merchant_unknown",
            Text(zh="收单机构无此商户编号", en="The acquirer has no merchant with this number"),
            field="merchant_no",
            merchant_no=merchant_no,
        )
        return
    status = str(merchant.status)
    if status == "closed":
        yield block(
            "merchant_closed",
            Text(zh="该商户已注销", en="The merchant is closed"),
            field="merchant_no",
            merchant_no=merchant_no,
            status=status,
        )
    elif status == "frozen_judicial":
        yield block(
            "merchant_frozen_judicial",
            Text(
                zh="该商户结算账户已被司法冻结,不能办理",
                en="The merchant's settlement is frozen by a court order; it cannot be changed",
            ),
            merchant_no=merchant_no,
            status=status,
        )
    elif status == "risk_flagged":
        yield approve(
            "merchant_risk_flagged",
            Text(
                zh="该商户被收单机构列为风险关注商户,须主管审批",
                en="The acquirer has flagged this merchant for risk; a supervisor decides",
            ),
            merchant_no=merchant_no,
            status=status,
        )


def _terminal_registered(ctx: StepContext) -> bool:
    wanted = normalize_terminal_sn(text_value(ctx, BINDING, "terminal_sn"))
    terminals = acquirer(ctx.services).terminals(text_value(ctx, BINDING, "merchant_no"))
    return any(normalize_terminal_sn(t.terminal_sn) == wanted for t in terminals)


@check("terminal_on_record")
def terminal_on_record(ctx: StepContext) -> Iterator[Finding]:
    if merchant_of(ctx) is None or _terminal_registered(ctx):
        return
    yield block(
        "terminal_not_registered",
        Text(
            zh="该终端未登记在此商户名下",
            en="This terminal is not registered to this merchant",
        ),
        field="terminal_sn",
        merchant_no=text_value(ctx, BINDING, "merchant_no"),
        terminal_sn=text_value(ctx, BINDING, "terminal_sn"),
    )


@check("settlement_account_matches")
def settlement_account_matches(ctx: StepContext) -> Iterator[Finding]:
    """The account presented is the one bound; a bound card failing Luhn needs a supervisor."""
    if merchant_of(ctx) is None or not _terminal_registered(ctx):
        return
    presented = text_value(ctx, BINDING, "account_number")
    bound = acquirer(ctx.services).settlement_account(
        text_value(ctx, BINDING, "merchant_no"), text_value(ctx, BINDING, "terminal_sn")
    )
    rules = policy(ctx)
    if bound is None:
        yield block(
            "terminal_not_bound",
            Text(
                zh="该终端当前未绑定结算账户,无需解绑",
                en="This terminal has no settlement account bound; there is nothing to unbind",
            ),
            field="terminal_sn",
            terminal_sn=text_value(ctx, BINDING, "terminal_sn"),
        )
        return
    if not same_number(presented, bound.account_number):
        yield block(
            "account_mismatch",
            Text(
                zh="所报结算账号与该终端绑定的账号不一致",
                en="The account presented is not the one bound to this terminal",
            ),
            field="account_number",
            presented=mask_account(presented, rules),
            on_record=mask_account(bound.account_number, rules),
        )
        return
    luhn = check_card_number(presented) if str(bound.account_type) == "personal_card" else None
    if luhn is not None and luhn.code == "card_luhn":
        yield approve(
            "card_luhn_failed",
            luhn.message,
            field="account_number",
            account_number=mask_account(presented, rules),
        )


@check("uscc_matches")
def uscc_matches(ctx: StepContext) -> Iterator[Finding]:
    """The code presented is the merchant's; one failing its check needs a supervisor."""
    merchant = merchant_of(ctx)
    if merchant is None:
        return
    presented = text_value(ctx, BINDING, "uscc")
    if not same_number(presented, merchant.uscc):
        yield block(
            "uscc_mismatch",
            Text(
                zh="所报统一社会信用代码与商户登记信息不一致",
                en="The social credit code presented is not the merchant's code on record",
            ),
            field="uscc",
            presented=presented,
            on_record=merchant.uscc,
        )
        return
    problem = check_uscc(presented)
    if problem is not None and problem.code == "uscc_check_char":
        yield approve("uscc_check_failed", problem.message, field="uscc", uscc=presented)


@check("person_authorised")
def person_authorised(ctx: StepContext) -> Iterator[Finding]:
    """The person is the legal representative on record, or an agent acting for them."""
    merchant = merchant_of(ctx)
    if merchant is None:
        return
    agent = text_value(ctx, IDENTITY, "acting_as") == "agent"
    who = text_value(ctx, IDENTITY, "principal_id_number" if agent else "id_number")
    if same_number(who, merchant.legal_rep_id_number):
        return
    rules = policy(ctx)
    yield block(
        "person_not_authorised",
        Text(
            zh="办理人既不是登记的法定代表人,也不是其授权代理人",
            en="The person is neither the legal representative on record nor their agent",
        ),
        acting_as="agent" if agent else "self",
        presented_id_number=mask_id(who, rules),
        legal_rep_id_number=mask_id(merchant.legal_rep_id_number, rules),
        legal_rep_name=mask_name(merchant.legal_rep_name, rules),
    )


@check("pending_settlement")
def pending_settlement(ctx: StepContext) -> Iterator[Finding]:
    merchant = merchant_of(ctx)
    if merchant is None or merchant.pending_settlement_cents <= 0:
        return
    cents = merchant.pending_settlement_cents
    amount = f"{cents // 100:,}.{cents % 100:02d}"
    yield approve(
        "pending_settlement_funds",
        Text(
            zh=f"该商户尚有待结算资金 {amount} 元,须主管确认结算安排",
            en=f"The merchant has CNY {amount} of settlement pending; a supervisor confirms "
            "how it will be paid",
        ),
        pending_settlement_cents=cents,
    )


@check("recent_binding_change")
def recent_binding_change(ctx: StepContext) -> Iterator[Finding]:
    """A binding changed fewer than 30 days ago is a supervisor's call (fraud pattern)."""
    merchant = merchant_of(ctx)
    changed: date | None = merchant.last_binding_change if merchant is not None else None
    if changed is None:
        return
    days = (ctx.now.date() - changed).days
    if days >= RECENT_CHANGE_DAYS:
        return
    yield approve(
        "binding_changed_recently",
        Text(
            zh=f"该商户 {days} 天前刚变更过结算账户绑定,须主管审批",
            en=f"The merchant's binding changed {days} days ago; a supervisor decides",
        ),
        last_binding_change=changed.isoformat(),
        days=days,
    )


# --- card change ----------------------------------------------------------------


@check("new_account_acceptable")
def new_account_acceptable(ctx: StepContext) -> Iterator[Finding]:
    """The new account is well-formed, not the old one, and held by the merchant or its rep."""
    rules = policy(ctx)
    kind = text_value(ctx, NEW_ACCOUNT, "new_account_type")
    number = text_value(ctx, NEW_ACCOUNT, "new_account_number")
    holder = text_value(ctx, NEW_ACCOUNT, "new_account_holder")
    masked = mask_account(number, rules)
    problem = check_card_number(number) if kind == "personal_card" else check_corporate_account(
        number
    )
    if problem is not None and problem.code == "card_luhn":
        yield block(
            "new_card_luhn_failed",
            Text(
                zh="新结算卡号校验位错误,请核对卡号",
                en="The new card number fails its check digit; check the card",
            ),
            field="new_account_number",
            new_account_number=masked,
        )
    elif problem is not None:
        yield block(
            "new_account_malformed", problem.message, field="new_account_number",
            new_account_number=masked,
        )
    if same_number(number, text_value(ctx, BINDING, "account_number")):
        yield block(
            "new_account_same_as_old",
            Text(
                zh="新结算账户与原账户相同",
                en="The new account is the account being unbound",
            ),
            field="new_account_number",
            new_account_number=masked,
        )
    merchant = merchant_of(ctx)
    if merchant is None:
        return
    allowed = (merchant.merchant_name, merchant.legal_rep_name)
    if not any(same_name(holder, name) for name in allowed):
        yield block(
            "new_account_holder_mismatch",
            Text(
                zh="新结算账户户名须为商户名称或法定代表人姓名",
                en="The new account must be held by the merchant or its legal representative",
            ),
            field="new_account_holder",
            holder=mask_name(holder, rules),
            merchant_name=merchant.merchant_name,
            legal_rep_name=mask_name(merchant.legal_rep_name, rules),
        )
