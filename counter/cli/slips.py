"""CLI commands for slips.

* ``counter slip REF --out FILE.pdf``: write a case's stored original slip
  (issuing it first if the case completed without one); with ``--reprint
  --as USERNAME``, print a new, numbered reprint journaled as asked for by
  that user, under the same role and branch rules as the console;
* ``counter slip-sample``: render the demo slip (README image);
* ``counter slip-fonts``: cut every piece of the rare-character web fonts
  the console serves, so that no teller waits for the first cut.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from counter.cli._common import database, fail, friendly_errors, settings
from counter.config import get_settings
from counter.engine.types import Actor
from counter.errors import CounterError
from counter.store.db import Database
from counter.store.users import get_user

__all__ = ["register"]

FormatOption = Annotated[
    Literal["a5", "roll80"] | None,
    typer.Option("--format", help="a5 (default from COUNTER_SLIP_FORMAT) or roll80"),
]


def slip_sample(
    out: Annotated[Path, typer.Option("--out", help="PDF file to write", dir_okay=False)],
    fmt: FormatOption = None,
    merchant: Annotated[
        str | None, typer.Option("--merchant", help="商户名称 / the merchant's name to print")
    ] = None,
    customer: Annotated[
        str | None, typer.Option("--customer", help="委托人姓名 / the customer's name (masked)")
    ] = None,
) -> None:
    """Render the demo POS unbinding slip (built-in sample data) to a PDF file."""
    # Imported here: WeasyPrint takes a while to load and most commands never need it.
    from counter.slips import SlipRenderer, slip_format
    from counter.slips.context import PartyInput
    from counter.slips.sample import SAMPLE_SLIP, sample_context, sample_inputs

    overrides: dict[str, Any] = {}
    if merchant is not None:
        overrides["merchant_name"] = merchant
    if customer is not None:
        person = sample_inputs()["customer"]
        overrides["customer"] = PartyInput(name=customer, id_number=person.id_number)
    try:
        chosen = slip_format(fmt or get_settings().slip_format)
        pdf = SlipRenderer().render(SAMPLE_SLIP, sample_context(**overrides), fmt=chosen)
    except CounterError as exc:
        typer.echo(f"错误 / error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(pdf)
    typer.echo(f"单据样张已生成 / sample slip written: {out} ({len(pdf)} bytes)")


def _actor(db: Database, username: str) -> Actor:
    user = get_user(db, username=username)
    if not user.active:
        raise fail(f"用户 {username} 已停用 / user {username} is inactive")
    attributes = {"merchant_no": user.merchant_no} if user.merchant_no else {}
    return Actor(username, frozenset(user.roles), user.branch, attributes)


@friendly_errors
def slip(
    reference: Annotated[str, typer.Argument(help="case reference, e.g. BJ001-20261125-000001")],
    out: Annotated[Path, typer.Option("--out", help="PDF file to write", dir_okay=False)],
    reprint: Annotated[
        bool, typer.Option("--reprint", help="print a new, numbered reprint (needs --as)")
    ] = False,
    as_user: Annotated[
        str | None,
        typer.Option("--as", help="the user who asks: journaled with a reprint, and checked"),
    ] = None,
    fmt: FormatOption = None,
) -> None:
    """Write a case's slip: the stored original, or (--reprint --as USER) a new reprint."""
    # Imported here: rendering pulls in WeasyPrint, which most commands never need.
    from counter.cases.wiring import wire
    from counter.slips.issue import issue_case_slip, reprint_slip, write_slip

    if reprint and as_user is None:
        raise fail(
            "重打凭条须用 --as 指明由谁申请(记入审计日志)/ "
            "a reprint needs --as USERNAME: the journal records who asked for it"
        )
    db = database()
    try:
        desk = wire(db, settings=settings(), attach=False).desk
        actor = _actor(db, as_user) if as_user is not None else None
        if reprint and actor is not None:
            stored = reprint_slip(desk, reference=reference, actor=actor, fmt=fmt)
        else:
            if actor is not None:
                desk.snapshot(reference=reference, actor=actor)  # the console's read rule
            stored = issue_case_slip(desk, reference=reference, fmt=fmt)
            if fmt is not None and fmt != stored.fmt:
                raise fail(
                    f"原件为 {stored.fmt} 格式;其他格式请用 --reprint 重打 / "
                    f"the original was printed as {stored.fmt}; use --reprint for {fmt}"
                )
        write_slip(stored, out)
    finally:
        db.dispose()
    kind = f"重打 reprint No. {stored.copy_number}" if stored.is_reprint else "原件 original"
    typer.echo(f"凭条已写入 / slip written: {out} ({kind}, {stored.fmt}, sha256 {stored.sha256})")


def slip_fonts() -> None:
    """Cut the console's pieces of the slip's rare-character fonts (a few minutes, once)."""
    from counter.slips.fonts import build_pieces

    cache = get_settings().font_cache_dir

    def progress(done: int, total: int) -> None:
        if done % 20 == 0 or done == total:
            typer.echo(f"{done}/{total}", err=True)

    count = build_pieces(cache, progress)
    typer.echo(f"字体分片已就绪 / font pieces ready: {count} in {cache}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("slip")(slip)
    app.command("slip-sample")(slip_sample)
    app.command("slip-fonts")(slip_fonts)
