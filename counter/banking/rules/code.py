"""The one-time unbind code: sent on entering the code step, read back by the customer.

``send_unbind_code`` (on entering ``code_check``) draws a 6-digit code,
keeps its HMAC, issue time and attempts in the case variable
``unbind_code`` and writes an ``sms.send`` outbox effect to the merchant's
*registered* phone, never a number the customer gives. The code itself is
never a case variable. ``confirm_code`` is declared three times in the
workflow, and the first whose condition holds wins: the right code
(``unbind_code_matches``), the wrong code that uses up the last attempt
(``unbind_code_last_attempt``: the supervisor confirms identity another
way), any other wrong code (stays, ``record_code_attempt`` counts it). An
expired code blocks all three (``unbind_code_current``): the teller resends.

A wrong code brings the case back into ``code_check``, whose ``on_enter``
runs again; ``send_unbind_code`` sends only when asked to resend or when
no live code exists, so a wrong attempt never sends a new code.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from counter.adapters.codes import (
    CODE_MAX_ATTEMPTS,
    CodeCheck,
    CodeRecord,
    CodeVerification,
    issue_code,
    verify_code,
)
from counter.banking._clean import compact
from counter.banking.masking import mask_phone
from counter.banking.rules._support import approve, block, merchant_of, policy, settings
from counter.engine.registry import action, check, condition
from counter.engine.types import ActionContext, Effect, Finding, StepContext
from counter.errors import InvalidInput
from counter.text import Text

__all__ = [
    "CODE_VAR",
    "RESEND_TRIGGER",
    "record_code_attempt",
    "send_unbind_code",
    "unbind_code_attempts",
    "unbind_code_current",
    "unbind_code_last_attempt",
    "unbind_code_matches",
]

CODE_VAR = "unbind_code"  # {digest, nonce, issued_at, attempts, sent_to (masked), sends}
RESEND_TRIGGER = "resend_code"


def _record(vars_: Mapping[str, object]) -> CodeRecord | None:
    raw = vars_.get(CODE_VAR)
    return CodeRecord.from_vars(raw) if isinstance(raw, Mapping) else None


def _verify(ctx: StepContext) -> CodeVerification | None:
    record = _record(ctx.case.data.get("vars") or {})
    if record is None:
        return None
    entered = compact(str(ctx.form.get("code") or ""))
    return verify_code(record, entered, settings(ctx.services).secret_key, now=ctx.now)


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
    elif verification.outcome is CodeCheck.EXPIRED:
        yield block(
            "unbind_code_expired",
            Text(
                zh="验证码已过期(5分钟内有效),请重新发送",
                en="The code has expired (valid 5 minutes); resend it",
            ),
            field="code",
            issued_at=verification.record.issued_at.isoformat(),
        )


@check("unbind_code_attempts")
def unbind_code_attempts(ctx: StepContext) -> Iterator[Finding]:
    """The last attempt was wrong too: a supervisor confirms the person another way."""
    verification = _verify(ctx)
    if verification is None or verification.outcome is not CodeCheck.EXHAUSTED:
        return
    sent: Mapping[str, object] = (ctx.case.data.get("vars") or {}).get(CODE_VAR) or {}
    yield approve(
        "unbind_code_attempts_exhausted",
        Text(
            zh="验证码连续输错3次,须主管以其他方式核实客户身份",
            en="The code was entered wrong 3 times; a supervisor confirms the customer's "
            "identity another way",
        ),
        attempts=verification.record.attempts,
        sent_to=str(sent.get("sent_to", "")),
    )


@condition("unbind_code_matches")
def unbind_code_matches(ctx: StepContext) -> bool:
    verification = _verify(ctx)
    return verification is not None and verification.ok


@condition("unbind_code_last_attempt")
def unbind_code_last_attempt(ctx: StepContext) -> bool:
    verification = _verify(ctx)
    return verification is not None and verification.outcome is CodeCheck.EXHAUSTED


@action("record_code_attempt")
def record_code_attempt(ctx: ActionContext) -> None:
    """Count a wrong attempt in the case variables (the only trace of the code entered)."""
    verification = _verify(ctx)
    if verification is None:
        return
    kept = dict(ctx.vars.get(CODE_VAR) or {})
    kept.update(verification.record.as_vars())
    kept["attempts_left"] = verification.attempts_left
    ctx.set(CODE_VAR, kept)


def _live(record: CodeRecord | None, ctx: ActionContext) -> bool:
    if record is None:
        return False
    return verify_code(record, "", settings(ctx.services).secret_key, now=ctx.now).outcome not in (
        CodeCheck.EXPIRED,
        CodeCheck.EXHAUSTED,
    )


@action("send_unbind_code")
def send_unbind_code(ctx: ActionContext) -> None:
    """Send a fresh code to the merchant's registered phone, unless a live one is out."""
    current = _record(ctx.vars)
    if ctx.trigger != RESEND_TRIGGER and _live(current, ctx):
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
    code, record = issue_code(config.secret_key, now=ctx.now)
    sends = int((ctx.vars.get(CODE_VAR) or {}).get("sends", 0)) + 1
    ctx.set(
        CODE_VAR,
        {
            **record.as_vars(),
            "attempts_left": CODE_MAX_ATTEMPTS,
            "sent_to": mask_phone(merchant.registered_phone, policy(ctx)),
            "sends": sends,
        },
    )
    ctx.emit(
        Effect(
            kind="sms.send",
            payload={
                "phone": merchant.registered_phone,
                "text": (
                    f"【{config.bank_name.zh}】您的商户{merchant.merchant_no}正在柜面办理"
                    f"结算账户业务(业务编号{ctx.case.reference}),验证码{code},"
                    "5分钟内有效。请仅告知办理柜员。"
                ),
            },
            key=f"code-{sends}",
        )
    )
