"""Issuing, reprinting and reading the slips of cases: the slip integration.

::

    issue_case_slip(desk, reference=...)            # the dispatcher, on `slip.issue`
    get_slip(desk, reference=..., actor=...)        # the stored PDF (the original by default)
    reprint_slip(desk, reference=..., actor=...)    # marked 重打 / REPRINT, numbered, journaled
    list_slips(desk, reference=..., actor=...)      # every print of the case, without bytes
    write_case_slip(desk, reference, directory)     # `counter demo` and `counter slip`

A slip is rendered once, by the outbox dispatcher after the step that
completes the case has committed (never inside it), and the PDF is stored
(``case_slip``): the console serves the stored file. The original is copy 0; issuing is
idempotent (a second delivery of the message finds copy 0 and stops). The
template texts are those of the case's definition bundle, completed from
``forms/slips`` with whatever the bundle lacks (the layout and stylesheets
it extends), and stored once per version (``slip_template_version``), so
that a reprint a year later uses the template of the original. A reprint
also reuses the original's context (masked values only), so it shows
exactly what the original did, plus its mark. Each print is journaled in
the case's stream: kind ``slip`` (actor ``system``) or ``reprint`` (who
asked), with the PDF's SHA-256 as ``data_digest`` and the details in
``note``.

This module uses ``counter.store`` and ``counter.cases``; the package
``counter.slips`` itself does not import it, so rendering stays free of them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from counter.cases import records
from counter.cases.reading import CaseReader
from counter.cases.views import CaseView
from counter.engine.loader import Workflow
from counter.engine.types import Actor
from counter.errors import NotFound, PermissionDenied, StaleVersion
from counter.slips.context import (
    AccountKind,
    ApprovedFinding,
    PartyInput,
    ReprintMark,
    SlipContext,
    SlipLine,
    build_context,
)
from counter.slips.render import default_renderer, renderer_for
from counter.slips.store import (
    ORIGINAL,
    SlipRecord,
    StoredSlip,
    insert_slip,
    keep_sources,
    last_copy_number,
    load_slip,
    load_slips,
    load_sources,
)
from counter.slips.templates import SlipFormat, slip_format, sources_digest
from counter.store import journal
from counter.store.users import get_branch
from counter.text import Text

__all__ = [
    "REPRINT_ROLES",
    "SLIP_EFFECT",
    "SlipRecord",
    "StoredSlip",
    "build_case_context",
    "case_context",
    "case_slip_sources",
    "get_slip",
    "issue_case_slip",
    "list_slips",
    "reprint_slip",
    "write_case_slip",
    "write_slip",
]

log = logging.getLogger(__name__)

SLIP_EFFECT = "slip.issue"
"""The outbox kind a workflow's ``issue_slip`` action writes on completion."""

REPRINT_ROLES = frozenset({"teller", "supervisor"})
"""Who may reprint: tellers and supervisors, of the case's branch by the Desk's own rule.

Narrower than who may act on cases: back-office reviewers, service agents,
auditors and merchants may view a slip they can read, but not print another.
"""

_SYSTEM = Actor.system()
_REPRINT_ATTEMPTS = 5


def _no_slip(reference: str) -> NotFound:
    return NotFound(
        Text(zh=f"案件 {reference} 尚无凭条", en=f"No slip has been issued for case {reference}"),
        case=reference,
    )


def _sha256(pdf: bytes) -> str:
    return hashlib.sha256(pdf).hexdigest()


def _journal(conn: Connection, slip: StoredSlip, kind: str, **extra: str) -> None:
    """Journal a print in the case's stream: the PDF's SHA-256, and what was printed how."""
    details = {
        "copy_number": slip.copy_number,
        "fmt": slip.fmt,
        "sha256": slip.sha256,
        "template_version": slip.template_version,
        **extra,
    }
    journal.append(
        conn,
        stream=slip.reference,
        actor=slip.issued_by,
        kind=kind,
        at=slip.issued_at,
        data_digest=slip.sha256,
        note=journal.canonical_json(details),
    )


def _stored(desk: CaseReader, reference: str, copy_number: int) -> StoredSlip | None:
    with desk.db.read() as conn:
        return load_slip(conn, reference, copy_number)


def _stored_in(conn: Connection, reference: str) -> StoredSlip:
    """The original, stored by another deliverer since this one looked."""
    found = load_slip(conn, reference, ORIGINAL)
    assert found is not None
    return found


# --- what the slip shows -----------------------------------------------------------

_SIGN_OFF = "sign_off"  # the trigger by which a teller confirms a counter case
_ANY_DOCUMENT = Text(zh="证件", en="ID document")
_USCC = Text(zh="统一社会信用代码", en="Unified social credit code")
_MANDATE = Text(zh="委托书编号", en="Mandate No.")
_ACCOUNT_KINDS: Mapping[str | None, AccountKind] = {"corporate": "account"}
_ANSWERS = (  # acquirer answers kept in the case, printed with their references
    ("unbind_answer", Text(zh="解绑编号", en="Unbind ref.")),
    ("bind_answer", Text(zh="绑定编号", en="Bind ref.")),
)


def _text(data: Mapping[str, Any], form: str, name: str) -> str:
    value = (data.get(form) or {}).get(name)
    return "" if value is None else str(value)


def _choice_label(workflow: Workflow, form: str, name: str, value: str) -> Text:
    definition = workflow.forms.get(form)
    for field in definition.fields if definition is not None else ():
        if field.name == name:
            for choice in field.choices:
                if choice.value == value:
                    return choice.label
    return _ANY_DOCUMENT


def _parties(
    workflow: Workflow, data: Mapping[str, Any], merchant: Mapping[str, Any]
) -> tuple[PartyInput, PartyInput | None]:
    """The customer, and the agent when one acted (then the customer is the principal)."""
    if "identity" not in data:  # no document at this door (online): the merchant applied
        return PartyInput(
            name=str(merchant.get("merchant_name") or _text(data, "pos_binding", "merchant_no")),
            id_number=_text(data, "pos_binding", "uscc"),
            id_type=_USCC,
        ), None
    person = PartyInput(
        name=_text(data, "identity", "name"),
        id_number=_text(data, "identity", "id_number"),
        id_type=_choice_label(workflow, "identity", "id_type", _text(data, "identity", "id_type")),
    )
    if _text(data, "identity", "acting_as") != "agent":
        return person, None
    principal = PartyInput(
        name=str(merchant.get("legal_rep_name") or ""),
        id_number=_text(data, "identity", "principal_id_number"),
        id_type=_ANY_DOCUMENT,
    )
    return principal, person


def _identity_verification(data: Mapping[str, Any], approved: Sequence[Mapping[str, Any]]) -> Text:
    """How the customer was identified, from what the case and its approvals hold."""
    variables = data.get("vars") or {}
    parts: list[Text] = []
    if "identity" not in data:  # no document at this door: the merchant's own sign-in
        parts.append(Text(zh="商户登录", en="Merchant sign-in"))
    elif any(f.get("code") == "identity_check_unavailable" for f in approved):
        parts.append(Text(zh="主管人工核验", en="Checked by a supervisor"))
    else:
        parts.append(Text(zh="联网核查", en="Online ID check"))
    # The case keeps a photo score only where a finding carried it (a low score approved).
    for score in [f["evidence"]["score"] for f in approved if "score" in f.get("evidence", {})][:1]:
        parts.append(Text(zh=f"人像比对 {score} 分", en=f"face match {score}"))
    if variables.get("unbind_code"):
        parts.append(Text(zh="短信验证码", en="SMS code"))
    return Text(zh=" + ".join(p.zh for p in parts), en=" + ".join(p.en for p in parts))


def case_context(desk: CaseReader, case: CaseView) -> SlipContext:
    """What the slip of ``case`` shows, masked by the bank's policy; the same for the same case.

    The time printed is when the case completed, in the branch's time zone;
    the teller is who signed off (else the last person who moved the case,
    else who opened it); approvals are the findings supervisors approved.
    """
    settings = desk.services.settings
    workflow = desk.workflow_of(case.definition_hash)
    data = case.data
    merchant: Mapping[str, Any] = (data.get("vars") or {}).get("merchant") or {}
    approvals = records.approvals
    with desk.db.read() as conn:
        decided = conn.execute(
            select(approvals.c.findings, approvals.c.decided_by)
            .where(approvals.c.case_reference == case.reference, approvals.c.decision == "approve")
            .order_by(approvals.c.decided_at, approvals.c.id)
        ).all()
        entries = journal.entries(conn, case.reference)
    steps = [e for e in entries if e.kind in journal.STEP_KINDS and e.actor != _SYSTEM.username]
    signed = [e.actor for e in steps if e.trigger == _SIGN_OFF]
    teller = (signed or [e.actor for e in steps] or [case.opened_by])[-1]
    approved = [dict(f) for row in decided for f in row.findings]
    try:
        branch = get_branch(desk.db, code=case.branch)
        branch_name = Text(zh=branch.name_zh, en=branch.name_en)
    except NotFound:
        branch_name = Text(zh=case.branch, en=case.branch)
    customer, agent = _parties(workflow, data, merchant)
    mandate = _text(data, "identity", "mandate_ref") if agent else ""
    details = [SlipLine(label=_MANDATE, value=mandate)] if mandate else []
    details += [
        SlipLine(label=label, value=_text(data, form, "acquirer_reference"))
        for form, label in _ANSWERS
        if _text(data, form, "acquirer_reference")
    ]
    new_account = _text(data, "new_account", "new_account_number")
    completed = case.closed_at or case.updated_at
    return build_context(
        bank_name=settings.bank_name,
        branch_name=branch_name,
        title=Text(zh=f"{case.title.zh}确认单", en=f"Confirmation: {case.title.en}"),
        reference=case.reference,
        issued_at=completed.astimezone(records.REFERENCE_ZONE),
        service=case.title,
        customer=customer,
        agent=agent,
        merchant_name=str(merchant.get("merchant_name") or "-"),
        merchant_number=_text(data, "pos_binding", "merchant_no"),
        terminal_serial=_text(data, "pos_binding", "terminal_sn"),
        account_unbound=_text(data, "pos_binding", "account_number"),
        account_kind=_ACCOUNT_KINDS.get(merchant.get("account_type"), "card"),
        account_bound=new_account or None,
        account_bound_kind=_ACCOUNT_KINDS.get(
            _text(data, "new_account", "new_account_type"), "card"
        ),
        outcome=case.state_title,
        approvals=[
            ApprovedFinding(
                code=str(f["code"]), message=Text(**f["message"]), supervisor_id=row.decided_by
            )
            for row in decided
            for f in row.findings
        ],
        teller_id=teller,
        identity_verification=_identity_verification(data, approved),
        status_base_url=settings.status_url,
        details=details,
        policy=settings.masking,
    )


def build_case_context(desk: CaseReader, *, reference: str) -> SlipContext:
    """The slip context of a case as the database holds it now (checks and tests)."""
    return case_context(desk, desk.get(reference=reference, actor=_SYSTEM))


# --- issuing ----------------------------------------------------------------------


def case_slip_sources(workflow: Workflow, directory: Path) -> tuple[str, dict[str, str]]:
    """The slip name and template texts of ``workflow``: its bundle's, completed from disk.

    A definition bundle keeps the workflow's own template files; the layout
    and stylesheets they extend are read from ``directory`` (at first issue;
    after that the stored version is used).
    """
    slip = workflow.definition.slip
    if slip is None:
        raise NotFound(
            Text(
                zh=f"流程 {workflow.name} 没有凭条模板", en=f"Workflow {workflow.name} has no slip"
            ),
            workflow=workflow.name,
        )
    on_disk = renderer_for(directory).sources(slip)  # read again only when a file changed
    kept = {name: text for name, text in workflow.slip_files.items() if name in on_disk}
    missing = sorted(set(on_disk) - set(kept))
    if missing:
        log.debug(
            "slip %s of %s version %s: %s taken from %s (not in the definition bundle)",
            slip,
            workflow.name,
            workflow.hash[:12],
            ", ".join(missing),
            directory,
        )
    return slip, {**on_disk, **kept}


def _require_requested(desk: CaseReader, case: CaseView) -> None:
    """Only a case whose workflow asked for a slip (its ``slip.issue`` effect) gets one."""
    outbox = records.outbox
    with desk.db.read() as conn:
        asked = conn.execute(
            select(outbox.c.id)
            .where(outbox.c.case_reference == case.reference, outbox.c.kind == SLIP_EFFECT)
            .limit(1)
        ).first()
    if asked is None:
        raise NotFound(
            Text(
                zh=f"案件 {case.reference}({case.state_title.zh})不出具凭条",
                en=f"Case {case.reference} ({case.state_title.en}) has no slip to issue",
            ),
            case=case.reference,
        )


def issue_case_slip(
    desk: CaseReader,
    *,
    reference: str,
    fmt: SlipFormat | None = None,
    within: Callable[[Connection, StoredSlip], None] | None = None,
) -> StoredSlip:
    """Render, store and journal the original slip of a completed case; idempotent.

    If the original is stored already it is returned as it is (whatever
    ``fmt`` says; the default format is ``COUNTER_SLIP_FORMAT``).
    ``within(conn, slip)`` joins the transaction that stores it (the
    dispatcher settles its message there); it is not called when the
    original was stored already.
    """
    existing = _stored(desk, reference, ORIGINAL)
    if existing is not None:
        return existing
    case = desk.get(reference=reference, actor=_SYSTEM)
    _require_requested(desk, case)
    settings = desk.services.settings
    slip_name, sources = case_slip_sources(
        desk.workflow_of(case.definition_hash), settings.forms_dir / "slips"
    )
    context = case_context(desk, case)
    chosen = slip_format(fmt or settings.slip_format)
    pdf = default_renderer().render_from_sources(sources, slip_name, context, fmt=chosen)
    now = desk.services.now()
    slip = StoredSlip(
        reference=reference,
        copy_number=ORIGINAL,
        fmt=chosen,
        sha256=_sha256(pdf),
        template_version=sources_digest(sources),
        issued_at=now,
        issued_by=_SYSTEM.username,
        pdf=pdf,
        context=context.model_dump(mode="json"),
    )
    with desk.db.transaction() as conn:
        keep_sources(conn, digest=slip.template_version, slip=slip_name, sources=sources, now=now)
        inserted = insert_slip(conn, slip, ignore_existing=True)
        if inserted:
            _journal(conn, slip, "slip")
        if within is not None:
            within(conn, slip if inserted else _stored_in(conn, reference))
    if inserted:
        log.info("slip of %s issued (%s, %s)", reference, chosen, slip.sha256[:12])
        return slip
    stored = _stored(desk, reference, ORIGINAL)  # another dispatcher issued it meanwhile
    assert stored is not None
    return stored


# --- reading and reprinting ---------------------------------------------------------


def get_slip(
    desk: CaseReader, *, reference: str, actor: Actor, copy_number: int | None = ORIGINAL
) -> StoredSlip:
    """A stored slip of a case the actor may read: the original, copy n, or the latest (None).

    Raises ``NotFound`` for a case out of the actor's reach (as the Desk
    does) and for a slip not issued yet.
    """
    desk.snapshot(reference=reference, actor=actor)  # the Desk's read rule
    with desk.db.read() as conn:
        number = last_copy_number(conn, reference) if copy_number is None else copy_number
        found = load_slip(conn, reference, number) if number is not None else None
    if found is None:
        raise _no_slip(reference)
    return found


def list_slips(desk: CaseReader, *, reference: str, actor: Actor) -> list[SlipRecord]:
    """Every print of the case the actor may read, the original first (no PDF bytes)."""
    desk.snapshot(reference=reference, actor=actor)
    with desk.db.read() as conn:
        return load_slips(conn, reference)


def _check_may_reprint(desk: CaseReader, reference: str, actor: Actor) -> None:
    if not actor.roles & REPRINT_ROLES:
        raise PermissionDenied(
            Text(
                zh=f"{actor.username} 无权重打凭条(仅限本网点柜员或主管)",
                en=f"{actor.username} may not reprint slips "
                "(tellers and supervisors of the case's branch only)",
            ),
            case=reference,
            actor=actor.username,
        )
    case = desk.snapshot(reference=reference, actor=actor)
    desk.check_change(case.branch or "", reference, actor, case.opened_by)  # the Desk's rule


def reprint_slip(
    desk: CaseReader,
    *,
    reference: str,
    actor: Actor,
    fmt: SlipFormat | None = None,
    reason: str | None = None,
) -> StoredSlip:
    """Print the case's slip again, marked 重打 / REPRINT with its number and time.

    Rendered from the original's template version and context, in the
    original's format unless ``fmt`` says otherwise; stored as the next copy
    number and journaled (kind ``reprint``) with ``actor`` as who asked and
    ``reason`` (why the customer needs another copy; the caller masks it).
    The original and its hash stay as they are.
    """
    _check_may_reprint(desk, reference, actor)
    original = _stored(desk, reference, ORIGINAL)
    if original is None:
        raise _no_slip(reference)
    with desk.db.read() as conn:
        sources = load_sources(conn, original.template_version)
    if sources is None:  # pragma: no cover - a foreign key keeps the version while slips use it
        raise _no_slip(reference)
    slip_name = _slip_name(desk, reference)
    context = SlipContext.model_validate(original.context)
    chosen = slip_format(fmt) if fmt else original.fmt
    zone = context.issued_at.tzinfo
    for _ in range(_REPRINT_ATTEMPTS):
        with desk.db.read() as conn:
            number = (last_copy_number(conn, reference) or ORIGINAL) + 1
        now = desk.services.now()
        mark = ReprintMark(number=number, printed_at=now.astimezone(zone))
        pdf = default_renderer().render_from_sources(
            sources, slip_name, context, fmt=chosen, reprint=mark
        )
        slip = dataclasses.replace(  # the original's template and context, numbered
            original,
            copy_number=number,
            fmt=chosen,
            sha256=_sha256(pdf),
            issued_at=now,
            issued_by=actor.username,
            pdf=pdf,
        )
        try:
            with desk.db.transaction() as conn:
                insert_slip(conn, slip, ignore_existing=False)
                extra = {"reason": reason} if reason else {}
                _journal(conn, slip, "reprint", original_sha256=original.sha256, **extra)
        except (IntegrityError, StaleVersion):
            continue  # another reprint took this number meanwhile: render the next one
        log.info("slip of %s reprinted (no. %s) for %s", reference, number, actor.username)
        return slip
    raise StaleVersion(
        Text(zh="凭条重打冲突,请重试", en="Could not number the reprint; try again"),
        case=reference,
    )


def _slip_name(desk: CaseReader, reference: str) -> str:
    case = desk.snapshot(reference=reference, actor=_SYSTEM)
    slip = desk.workflow_of(case.definition_hash).definition.slip
    if slip is None:  # pragma: no cover - a slip was issued, so the workflow names one
        raise _no_slip(reference)
    return slip


# --- files ------------------------------------------------------------------------------


def write_slip(slip: StoredSlip, path: Path) -> Path:
    """Write the stored PDF to ``path`` (directories made as needed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(slip.pdf)
    return path


def write_case_slip(desk: CaseReader, reference: str, directory: Path) -> Path:
    """Write the case's original slip to ``directory/<reference>.pdf`` (``counter demo``).

    The stored slip is written; a completed case whose slip was never issued
    (e.g. it completed before the slip integration) is issued first.
    """
    slip = issue_case_slip(desk, reference=reference)
    return write_slip(slip, directory / slip.filename)
