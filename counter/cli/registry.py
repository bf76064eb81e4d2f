"""CLI commands for the local adapters' data: the acquirer's merchant registry, the identity
list and the SMS sent box.

    counter registry import merchants.csv
    counter registry simulate-failure 102110058120001 --mode refused --times 1
    counter identity import people.csv
    counter sms outbox [--phone 13800138000]

Errors are printed for a person (bilingual, by line for imports) with exit
status 1; never a traceback. Phone numbers are masked in listings.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from counter.adapters import (
    IDENTITY_COLUMNS,
    MERCHANT_COLUMNS,
    ImportSummary,
    LocalAcquirerRegistry,
    LocalIdentityVerifier,
    LocalSmsGateway,
    SimulatedFailure,
)
from counter.banking.masking import mask_phone
from counter.banking.phone import normalize_mobile
from counter.cli._common import database, friendly_errors
from counter.errors import ImportRejected
from counter.store.db import Database
from counter.text import Text

__all__ = ["register"]

_T = TypeVar("_T")

_MAX_ROWS_SHOWN = 100

FileArgument = Annotated[
    Path, typer.Argument(help="CSV file, UTF-8 (with or without BOM) / UTF-8 编码的 CSV 文件")
]


def register(app: typer.Typer) -> None:
    """Add the ``registry``, ``identity`` and ``sms`` command groups to ``app``."""
    registry = typer.Typer(
        help="Acquirer merchant registry (local) / 收单机构商户登记簿(本地)", no_args_is_help=True
    )
    identity = typer.Typer(
        help="Identity verification list (local) / 身份核验名单(本地)", no_args_is_help=True
    )
    sms = typer.Typer(help="Local SMS gateway / 本地短信网关", no_args_is_help=True)
    registry.command(
        "import", help=f"Import merchants / 导入商户. Columns: {', '.join(MERCHANT_COLUMNS)}"
    )(registry_import)
    registry.command("simulate-failure")(simulate_failure)
    identity.command(
        "import", help=f"Import people / 导入人员. Columns: {', '.join(IDENTITY_COLUMNS)}"
    )(identity_import)
    sms.command("outbox")(sms_outbox)
    app.add_typer(registry, name="registry")
    app.add_typer(identity, name="identity")
    app.add_typer(sms, name="sms")


EncodingOption = Annotated[
    str | None,
    typer.Option(
        "--encoding",
        help="utf-8 or gb18030 (GB 18030-2022); default: UTF-8, or GB 18030 when the file"
        " is not UTF-8 / 文件编码",
    ),
]


@friendly_errors
def registry_import(file: FileArgument, encoding: EncodingOption = None) -> None:
    """Import the acquirer's merchant file: all rows or none; re-import updates in place."""
    summary = _run(lambda db: LocalAcquirerRegistry(db).import_merchants(file, encoding=encoding))
    _print_summary(summary)


@friendly_errors
def identity_import(file: FileArgument, encoding: EncodingOption = None) -> None:
    """Import the people the local identity check answers for: all rows or none."""
    summary = _run(lambda db: LocalIdentityVerifier(db).import_people(file, encoding=encoding))
    _print_summary(summary)


@friendly_errors
def simulate_failure(
    merchant_no: Annotated[str, typer.Argument(help="Merchant number / 商户编号")],
    mode: Annotated[
        SimulatedFailure,
        typer.Option(help="refused: final no; unavailable: retried / 拒绝或暂不可用"),
    ] = SimulatedFailure.REFUSED,
    times: Annotated[int, typer.Option(min=1, help="How many executions fail / 失败次数")] = 1,
    clear: Annotated[bool, typer.Option("--clear", help="Stop failing / 取消模拟")] = False,
) -> None:
    """Make the local acquirer's next executions for a merchant fail (demos and tests)."""
    failure = None if clear else mode
    _run(lambda db: LocalAcquirerRegistry(db).simulate_failure(merchant_no, failure, times=times))
    if failure is None:
        _echo(Text(zh="已取消模拟失败。", en="Simulated failure cleared."))
    else:
        _echo(
            Text(
                zh=f"该商户接下来 {times} 次执行将模拟为 {failure}。",
                en=f"The merchant's next {times} execution(s) will be {failure} (simulated).",
            )
        )


@friendly_errors
def sms_outbox(
    phone: Annotated[
        str | None, typer.Option(help="Only messages to this phone / 只看发往此号码的短信")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many / 条数")] = 20,
) -> None:
    """Messages the local SMS gateway recorded, newest first (demo: read the code here)."""
    wanted = normalize_mobile(phone) if phone else None
    messages = _run(lambda db: LocalSmsGateway(db).outbox(phone=wanted, limit=limit))
    if not messages:
        _echo(Text(zh="没有短信。", en="No messages."))
        return
    for message in messages:
        sent = message.sent_at.astimezone().strftime("%Y-%m-%d %H:%M:%S")
        typer.echo(f"{sent}  {mask_phone(message.phone)}  {message.text}")


def _run(work: Callable[[Database], _T]) -> _T:
    """``work`` on the configured database; an import refusal is printed line by line.

    Other errors reach ``friendly_errors``: one bilingual line, exit status 1.
    """
    db = database()
    try:
        return work(db)
    except ImportRejected as exc:
        _print_rejection(exc)
        raise typer.Exit(1) from None
    finally:
        db.dispose()


def _print_summary(summary: ImportSummary) -> None:
    _echo(summary.message())


def _print_rejection(exc: ImportRejected) -> None:
    _echo(exc.message, err=True)
    for row in exc.rows[:_MAX_ROWS_SHOWN]:
        where = f"第 {row.line} 行 / line {row.line}"
        if row.columns:
            where += f" [{', '.join(row.columns)}]"
        typer.echo(f"  {where}: {row.message}", err=True)
    hidden = int(exc.context.get("error_count", len(exc.rows))) - min(
        len(exc.rows), _MAX_ROWS_SHOWN
    )
    if hidden > 0:
        _echo(
            Text(zh=f"  另有 {hidden} 处错误未显示。", en=f"  {hidden} more error(s) not shown."),
            err=True,
        )


def _echo(text: Text, *, err: bool = False) -> None:
    typer.echo(text.zh, err=err)
    typer.echo(text.en, err=err)
