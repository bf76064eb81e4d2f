"""``counter journal``: export a branch's journal for auditors, and verify such an export."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from counter.audit import FORMATS, chunk_digest, export_journal, verify_export_file
from counter.audit._format import BOM
from counter.cli._common import database, fail, friendly_errors
from counter.encodings import GB18030, encode_gb18030, normalize_encoding
from counter.progress import ProgressBar

__all__ = ["register"]

journal_app = typer.Typer(help="日志导出 / journal export for auditors", no_args_is_help=True)

_DAY = ["%Y-%m-%d"]


def _format(value: str) -> str:
    if value not in FORMATS:
        raise typer.BadParameter(f"csv 或 jsonl / csv or jsonl, not {value}")
    return value


def _encoding(value: str) -> str:
    found = normalize_encoding(value)
    if found is None:
        raise typer.BadParameter(f"utf-8 或 gb18030 / utf-8 or gb18030, not {value}")
    return found


@journal_app.command("export")
@friendly_errors
def export(
    branch: Annotated[str, typer.Option("--branch", help="网点代码 / branch code")],
    start: Annotated[
        datetime, typer.Option("--from", formats=_DAY, help="起始日 / first day (YYYY-MM-DD)")
    ],
    end: Annotated[
        datetime, typer.Option("--to", formats=_DAY, help="结束日(含)/ last day, included")
    ],
    fmt: Annotated[str, typer.Option("--format", callback=_format, help="csv | jsonl")] = "jsonl",
    out: Annotated[
        Path | None, typer.Option("--out", help="写入文件(默认标准输出)/ file (default stdout)")
    ] = None,
    encoding: Annotated[
        str,
        typer.Option(
            "--encoding",
            callback=_encoding,
            help="utf-8 (默认 default) | gb18030 (GB 18030-2022, 旧系统 / for older tools)",
        ),
    ] = "utf-8",
) -> None:
    """Export a branch's journal, masked, with the hashes to verify it offline.

    Days are the branch's local days (UTC+8), both included. The export
    digest printed at the end (on stderr) is what `verify-export` prints
    for an intact file: give it to the receiver through another channel.
    """
    db = database()
    try:
        with ProgressBar("导出日志 / exporting the journal") as bar:
            chunks = export_journal(
                db,
                branch=branch,
                start=start.date(),
                end=end.date(),
                fmt=fmt,
                on_progress=bar.update,
            )
            last = _write(chunks, out, encoding)
    finally:
        db.dispose()
    where = f" -> {out}" if out is not None else ""
    typer.echo(
        f"已导出 / exported {branch} {start.date()}..{end.date()}{where}\n"
        f"导出摘要 / export digest: {chunk_digest(last)}",
        err=True,
    )


def _encoded(chunks: Iterable[str], encoding: str) -> Iterator[tuple[str, bytes]]:
    """Each chunk and its bytes. GB 18030 has no byte-order mark: a spreadsheet takes a
    file without one as the system's encoding, which is GB 18030 on a Chinese PC."""
    first = True
    for chunk in chunks:
        if encoding == GB18030:
            text = chunk.removeprefix(BOM) if first else chunk
            yield chunk, encode_gb18030(text)
        else:
            yield chunk, chunk.encode("utf-8")
        first = False


def _write(chunks: Iterable[str], out: Path | None, encoding: str = "utf-8") -> str:
    """Write every chunk to ``out`` (or stdout); the last chunk (the trailer) is returned.

    A file is written next to ``out`` and renamed at the end, so that a
    failed export never leaves a file that looks whole.
    """
    last = ""
    if out is None:
        for chunk, data in _encoded(chunks, encoding):
            sys.stdout.buffer.write(data)
            last = chunk
        sys.stdout.buffer.flush()
        return last
    partial = out.with_name(out.name + ".part")
    try:
        with partial.open("wb") as file:
            for chunk, data in _encoded(chunks, encoding):
                file.write(data)
                last = chunk
            file.flush()
            os.fsync(file.fileno())
        partial.replace(out)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
        raise
    return last


@journal_app.command("verify-export")
def verify_export(
    file: Annotated[Path, typer.Argument(help="导出文件 / the export file", exists=True)],
    encoding: Annotated[
        str | None,
        typer.Option(
            "--encoding", help="utf-8 | gb18030; 默认 UTF-8,否则 GB 18030 / default: detected"
        ),
    ] = None,
) -> None:
    """Check an export offline (no database): exit 0 if it verifies, 1 naming the first bad line."""
    if encoding is not None:
        encoding = _encoding(encoding)
    with ProgressBar("校验导出文件 / verifying the export", percent=True) as bar:
        report = verify_export_file(file, encoding=encoding, on_progress=bar.update)
    if not report.ok:
        raise fail(str(report.summary()))
    typer.echo(str(report.summary()))


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.add_typer(journal_app, name="journal")
