"""Checks on the person at the counter and on the teller who signs off.

Identity (``submit_identity``): the document's number, its expiry, the
online verification and photo score, an agent's mandate. Sign-off: the
teller's own password. The checks against the acquirer's registry are in
``binding``. Codes and severities are listed in ``docs/flagship.md``;
evidence holds masked values only.
"""

from __future__ import annotations

from collections.abc import Iterator

from counter.banking.identity import ParsedDocument, validate_document
from counter.banking.masking import mask_id, mask_name
from counter.banking.problems import NumberInvalid
from counter.banking.rules._support import (
    approve,
    block,
    identity_verifier,
    parse_day,
    password_checker,
    policy,
    settings,
    text_value,
)
from counter.banking.validity import LONG_TERM, Expiry, check_not_expired, check_validity_period
from counter.engine.registry import check
from counter.engine.types import Finding, StepContext
from counter.text import Text

__all__ = [
    "agent_mandate",
    "id_document_current",
    "id_document_valid",
    "id_verified_online",
    "teller_password",
]

IDENTITY = "identity"

# --- identity ---------------------------------------------------------------


def _document(ctx: StepContext) -> ParsedDocument | NumberInvalid:
    try:
        return validate_document(
            text_value(ctx, IDENTITY, "id_type"),
            text_value(ctx, IDENTITY, "id_number"),
            today=ctx.now.date(),
        )
    except NumberInvalid as refused:
        return refused


def _expiry(ctx: StepContext) -> Expiry | None:
    raw = text_value(ctx, IDENTITY, "id_expiry")
    return LONG_TERM if raw == LONG_TERM else parse_day(raw)


@check("id_document_valid")
def id_document_valid(ctx: StepContext) -> Iterator[Finding]:
    """The number has its document's format and, for ID cards, the right check character."""
    document = _document(ctx)
    if not isinstance(document, NumberInvalid):
        return
    problem = document.problem
    masked = mask_id(text_value(ctx, IDENTITY, "id_number"), policy(ctx))
    evidence = {"id_type": text_value(ctx, IDENTITY, "id_type"), "id_number": masked}
    if problem.code == "id_legacy_15":
        yield block("id_number_legacy", problem.message, field="id_number", **evidence)
    elif problem.code == "id_check_char":
        yield block("id_number_check_character", problem.message, field="id_number", **evidence)
    else:
        yield block(
            "id_number_malformed", problem.message, field="id_number",
            problem=problem.code, **evidence,
        )


@check("id_document_current")
def id_document_current(ctx: StepContext) -> Iterator[Finding]:
    """Not expired, and an expiry that fits the holder's age (long-term only from 46)."""
    expiry = _expiry(ctx)
    if expiry is None:  # the form's date type refuses anything else
        return
    today = ctx.now.date()
    expired = check_not_expired(expiry, today=today)
    if expired is not None:
        yield block("id_document_expired", expired.message, field="id_expiry", expiry=str(expiry))
        return
    document = _document(ctx)
    if isinstance(document, NumberInvalid):
        return
    implausible = check_validity_period(document, expiry, today=today)
    if implausible is not None:
        yield block(
            "id_expiry_implausible", implausible.message, field="id_expiry",
            expiry=str(expiry), problem=implausible.code,
        )


@check("id_verified_online")
def id_verified_online(ctx: StepContext) -> Iterator[Finding]:
    """The national identity check (number and name), and the photo comparison score."""
    if isinstance(_document(ctx), NumberInvalid):
        return  # nothing sensible to ask about; id_document_valid says why
    id_number = text_value(ctx, IDENTITY, "id_number")
    name = text_value(ctx, IDENTITY, "name")
    result = identity_verifier(ctx.services).verify(
        text_value(ctx, IDENTITY, "id_type"), id_number, name
    )
    rules = policy(ctx)
    evidence = {
        "verification": result.reference,
        "outcome": str(result.outcome),
        "id_number": mask_id(id_number, rules),
        "name": mask_name(name, rules),
    }
    outcome = str(result.outcome)
    if outcome == "mismatch":
        yield block(
            "identity_mismatch",
            Text(
                zh="联网核查结果:证件号码与姓名不一致",
                en="Online verification: the number and the name do not match",
            ),
            field="name",
            **evidence,
        )
    elif outcome == "not_found":
        yield block(
            "identity_not_found",
            Text(zh="联网核查结果:查无此人", en="Online verification: no such document number"),
            field="id_number",
            **evidence,
        )
    elif outcome == "unavailable":
        yield approve(
            "identity_check_unavailable",
            Text(
                zh="联网核查系统暂不可用,请主管人工核验其他证件",
                en="Online verification is unavailable; a supervisor checks other documents "
                "by hand",
            ),
            **evidence,
        )
    else:
        threshold = settings(ctx.services).photo_score_threshold
        if result.face_score is not None and result.face_score < threshold:
            yield approve(
                "photo_score_low",
                Text(
                    zh=f"人像比对分数 {result.face_score} 低于 {threshold},请主管核对本人",
                    en=f"Photo similarity {result.face_score} is below {threshold}; a "
                    "supervisor confirms the person",
                ),
                score=result.face_score,
                threshold=threshold,
                **evidence,
            )


@check("agent_mandate")
def agent_mandate(ctx: StepContext) -> Iterator[Finding]:
    """An agent needs a mandate, and a supervisor looks at it."""
    if text_value(ctx, IDENTITY, "acting_as") != "agent":
        return
    mandate = text_value(ctx, IDENTITY, "mandate_ref")
    principal = mask_id(text_value(ctx, IDENTITY, "principal_id_number"), policy(ctx))
    if not mandate:
        yield block(
            "agent_mandate_missing",
            Text(
                zh="代理人办理须提供授权委托书编号",
                en="An agent must present a mandate; enter its reference",
            ),
            field="mandate_ref",
            principal_id_number=principal,
        )
        return
    yield approve(
        "agent_with_mandate",
        Text(
            zh="代理人凭授权委托书办理,请主管核对委托书",
            en="An agent acts under a mandate; a supervisor checks the mandate",
        ),
        mandate_ref=mandate,
        principal_id_number=principal,
    )


# --- sign-off -------------------------------------------------------------------


@check("teller_password")
def teller_password(ctx: StepContext) -> Iterator[Finding]:
    """The teller who signs off types their own password (checked against its hash,
    counted toward the sign-in lockout: a locked teller is refused unchecked)."""
    password = str(ctx.form.get("password") or "")
    answer = password_checker(ctx.services)(ctx.actor.username, password) if password else False
    if answer is True or answer == "right":
        return
    if answer == "locked":
        yield block(
            "teller_locked",
            Text(
                zh="密码错误次数过多,该柜员账户已锁定,暂不能签字确认;请稍后再试或联系主管",
                en="Too many wrong passwords: this teller's account is locked and cannot sign "
                "off now; try again later or ask a supervisor",
            ),
            field="password",
        )
        return
    yield block(
        "teller_password_wrong",
        Text(zh="柜员密码错误", en="The teller's password is wrong"),
        field="password",
    )
