"""The one-time unbind code: sent on entering the code step, read back by the customer.

``send_unbind_code`` (on entering ``code_check``) draws a 6-digit code,
keeps its HMAC and issue time in the case variable ``unbind_code`` and
writes an ``sms.send`` outbox effect to the merchant's *registered* phone,
never a number the customer gives. The code itself is never a case
variable. ``confirm_code`` is declared three times in the workflow, and the
first whose condition holds wins: the right code (``unbind_code_matches``),
the wrong code that uses up the last attempt (``unbind_code_last_attempt``:
the supervisor confirms identity another way), any other wrong code, which
``unbind_code_wrong`` refuses with a field error on ``code`` naming the
tries left. An expired code blocks all three (``unbind_code_current``): the
teller resends.

A refused step changes nothing of the case, so a wrong attempt is counted
where refusals are kept: the case's journal. The attempts used on the code
out now are the refusals naming ``unbind_code_wrong`` since the case's last
step (the step that sent it); ``services.extra["refusals"]`` counts them.
The desk decides a step again when a refusal was journaled while it was
being decided, so parallel guesses cannot outrun the count.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from counter.banking._clean import compact
from counter.banking.masking import mask_phone
from counter.banking.rules._support import (
    CodeAnswer,
    approve,
    block,
    code_helpers,
    merchant_of,
    policy,
    refusal_count,
    settings,
)
from counter.engine.registry import action, check, condition
from counter.engine.types import ActionContext, Effect, Finding, StepContext
from counter.errors import InvalidInput
from counter.text import Text

__all__ = [
    "CODE_VAR",
    "MAX_SENDS",
    "RESEND_PAUSE",
    "RESEND_TRIGGER",
    "record_code_attempt",
    "send_unbind_code",
    "unbind_code_attempts",
    "unbind_code_current",
    "unbind_code_last_attempt",
    "unbind_code_matches",
    "unbind_code_resend_allowed",
    "unbind_code_wrong",
]

CODE_VAR = "unbind_code"  # what the code helpers keep, plus sent_to (masked) and sends
WRONG_CODE = "unbind_code_wrong"  # the finding of a wrong attempt; the journal counts them
RESEND_TRIGGER = "resend_code"
OK, WRONG, EXPIRED, EXHAUSTED = "ok", "wrong", "expired", "exhausted"
MAX_SENDS = 5  # codes per case: past that, the SMS route is not working for this customer
RESEND_PAUSE = timedelta(seconds=60)  # as SMS gateways ask, and so a double click sends one


def _kept(vars_: Mapping[str, Any]) -> Mapping[str, Any] | None:
    raw = vars_.get(CODE_VAR)
    return raw if isinstance(raw, Mapping) else None


def _verify(ctx: StepContext) -> CodeAnswer | None:
    """The attempt at the code out now, counting the wrong ones the journal holds."""
    kept = _kept(ctx.case.data.get("vars") or {})
    if kept is None:
        return None
    used = refusal_count(ctx.services)(ctx.case.reference, WRONG_CODE)
    counted = {**kept, "attempts": int(kept.get("attempts", 0)) + used}
    entered = compact(str(ctx.form.get("code") or ""))
    return code_helpers(ctx.services).verify(counted, entered, ctx.now)


def _tries(left: int) -> Text:
    if left == 1:
        return Text(
            zh="验证码错误,还可再输入 1 次;再错将转主管核实身份",
            en="Wrong code: 1 try left; another wrong code sends the case to a supervisor",
        )
    return Text(zh=f"验证码错误,还可再输入 {left} 次", en=f"Wrong code: {left} tries left")


@check("unbind_code_current")
def unbind_code_current(ctx: StepContext) -> Iterator[Finding]:
    """A code was sent and has not expired (an expired one is resent by the teller)."""
    verification = _verify(ctx)
    if verification is None:
        yield block(
            "unbind_code_missing",
            Text(zh="尚未发送验证码,请重新发送", en="No code has been sent; resend it"),
            field="code",
        )
    elif verification.outcome == EXPIRED:
        yield block(
            "unbind_code_expired",
            Text(
                zh="验证码已过期(5分钟内有效),请重新发送",
                en="The code has expired (valid 5 minutes); resend it",
            ),
            field="code",
            issued_at=str(verification.kept.get("issued_at", "")),
        )


@check("unbind_code_wrong")
def unbind_code_wrong(ctx: StepContext) -> Iterator[Finding]:
    """A wrong code with tries left: refused on ``code``, and the refusal is the count."""
    verification = _verify(ctx)
    if verification is None or verification.outcome != WRONG:
        return
    yield block(
        WRONG_CODE,
        _tries(verification.attempts_left),
        field="code",
        attempts=verification.kept.get("attempts"),
        attempts_left=verification.attempts_left,
    )


@check("unbind_code_attempts")
def unbind_code_attempts(ctx: StepContext) -> Iterator[Finding]:
    """The last attempt was wrong too: a supervisor confirms the person another way."""
    verification = _verify(ctx)
    if verification is None or verification.outcome != EXHAUSTED:
        return
    sent = _kept(ctx.case.data.get("vars") or {}) or {}
    yield approve(
        "unbind_code_attempts_exhausted",
        Text(
            zh="验证码连续输错3次,须主管以其他方式核实客户身份",
            en="The code was entered wrong 3 times; a supervisor confirms the customer's "
            "identity another way",
        ),
        attempts=verification.kept.get("attempts"),
        attempts_left=0,
        sent_to=str(sent.get("sent_to", "")),
    )


@check("unbind_code_resend_allowed")
def unbind_code_resend_allowed(ctx: StepContext) -> Iterator[Finding]:
    """Not within a minute of the last code, and not more than ``MAX_SENDS`` codes a case."""
    kept = _kept(ctx.case.data.get("vars") or {}) or {}
    sends = int(kept.get("sends", 0))
    if sends >= MAX_SENDS:
        yield block(
            "unbind_code_resend_limit",
            Text(
                zh=f"本业务已发送 {sends} 次验证码,不能再发送;请撤销业务或核实预留手机号",
                en=f"{sends} codes were sent for this case; no more can be sent. Cancel the "
                "case or have the registered phone checked",
            ),
            sends=sends,
        )
        return
    issued = kept.get("issued_at")
    if issued is None:
        return
    sent_at = datetime.fromisoformat(str(issued))
    if sent_at.tzinfo is None:
        sent_at = sent_at.replace(tzinfo=UTC)
    waited = ctx.now - sent_at
    if waited < RESEND_PAUSE:
        yield block(
            "unbind_code_resend_too_soon",
            Text(
                zh="验证码刚刚发出,请稍候一分钟再重新发送",
                en="A code was just sent; wait a minute before resending",
            ),
            seconds_since_sent=int(waited.total_seconds()),
        )


@condition("unbind_code_matches")
def unbind_code_matches(ctx: StepContext) -> bool:
    verification = _verify(ctx)
    return verification is not None and verification.outcome == OK


@condition("unbind_code_last_attempt")
def unbind_code_last_attempt(ctx: StepContext) -> bool:
    verification = _verify(ctx)
    return verification is not None and verification.outcome == EXHAUSTED


@action("record_code_attempt")
def record_code_attempt(ctx: ActionContext) -> None:
    """Keep the attempts in the case variables, on a step that ends the code (a referral)."""
    verification = _verify(ctx)
    if verification is None:
        return
    kept = dict(ctx.vars.get(CODE_VAR) or {})
    kept.update(verification.kept)
    kept["attempts_left"] = verification.attempts_left
    ctx.set(CODE_VAR, kept)


def _live(kept: Mapping[str, Any] | None, ctx: ActionContext) -> bool:
    """Whether a code is out that can still be entered (an empty guess changes nothing kept)."""
    if kept is None:
        return False
    return code_helpers(ctx.services).verify(kept, "", ctx.now).outcome not in (EXPIRED, EXHAUSTED)


# Where the customer is served, and whom they may give the code to there.
_CODE_SMS_CHANNELS = {
    "counter": ("柜面", "请仅告知办理柜员。"),
    "online": ("网上", "请在办理页面输入,切勿告知任何人(包括银行工作人员)。"),
    "phone": ("电话", "请仅告知本次通话中为您办理的客服人员。"),
}


def code_sms(*, bank: str, merchant_no: str, reference: str, code: str, channel: str) -> str:
    """The text of the one-time code message, in the words of the case's channel."""
    where, whom = _CODE_SMS_CHANNELS[channel]  # the loader admits no other channel
    return (
        f"【{bank}】您的商户{merchant_no}正在{where}办理结算账户业务(业务编号{reference}),"
        f"验证码{code},5分钟内有效。{whom}"
    )


@action("send_unbind_code")
def send_unbind_code(ctx: ActionContext) -> None:
    """Send a fresh code to the merchant's registered phone, unless a live one is out."""
    if ctx.trigger != RESEND_TRIGGER and _live(_kept(ctx.vars), ctx):
        return
    merchant = merchant_of(ctx)
    if merchant is None:
        raise InvalidInput(
            Text(
                zh="找不到商户的预留手机号,无法发送验证码",
                en="The merchant's registered phone is unknown; the code cannot be sent",
            )
        )
    config = settings(ctx.services)
    code, kept = code_helpers(ctx.services).issue(ctx.now)
    sends = int((_kept(ctx.vars) or {}).get("sends", 0)) + 1
    ctx.set(
        CODE_VAR,
        {
            **kept,
            "sent_to": mask_phone(merchant.registered_phone, policy(ctx)),
            "sends": sends,
        },
    )
    ctx.emit(
        Effect(
            kind="sms.send",
            payload={
                "phone": merchant.registered_phone,
                "text": code_sms(
                    bank=config.bank_name.zh,
                    merchant_no=merchant.merchant_no,
                    reference=ctx.case.reference,
                    code=code,
                    channel=ctx.case.channel,
                ),
                # the dispatcher blanks the text (it holds the code) once delivered
                "redact_after_delivery": ["text"],
            },
            key=f"code-{sends}",
        )
    )
