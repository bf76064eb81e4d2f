"""Operator commands: ``counter db``, ``counter branches``, ``counter users``, ``counter audit``."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import text

from counter.cases.records import REFERENCE_ZONE
from counter.cli._common import database, fail, friendly_errors, settings
from counter.store import journal, lockout, migrate
from counter.store.db import Database, utcnow
from counter.store.users import (
    check_new_password,
    create_branch,
    create_user,
    get_user,
    list_users,
    set_password,
)

__all__ = ["register"]

db_app = typer.Typer(help="数据库 / the database", no_args_is_help=True)
branches_app = typer.Typer(help="网点 / branches", no_args_is_help=True)
users_app = typer.Typer(help="用户 / users", no_args_is_help=True)
audit_app = typer.Typer(help="审计 / the journal", no_args_is_help=True)


@db_app.command("upgrade")
@friendly_errors
def db_upgrade() -> None:
    """Create or migrate the tables to the newest schema (safe to run again)."""
    db = database()
    try:
        migrate.upgrade(db)
        typer.echo(f"数据库已是最新版本 / database at revision {migrate.current_revision(db)}")
    finally:
        db.dispose()


def _database_file(db: Database, file: Path, *, postgres_refusal: str) -> Path:
    """The SQLite database's file; refuses PostgreSQL and a ``file`` that is the database."""
    if not db.is_sqlite or db.path is None:
        raise fail(postgres_refusal)
    if file.resolve() == db.path.resolve():
        raise fail("备份文件不能是数据库本身 / the backup cannot be the database itself")
    return db.path


@db_app.command("backup")
@friendly_errors
def db_backup(
    file: Annotated[Path, typer.Argument(help="where to write the copy")],
) -> None:
    """Copy the SQLite database while it is in use (SQLite's online backup)."""
    db = database()
    try:
        database_file = _database_file(
            db,
            file,
            postgres_refusal="仅支持 SQLite;PostgreSQL 请用 pg_dump / "
            "only for SQLite; back PostgreSQL up with pg_dump",
        )
        file.parent.mkdir(parents=True, exist_ok=True)
        source = sqlite3.connect(database_file)
        target = sqlite3.connect(file)
        try:
            with target:
                source.backup(target)
        finally:
            target.close()
            source.close()
        typer.echo(f"已备份到 {file} / backed up to {file}")
    finally:
        db.dispose()


RESTORE_GAP = 100_000
"""How far today's case numbers move on after a restore (see :func:`db_restore`)."""

_NEEDED_TABLES = ("branches", "case_sequences", "case_events")
_MOVE_NUMBERING = text(
    "INSERT INTO case_sequences (branch, day, last) VALUES (:b, :d, :gap) "
    "ON CONFLICT (branch, day) DO UPDATE SET last = case_sequences.last + :gap"
)


@db_app.command("restore")
@friendly_errors
def db_restore(
    file: Annotated[
        Path,
        typer.Argument(help="a copy made by counter db backup", exists=True, dir_okay=False),
    ],
    yes: Annotated[bool, typer.Option("--yes", help="do not ask for confirmation")] = False,
) -> None:
    """Replace the SQLite database with a backup; stop the app and the sweeper first.

    The backup is written through SQLite's backup API, never copied over the
    file: a ``-wal`` left by a killed app would be replayed onto a copy.
    Today's case numbers then move on by RESTORE_GAP for every branch, since
    numbers given out after the backup must not be given out again (the
    acquirer and the SMS gateway take the case reference as idempotency key).
    """
    db = database()
    try:
        database_file = _database_file(
            db,
            file,
            postgres_refusal="仅支持 SQLite;PostgreSQL 请用 pg_restore(见 docs/operations.md)/ "
            "only for SQLite; restore PostgreSQL with pg_restore (see docs/operations.md)",
        )
        _write_backup_into(file, database_file, yes=yes)
        today = utcnow().astimezone(REFERENCE_ZONE).strftime("%Y%m%d")
        with db.transaction() as conn:
            branches = conn.execute(
                text("SELECT code FROM branches UNION SELECT branch FROM case_sequences")
            ).scalars().all()
            for branch in branches:
                conn.execute(_MOVE_NUMBERING, {"b": branch, "d": today, "gap": RESTORE_GAP})
        report = journal.verify(db)
    finally:
        db.dispose()
    typer.echo(f"已从 {file} 恢复 / restored from {file}")
    first = report.first_broken
    if first is not None:
        raise fail(f"恢复后日志校验失败 / the restored journal does not verify: {first}")
    typer.echo(f"日志完整 / the journal verifies: {report.entries} entries, {report.cases} cases")


def _write_backup_into(file: Path, database_file: Path, *, yes: bool) -> None:
    """Check ``file`` (opened read-only), ask unless ``yes``, then write it over the database."""
    try:
        source = sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise fail(f"无法打开备份文件 / cannot open {file}: {exc}") from None
    try:
        try:
            healthy = source.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            tables = {
                name
                for (name,) in source.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
        except sqlite3.DatabaseError as exc:
            raise fail(
                f"备份文件不是 SQLite 数据库 / {file} is not a SQLite database ({exc})"
            ) from None
        if not healthy:
            raise fail(f"备份文件已损坏 / {file} fails SQLite's integrity check")
        missing = [name for name in _NEEDED_TABLES if name not in tables]
        if missing:
            raise fail(
                f"备份文件不是 counter 数据库 / {file} is not a counter database "
                f"(no {', '.join(missing)})"
            )
        if not yes:
            typer.confirm(
                f"用 {file} 替换 {database_file}? / replace {database_file} with {file}?",
                abort=True,
            )
        target = sqlite3.connect(database_file)
        try:
            source.backup(target)
        finally:
            target.close()
    finally:
        source.close()


@branches_app.command("add")
@friendly_errors
def branches_add(
    code: Annotated[str, typer.Argument(help="branch code, e.g. BJ001")],
    name_zh: Annotated[str, typer.Option("--name-zh", help="中文名称")],
    name_en: Annotated[str, typer.Option("--name-en", help="English name")],
) -> None:
    """Add a branch."""
    db = database()
    try:
        create_branch(db, code=code, name_zh=name_zh, name_en=name_en)
        typer.echo(f"已添加网点 {code} / branch {code} added")
    finally:
        db.dispose()


@users_app.command("add")
@friendly_errors
def users_add(
    username: Annotated[str, typer.Argument()],
    role: Annotated[list[str], typer.Option("--role", help="teller, supervisor, auditor, admin")],
    branch: Annotated[str, typer.Option("--branch", help="branch code")],
    merchant: Annotated[str | None, typer.Option("--merchant", help="merchant number")] = None,
    display_name: Annotated[str, typer.Option("--display-name")] = "",
    lang: Annotated[str, typer.Option("--lang", help="zh or en")] = "zh",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from standard input")
    ] = False,
) -> None:
    """Add a user; the password is prompted for (or read from stdin), never an argument.

    The password must have 8 characters or more, not be a common one, and not
    contain the username or display name.
    """
    password = _read_password(password_stdin)
    db = database()
    try:
        create_user(
            db,
            username=username,
            password=password,
            roles=role,
            branch=branch,
            merchant_no=merchant,
            display_name=display_name,
            lang=lang,
            common_check=settings().common_password_check,
        )
        typer.echo(f"已添加用户 {username} / user {username} added")
    finally:
        db.dispose()


# --- sign-in security (auth) ---------------------------------------------------------


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    typed: str = typer.prompt("密码 / password", hide_input=True, confirmation_prompt=True)
    return typed


@users_app.command("set-password")
@friendly_errors
def users_set_password(
    username: Annotated[str, typer.Argument()],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from standard input")
    ] = False,
) -> None:
    """Reset a user's password (checked as for ``users add``): every session of theirs
    ends and a lockout is lifted; journaled on ``user:NAME``."""
    password = _read_password(password_stdin)
    db = database()
    try:
        user = get_user(db, username=username)
        check_new_password(
            password,
            username=username,
            display_name=user.display_name,
            common_check=settings().common_password_check,
        )
        with db.transaction() as conn:
            set_password(conn, username=username, password=password, actor="cli", now=utcnow())
            lockout.unlock(conn, username=username)
        typer.echo(f"已重设用户 {username} 的密码 / password of {username} reset")
    finally:
        db.dispose()


@users_app.command("unlock")
@friendly_errors
def users_unlock(username: Annotated[str, typer.Argument()]) -> None:
    """Lift a lockout before it runs out (the wrong passwords are forgotten); journaled."""
    db = database()
    try:
        get_user(db, username=username)
        now = utcnow()
        with db.transaction() as conn:
            lockout.unlock(conn, username=username)
            journal.append(conn, stream=f"user:{username}", actor="cli", kind="unlock", at=now)
        typer.echo(f"已解锁用户 {username} / {username} unlocked")
    finally:
        db.dispose()


@users_app.command("list")
@friendly_errors
def users_list(branch: Annotated[str | None, typer.Option("--branch")] = None) -> None:
    """List users (no password hashes)."""
    db = database()
    try:
        for user in list_users(db, branch=branch):
            typer.echo(f"{user.username}\t{user.branch}\t{','.join(user.roles)}\t{user.display_name}")
    finally:
        db.dispose()


@audit_app.command("verify")
@friendly_errors
def audit_verify(
    case: Annotated[str | None, typer.Option("--case", help="verify one case's journal")] = None,
) -> None:
    """Recompute the journal's hash chains; exit 1 naming the first broken entry."""
    db = database()
    try:
        report = journal.verify(db, stream=case)
    finally:
        db.dispose()
    if case is not None and report.entries == 0 and report.ok:
        raise fail(f"没有案件 {case} 的日志 / no journal for case {case}")
    first = report.first_broken
    if first is not None:
        raise fail(
            f"审计日志校验失败 / the journal does not verify\n"
            f"  stream={first.stream} seq={first.seq} id={first.id}\n"
            f"  {first.reason}"
            + (f"\n  (+{len(report.broken) - 1} more)" if len(report.broken) > 1 else "")
        )
    typer.echo(
        f"日志完整 / the journal verifies: {report.entries} entries in {report.streams} "
        f"streams, {report.cases} cases"
    )


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.add_typer(db_app, name="db")
    app.add_typer(branches_app, name="branches")
    app.add_typer(users_app, name="users")
    app.add_typer(audit_app, name="audit")
