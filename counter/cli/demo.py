"""``counter demo-data`` and ``counter demo``: the flagship, end to end, on demo data.

``demo-data`` (idempotent) creates branch BJ001, the users teller1, teller2,
supervisor1 and auditor1 with the demo password, and loads the local
acquirer registry and identity list (``counter.adapters.demo``). It refuses
to run outside demo mode: it creates users with a password written in the
documentation.

``demo`` runs a branch's day on the ``CounterDesk``, the desk the web
console uses: teller1 opens their counter at window 1, walks two
``pos_unbind`` cases (a legal representative in person, and an agent whose
mandate supervisor1 approves) and closes the counter; supervisor1 then closes
BJ001's business day. It prints every step and finding (masked), delivers the
outbox after each step, writes the slips to ``var/`` when the slip integration
is installed, verifies the journal, and writes the end-of-day report to
``var/end-of-day-BJ001-DAY.pdf``.

A day closes once and no counter opens on a closed day, so a second ``demo``
on the same day takes no cases: it says so, writes the stored report of the
day again, and succeeds.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import typer

from counter.adapters import LocalSmsGateway
from counter.adapters.demo import load_demo
from counter.adapters.demo.channels import load_channel_demo
from counter.banking.masking import mask_id, mask_name, mask_phone
from counter.branchday import close_counter, close_day, closed_day, local_day, open_counter
from counter.branchday.closing import ClosedDay
from counter.branchday.wiring import wire_counter
from counter.cases.views import CaseView, FindingView
from counter.cases.wiring import Wired
from counter.cli._common import database, fail, friendly_errors, settings
from counter.config import Settings
from counter.engine.types import Actor
from counter.errors import NotFound
from counter.store import journal
from counter.store.db import Database
from counter.store.users import create_branch, create_user, get_branch, get_user

__all__ = ["BRANCH", "DEMO_USERS", "register"]

BRANCH = "BJ001"
BRANCH_NAME = ("北京分行营业部", "Beijing Branch Business Department")
DEMO_USERS: Mapping[str, tuple[str, ...]] = {
    "teller1": ("teller",),
    "teller2": ("teller",),
    "supervisor1": ("supervisor",),
    "manager1": ("branch_manager",),  # approves what needs the branch manager (risk flags)
    "auditor1": ("auditor",),
    "ops1": ("operations",),  # case migrations: one prepares...
    "ops2": ("operations",),  # ...the other confirms
}
DEMO_WINDOW = 1  # teller1's counter
# A slip integration that wants `counter demo` to write slips provides this:
# ``write_case_slip(desk, reference, directory) -> Path``.
SLIP_WRITER = ("counter.slips.issue", "write_case_slip")


def register(app: typer.Typer) -> None:
    """Add ``demo-data`` and ``demo`` to ``app``."""
    app.command("demo-data")(demo_data)
    app.command("demo")(demo)


def _require_demo_mode(config: Settings) -> None:
    if not config.demo_mode:
        raise fail(
            "演示数据只能在演示模式下创建(COUNTER_DEMO_MODE=true),其用户密码公开于文档 / "
            "demo data is only created in demo mode (COUNTER_DEMO_MODE=true): "
            "its users' password is in the documentation"
        )


def ensure_demo_data(db: Database, config: Settings) -> list[str]:
    """Create what is missing (branch, users) and reload the demo registry; what was done."""
    done: list[str] = []
    try:
        get_branch(db, code=BRANCH)
    except NotFound:
        create_branch(db, code=BRANCH, name_zh=BRANCH_NAME[0], name_en=BRANCH_NAME[1])
        done.append(f"网点 / branch {BRANCH} {BRANCH_NAME[0]}")
    for username, roles in DEMO_USERS.items():
        try:
            get_user(db, username=username)
        except NotFound:
            create_user(
                db, username=username, password=config.demo_password, roles=roles, branch=BRANCH
            )
            done.append(f"用户 / user {username} ({', '.join(roles)})")
    merchants, people = load_demo(db)
    done.append(f"商户登记簿 / merchant registry: {merchants.rows} rows")
    done.append(f"身份核验名单 / identity list: {people.rows} rows")
    done.extend(load_channel_demo(db, password=config.demo_password))
    return done


@friendly_errors
def demo_data() -> None:
    """Create the demo branch, users and registry (idempotent; demo mode only)."""
    config = settings()
    _require_demo_mode(config)
    db = database()
    try:
        for line in ensure_demo_data(db, config):
            typer.echo(line)
        typer.echo(
            "演示登录 / demo logins: teller1, teller2, supervisor1, manager1, auditor1, "
            "ops1, ops2 (BJ001); merchant1, reviewer1, agent1, authorizer1, backoffice1 (RC001)\n"
            f"演示密码 / demo password: {config.demo_password} "
            "(COUNTER_DEMO_PASSWORD,仅供演示 / demo only)"
        )
    finally:
        db.dispose()


# --- the walk ---------------------------------------------------------------------


@dataclass
class DemoRun:
    """Two cases through the desk, printed as a teller would follow them."""

    wired: Wired
    config: Settings
    echo: Callable[[str], None] = typer.echo

    @property
    def desk(self) -> Any:
        return self.wired.desk

    def actor(self, username: str) -> Actor:
        user = get_user(self.desk.db, username=username)
        return Actor(username=username, roles=frozenset(user.roles), branch=user.branch)

    def deliver(self) -> None:
        delivered = self.wired.dispatcher.run_once()
        if delivered:
            self.echo(f"    外发消息 / outbox: {delivered} delivered")

    def show(self, who: str, what: str, case: CaseView) -> None:
        self.echo(f"  [{who}] {what} -> {case.state} {case.state_title.zh} / {case.state_title.en}")
        shown = case.pending.findings if case.pending is not None else case.findings
        for finding in shown:
            self.echo(_finding_line(finding))

    def step(
        self, case: CaseView, trigger: str, who: str, data: Mapping[str, Any], what: str = ""
    ) -> CaseView:
        view: CaseView = self.desk.fire(
            reference=case.reference,
            trigger=trigger,
            actor=self.actor(who),
            data=dict(data),
            version=case.version,
        )
        self.show(who, f"{trigger} {what}".rstrip(), view)
        self.deliver()
        latest: CaseView = self.desk.get(reference=case.reference, actor=self.actor(who))
        if latest.version != view.version:
            self.show("system", "acquirer answered", latest)
        return latest

    def code_sent_to(self, phone: str) -> str:
        sms = self.desk.services.sms
        if isinstance(sms, LocalSmsGateway):
            newest = max(sms.outbox(phone=phone), key=lambda message: message.sent_at).text
        else:  # COUNTER_SMS_ADAPTER=http: the simulator shows what it sent (make run-network)
            newest = _simulated_sms(self.desk.services.settings.sms_url, phone)
        found = re.search(r"验证码(\d{6})", newest)
        if found is None:
            raise fail("演示短信中没有验证码 / no code in the demo SMS")
        self.echo(f"    短信已发至 / SMS sent to {mask_phone(phone)}; the customer reads it back")
        return found.group(1)

    def walk(
        self,
        title: str,
        identity: Mapping[str, str],
        binding: Mapping[str, str],
        phone: str,
    ) -> CaseView:
        self.echo(f"\n== {title} ==")
        case: CaseView = self.desk.open_case(workflow="pos_unbind", actor=self.actor("teller1"))
        self.show("teller1", f"open pos_unbind {case.reference}", case)
        person = (
            f"({mask_name(identity['name'])}, {mask_id(identity['id_number'])}, "
            f"{identity['acting_as']})"
        )
        case = self.step(case, "submit_identity", "teller1", identity, person)
        if case.state == "supervisor_review":
            checked = {"comment": "委托书已核对 / mandate checked"}
            case = self.step(case, "approve", "supervisor1", checked)
        case = self.step(case, "submit_binding", "teller1", binding, binding["merchant_no"])
        case = self.step(case, "confirm_code", "teller1", {"code": self.code_sent_to(phone)})
        case = self.step(case, "sign_off", "teller1", {"password": self.config.demo_password})
        if case.state != "completed":
            raise fail(f"案件未完成 / the case did not complete: {case.reference} is {case.state}")
        return case


def _finding_line(finding: FindingView) -> str:
    evidence = ", ".join(f"{key}={value}" for key, value in finding.evidence.items())
    return (
        f"    ! {finding.severity} {finding.code}: {finding.message.zh} / {finding.message.en}"
        + (f" [{evidence}]" if evidence else "")
    )


def _write_slip(wired: Wired, reference: str, directory: Path) -> Path | None:
    module, name = SLIP_WRITER
    if importlib.util.find_spec(module) is None:
        return None
    writer = getattr(importlib.import_module(module), name, None)
    if not callable(writer):
        return None
    written: Path = writer(wired.desk, reference, directory)
    return written


def report_path(config: Settings, day: date) -> Path:
    """Where the demo writes the end-of-day report of ``day``."""
    return config.var_dir / f"end-of-day-{BRANCH}-{day.isoformat()}.pdf"


def _write_report(closed: ClosedDay, config: Settings) -> None:
    path = report_path(config, closed.day)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(closed.pdf)
    typer.echo(f"日终报告 / end-of-day report: {path} (SHA-256 {closed.report_sha256})")


def _closed_already(run: DemoRun) -> ClosedDay | None:
    """Today's closed day of the demo branch, if a supervisor closed it already."""
    try:
        return closed_day(run.desk.db, branch=BRANCH, day=local_day(run.desk.services.now()))
    except NotFound:
        return None


def _close_the_day(run: DemoRun) -> ClosedDay:
    """teller1 closes the counter, then supervisor1 closes the branch's day."""
    db, now = run.desk.db, run.desk.services.now
    counter = close_counter(db, actor=run.actor("teller1"), now=now())
    typer.echo(f"\n[teller1] 关闭柜台 / counter closed at window {counter.window}")
    closed = close_day(
        db, branch=BRANCH, actor=run.actor("supervisor1"), describe=run.desk.workflow_of, now=now()
    )
    figures = closed.figures
    typer.echo(
        f"[supervisor1] 网点 {BRANCH} {closed.day} 已日终 / day closed: {figures.cases} "
        f"笔业务 cases {dict(figures.outcomes)}; 日志校验 / journal chain: "
        f"{'OK' if figures.chain.ok else 'BROKEN'}"
    )
    return closed


@friendly_errors
def demo() -> None:
    """teller1 takes a clean case and an agent case at their counter; supervisor1 closes the day."""
    config = settings()
    _require_demo_mode(config)
    db = database()
    try:
        ensure_demo_data(db, config)  # also puts the demo registry back as it was
        run = DemoRun(wire_counter(db, settings=config, attach=False), config)
        closed = _closed_already(run)
        if closed is not None:
            typer.echo(
                f"网点 {BRANCH} 的 {closed.day} 已由 {closed.closed_by} 日终,今日不再受理业务;"
                "明日再运行演示,或换用新的数据库 / "
                f"{BRANCH} closed {closed.day} already ({closed.closed_by}): no case is taken "
                "on a closed day. Run the demo again tomorrow, or on a fresh database."
            )
            _write_report(closed, config)
            return
        today = run.desk.services.now().date()
        counter = open_counter(
            db, actor=run.actor("teller1"), window=DEMO_WINDOW, now=run.desk.services.now()
        )
        typer.echo(f"[teller1] 开启柜台 / counter open at window {counter.window}")
        cases = [
            run.walk(
                "案件一:法定代表人本人办理 / case 1: the legal representative in person",
                _identity("110105198001010016", "张三", "2035-06-01"),
                _binding("102110058120001", "91110000600037341L", "SN-PAX-000001",
                         "6222021234567890128"),
                "13800138000",
            ),
            run.walk(
                "案件二:代理人凭委托书办理,主管审批 / case 2: an agent with a mandate, "
                "approved by supervisor1",
                {
                    **_identity("110101198506150043", "赵六", "2036-03-01", acting_as="agent"),
                    "principal_id_number": "330106197812300095",
                    "mandate_ref": f"WT-{today:%Y%m%d}-0001",
                },
                _binding("102110058120008", "91110115MA01HHH8X2", "SN-PAX-000008",
                         "6212260000998877666"),
                "15900159000",
            ),
        ]
        typer.echo("")
        for case in cases:
            slip = _write_slip(run.wired, case.reference, config.var_dir)
            if slip is not None:
                typer.echo(f"凭条 / slip: {slip}")
        report = journal.verify(db)
        if not report.ok:
            raise fail(f"日志校验失败 / the journal does not verify: {report}")
        typer.echo(
            f"日志校验通过 / journal verified: {', '.join(c.reference for c in cases)} completed"
        )
        _write_report(_close_the_day(run), config)
    finally:
        db.dispose()


def _identity(id_number: str, name: str, expiry: str, *, acting_as: str = "self") -> dict[str, str]:
    return {
        "id_type": "resident_id",
        "id_number": id_number,
        "name": name,
        "id_expiry": expiry,
        "acting_as": acting_as,
    }


def _binding(merchant_no: str, uscc: str, terminal_sn: str, account: str) -> dict[str, str]:
    return {
        "merchant_no": merchant_no,
        "uscc": uscc,
        "terminal_sn": terminal_sn,
        "account_number": account,
    }


def _simulated_sms(sms_url: str, phone: str) -> str:
    """The newest text the SMS simulator (``counter simulate sms``) sent to ``phone``."""
    import httpx

    answer = httpx.get(f"{sms_url.rstrip('/')}/_sim/messages", params={"phone": phone}, timeout=5)
    messages = answer.json().get("messages") if answer.status_code == 200 else None
    if not messages:
        raise fail("短信模拟器中没有验证码短信 / the SMS simulator sent no code")
    return str(messages[0]["text"])
