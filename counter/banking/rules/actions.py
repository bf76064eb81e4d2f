"""Actions that reach the acquirer and the slip printer, always through the outbox.

An action never calls an outside system: it writes an ``Effect`` that
commits with the step, and the dispatcher delivers it afterwards with the
case reference as the acquirer's idempotency key (``counter.cases.wiring``
holds the handlers). Each request gets a new outbox key per attempt
(``unbind-1``, ``unbind-2`` after a supervisor's retry) so that a retry is a
new delivery, while the acquirer still sees the same case reference and
never executes twice. The follow-up triggers are ``<operation>_confirmed``
and ``<operation>_failed``.
"""

from __future__ import annotations

from counter.banking.rules._support import acquirer, merchant_of, text_value
from counter.engine.registry import action
from counter.engine.types import ActionContext, Effect

__all__ = ["MERCHANT_VAR", "issue_slip", "note_merchant", "request_bind", "request_unbind"]

SLIP = "slip.issue"
MERCHANT_VAR = "merchant"


def _request(ctx: ActionContext, operation: str, payload: dict[str, str]) -> None:
    """Emit the acquirer request ``operation`` (``unbind``/``bind``) as attempt n + 1."""
    attempt = int(ctx.vars.get(f"{operation}_requests", 0)) + 1
    ctx.set(f"{operation}_requests", attempt)
    ctx.emit(
        Effect(
            kind=f"acquirer.{operation}",
            payload=payload,
            key=f"{operation}-{attempt}",
            on_success=f"{operation}_confirmed",
            on_failure=f"{operation}_failed",
        )
    )


@action("request_unbind")
def request_unbind(ctx: ActionContext) -> None:
    """Ask the acquirer to unbind the account presented from the terminal."""
    _request(
        ctx,
        "unbind",
        {
            "merchant_no": text_value(ctx, "pos_binding", "merchant_no"),
            "terminal_sn": text_value(ctx, "pos_binding", "terminal_sn"),
            "account_number": text_value(ctx, "pos_binding", "account_number"),
        },
    )


@action("request_bind")
def request_bind(ctx: ActionContext) -> None:
    """Ask the acquirer to bind the new account (settlement_card_change)."""
    _request(
        ctx,
        "bind",
        {
            "merchant_no": text_value(ctx, "pos_binding", "merchant_no"),
            "terminal_sn": text_value(ctx, "pos_binding", "terminal_sn"),
            "account_number": text_value(ctx, "new_account", "new_account_number"),
            "account_type": text_value(ctx, "new_account", "new_account_type"),
            "holder": text_value(ctx, "new_account", "new_account_holder"),
        },
    )


@action("note_merchant")
def note_merchant(ctx: ActionContext) -> None:
    """Keep what the registry says of the merchant and account, as the case was decided on.

    The slip and the console show it (masked by the presenter): the merchant's
    name, its legal representative (the principal when an agent acts) and the
    kind of account unbound, even after the registry changes.
    """
    merchant = merchant_of(ctx)
    if merchant is None:
        return
    bound = acquirer(ctx.services).settlement_account(
        merchant.merchant_no, text_value(ctx, "pos_binding", "terminal_sn")
    )
    ctx.set(
        MERCHANT_VAR,
        {
            "merchant_no": merchant.merchant_no,
            "merchant_name": merchant.merchant_name,
            "legal_rep_name": merchant.legal_rep_name,
            "account_type": str(bound.account_type) if bound is not None else None,
            "account_holder": bound.holder if bound is not None else None,
        },
    )


@action("issue_slip")
def issue_slip(ctx: ActionContext) -> None:
    """Have the slip rendered and stored once the case is complete (the slip integration)."""
    ctx.emit(
        Effect(
            kind=SLIP,
            payload={"reference": ctx.case.reference, "workflow": ctx.case.workflow},
            key="slip",
        )
    )
