"""``python -m bench.load``: simulated tellers run whole flagship cases over HTTP, against a floor.

    python -m bench.load [--tellers 50] [--duration 20] [--realistic-duration 20]
                         [--db sqlite|postgres] [--processes 1|2] [--web-processes N]
                         [--server-profile] [--profile-rate HZ] [--json]

It starts its own ``counter serve`` processes on 127.0.0.1 (each with its
uvicorn web processes, one per core unless ``--web-processes`` says, and its
outbox worker) over a fresh database (SQLite file, or a new PostgreSQL
database made on ``COUNTER_TEST_POSTGRES_URL`` / the local cluster), loads
the demo data, one synthetic merchant per case to come and the tellers and
supervisors, then, in one run:

1. **floor**: every teller posts to ``POST /api/bench/floor`` (the same app,
   the same session check, one insert and one commit) for ``--floor-duration``;
2. **saturation**: every teller walks complete ``pos_unbind`` cases as fast
   as the server answers for ``--duration`` seconds and finishes the one in
   hand (see ``bench/_load_tellers.py``), a share of them agent cases
   approved by supervisors, a share of steps raced on purpose;
3. **realistic**: the same, each teller thinking 1 to 3 seconds before each
   step, their first cases starting over 12 seconds (tellers do not all sign
   off at the same second), for ``--realistic-duration`` seconds (0: skipped);
4. **engine**: with the servers stopped, a few of the same cases walked
   in-process through the desk (``bench/_load_engine.py``).

For each case phase it prints completed cases per second, p50/p95/p99 per
endpoint, every non-2xx answer by endpoint and status (the only acceptable
ones are the deliberate races' 409s; anything else makes the exit status 1),
and per complete case: the server's CPU (every process of ``counter serve``,
from ``/proc``: web processes and worker apart), its write transactions
(each process's count, ``COUNTER_BENCH_TALLY_DIR``), and the load driver's
own CPU; beside them the in-process engine's CPU and writes per case, and
the slip's render CPU. With ``--server-profile``, py-spy samples every web
process and the worker during each case phase, and a table says where their
time went (``bench/_load_profile.py``); without py-spy it says why not.

**ratio** = saturation case steps per second ÷ floor commits per second,
where a case step is an answered 2xx request that commits a change to a
case (open, a trigger, an approval): each is one transaction, like a floor
request, so the ratio says what share of the bare commit rate the workflow
keeps.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench._issue14 import CPU_TARGET, P99_TARGET_MS, WRITES_TARGET, slowest_trigger
from bench._load_engine import EngineCost, engine_cost
from bench._load_profile import RATE, PhaseProfile, server_processes
from bench._load_profile import text as profile_text
from bench._load_registry import LoadMerchant
from bench._load_server import SECRET_KEY, Deployment, Server, group_cpu_seconds
from bench._load_tellers import (
    POLL_SECONDS,
    Api,
    CodeReader,
    LoadRun,
    Stats,
    hammer_floor,
    percentile,
)
from bench.report import Result, python_command

RACED = "POST /api/cases/{ref}/triggers/submit_binding 409"
CASES_PER_SECOND_CEILING = 60  # merchants made per second of --duration (never run short)
ENGINE_CASES = 8  # walked in-process after the load (plus one to warm up)
THINK_SECONDS = (1.0, 3.0)  # the realistic mode's pause before each step
REALISTIC_POLL = 0.5  # seconds between looks at a waiting case or the approval queue
STAGGER_SECONDS = 12.0  # the realistic tellers' first cases start over this long (about a case)


@dataclass
class Phase:
    """What one case phase saw, and what it cost the server and the driver."""

    name: str
    stats: Stats
    seconds: float
    web_cpu: float  # seconds, every web process of every server
    worker_cpu: float  # seconds, the outbox workers
    driver_cpu: float  # seconds, this process
    writes: int
    profile: dict[str, Any] | None = None  # PhaseProfile.finish(), when py-spy sampled it
    profile_skipped: str = ""  # why it did not

    @property
    def completed(self) -> int:
        return max(1, self.stats.completed)

    def per_case_ms(self, seconds: float) -> float:
        return seconds * 1000 / self.completed


def _passed_on() -> dict[str, str]:
    """Settings for the server from this environment (``COUNTER_WEB_THREADS=1 python -m
    bench.load`` measures another pool size); the deployment sets every other one."""
    return {k: v for k, v in os.environ.items() if k == "COUNTER_WEB_THREADS"}


def _tally_dir(deployment: Deployment) -> Path:
    return Path(deployment.extra_env["COUNTER_BENCH_TALLY_DIR"])


def _worker_groups(servers: list[Server]) -> list[int]:
    """The process ids of the servers' outbox workers (``counter worker --parent PID``)."""
    parents = {str(s.process.pid) for s in servers if s.process is not None}
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            words = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if b"worker" in words and b"--parent" in words:
            parent = words[words.index(b"--parent") + 1].decode()
            if parent in parents:
                found.append(int(cmdline.parent.name))
    return found


def _process_cpu(pid: int) -> float:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = text[text.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu(servers: list[Server]) -> tuple[float, float]:
    """(web, worker) CPU seconds of the servers' live processes."""
    total = sum(group_cpu_seconds(s.process.pid) for s in servers if s.process is not None)
    worker = sum(_process_cpu(pid) for pid in _worker_groups(servers))
    return total - worker, worker


async def _tally(deployment: Deployment) -> int:
    from counter.store.tally import TALLY_SECONDS, read_tally

    await asyncio.sleep(2 * TALLY_SECONDS + 0.1)  # every process has written its count since
    return read_tally(_tally_dir(deployment))


async def phase(name: str, deployment: Deployment, work: Callable[[Stats], Any],
                sampling: PhaseProfile | None = None) -> Phase:
    """Run ``work(stats)`` (a coroutine: returns its seconds) and measure around it.

    ``sampling`` (py-spy on the server's processes) starts with the work; its
    samples are summarised once the work is done, outside the measured time.
    """
    stats = Stats()
    writes_before = await _tally(deployment)
    web_before, worker_before = _cpu(deployment.servers)
    driver_before = time.process_time()
    skipped = sampling.start() if sampling is not None else ""
    try:
        seconds = await work(stats)
    finally:
        profile = sampling.finish() if sampling is not None and not skipped else None
    driver = time.process_time() - driver_before
    await asyncio.sleep(0.5)  # the slips of the last cases, in the worker
    web_after, worker_after = _cpu(deployment.servers)
    writes = await _tally(deployment) - writes_before
    return Phase(name, stats, seconds, web_after - web_before, worker_after - worker_before,
                 driver, writes, profile, skipped or "")


async def measure(deployment: Deployment, teller_names: list[str], supervisor_names: list[str],
                  pool: deque[LoadMerchant], args: argparse.Namespace,
                  ) -> tuple[Stats, float, list[Phase]]:
    """Sign everyone in, run the floor, then the case phases."""
    urls = [server.url for server in deployment.servers]
    floor_stats = Stats()
    floor_api = Api(urls, floor_stats, tolerate_outages=False)
    tokens = await asyncio.gather(*(floor_api.sign_in(n) for n in teller_names))
    boss_tokens = await asyncio.gather(*(floor_api.sign_in(n) for n in supervisor_names))
    _, floor_seconds = await hammer_floor(floor_api, tokens, args.floor_duration)
    await floor_api.close()
    tellers = dict(zip(teller_names, tokens, strict=True))
    supervisors = dict(zip(supervisor_names, boss_tokens, strict=True))
    codes = CodeReader(deployment.database_url)
    counters_open = [False]

    def cases(duration: float, think: tuple[float, float] | None) -> Callable[[Stats], Any]:
        async def work(stats: Stats) -> float:
            api = Api(urls, stats, tolerate_outages=False)
            run = LoadRun(api, codes, pool, race_share=args.race_share, seed=args.seed,
                          think=think, counters_open=counters_open[0],
                          poll_seconds=POLL_SECONDS if think is None else REALISTIC_POLL,
                          stagger=0.0 if think is None else STAGGER_SECONDS)
            counters_open[0] = True
            end = time.monotonic() + duration
            try:
                return await run.run(tellers, supervisors, lambda: time.monotonic() >= end)
            finally:
                await api.close()
        return work

    def spy(name: str, seconds: float) -> PhaseProfile | None:
        if not args.server_profile:
            return None
        pids = server_processes(s.process.pid for s in deployment.servers if s.process)
        return PhaseProfile(name, pids, max(1, int(seconds)), deployment.work_dir,
                            rate=args.profile_rate)

    phases = []
    try:
        if args.duration > 0:
            phases.append(await phase("saturation", deployment, cases(args.duration, None),
                                      spy("saturation", args.duration)))
        if args.realistic_duration > 0:
            phases.append(await phase("realistic", deployment,
                                      cases(args.realistic_duration, THINK_SECONDS),
                                      spy("realistic", args.realistic_duration)))
    finally:
        codes.close()
    return floor_stats, floor_seconds, phases


def _latency_lines(stats: Stats) -> list[str]:
    lines = [f"{'endpoint':<52} {'n':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}"]
    for label in sorted(stats.latencies):
        values = stats.latencies[label]
        lines.append(f"{label:<52} {len(values):>6} {percentile(values, 0.5):>8.1f} "
                     f"{percentile(values, 0.95):>8.1f} {percentile(values, 0.99):>8.1f}")
    return lines


def _trigger_latencies(stats: Stats) -> list[float]:
    return [ms for label, values in stats.latencies.items()
            if "/triggers/" in label or "/approve" in label for ms in values]


def _beyond_races(stats: Stats) -> dict[str, int]:
    """Non-2xx answers other than the deliberate races' 409s."""
    beyond = dict(stats.errors())
    beyond[RACED] = beyond.get(RACED, 0) - stats.races
    return {k: v for k, v in beyond.items() if v}


def _phase_lines(run: Phase, engine: EngineCost | None,
                 cores: int) -> tuple[list[str], dict[str, Any]]:
    stats = run.stats
    trigger_p99 = percentile(_trigger_latencies(stats), 0.99)
    server_ms = run.per_case_ms(run.web_cpu + run.worker_cpu)
    slip_ms = engine.slip_cpu_ms if engine else 0.0
    driver_share = run.driver_cpu / (run.seconds * cores) if run.seconds else float("nan")
    lines = [
        f"--- {run.name}: {stats.completed} completed of {stats.opened} opened in "
        f"{run.seconds:.1f} s: {stats.completed / run.seconds:.2f} cases/s "
        f"({stats.agent_cases} agent cases, {stats.approvals} approvals, "
        f"{stats.races} deliberate races); {stats.steps / run.seconds:.1f} case steps/s",
        f"trigger p50 {percentile(_trigger_latencies(stats), 0.5):.1f} ms, p99 "
        f"{trigger_p99:.1f} ms",
        f"server CPU per complete case: {server_ms:.0f} ms (web {run.per_case_ms(run.web_cpu):.0f}"
        f" + worker {run.per_case_ms(run.worker_cpu):.0f}, the slip's render in it)"
        + (f"; slip excluded {server_ms - slip_ms:.0f} ms = "
           f"{(server_ms - slip_ms) / engine.cpu_ms:.1f} x the in-process engine's "
           f"{engine.cpu_ms:.0f} ms" if engine else ""),
        f"write transactions per complete case: {run.writes / run.completed:.1f} (every process)"
        + (f"; in-process engine {engine.writes:.1f}" if engine else ""),
        f"load driver CPU: {run.per_case_ms(run.driver_cpu):.0f} ms per case, "
        f"{driver_share:.0%} of the machine's {cores} cores",
        *_latency_lines(stats),
        "answers other than 2xx (endpoint status: count):",
        *(f"  {k}: {v}" for k, v in stats.errors().items()),
        f"  of which expected (deliberate races): {stats.races}",
        f"unexpected: {len(stats.unexpected)}",
        *(f"  {u}" for u in stats.unexpected[:20]),
    ]
    if stats.pool_exhausted:
        lines.append("note: the merchants ran out before the duration ended")
    figures = {
        "cases_per_second": stats.completed / run.seconds, "completed": stats.completed,
        "opened": stats.opened, "races": stats.races, "approvals": stats.approvals,
        "agent_cases": stats.agent_cases, "steps": stats.steps,
        "steps_per_second": stats.steps / run.seconds, "trigger_p99_ms": trigger_p99,
        "server_cpu_ms_per_case": server_ms, "web_cpu_ms_per_case": run.per_case_ms(run.web_cpu),
        "worker_cpu_ms_per_case": run.per_case_ms(run.worker_cpu),
        "writes_per_case": run.writes / run.completed,
        "driver_cpu_ms_per_case": run.per_case_ms(run.driver_cpu),
        "driver_share_of_machine": driver_share, "errors": stats.errors(),
        "unexpected_errors": _beyond_races(stats), "unexpected": stats.unexpected,
        "latency_ms": {label: {"n": len(v), "p50": percentile(v, 0.5),
                               "p95": percentile(v, 0.95), "p99": percentile(v, 0.99)}
                       for label, v in stats.latencies.items()},
    }
    return lines, figures


def report(args: argparse.Namespace, floor_stats: Stats, floor_seconds: float,
           phases: list[Phase], engine: EngineCost | None) -> Result:
    cores = os.cpu_count() or 1
    floor_latencies = floor_stats.latencies.get("POST /api/bench/floor", [])
    floor_rate = len(floor_latencies) / floor_seconds if floor_seconds else float("nan")
    floor_p99 = percentile(floor_latencies, 0.99)
    lines = [
        f"load: {args.tellers} tellers, {args.supervisors} supervisors, {args.db}, "
        f"{args.processes} server(s) of {args.web_processes or cores} web process(es) and a "
        f"worker each, on {cores} cores",
        f"floor: {len(floor_latencies)} commits in {floor_seconds:.1f} s: "
        f"{floor_rate:.1f} commits/s, p99 {floor_p99:.1f} ms",
    ]
    if engine is not None:
        lines.append(f"in-process engine ({engine.cases} cases): {engine.cpu_ms:.1f} ms CPU and "
                     f"{engine.writes:.1f} write transactions per case; the slip's render "
                     f"{engine.slip_cpu_ms:.1f} ms CPU")
    extra: dict[str, Any] = {"floor_p99_ms": floor_p99, "floor_rate": floor_rate,
                             "engine": vars(engine) if engine else None}
    limits = []
    unexpected: list[str] = list(floor_stats.unexpected)
    unexpected_errors: dict[str, int] = dict(floor_stats.errors())
    for run in phases:
        more, figures = _phase_lines(run, engine, cores)
        lines += more
        extra[run.name] = figures
        unexpected += run.stats.unexpected
        unexpected_errors.update(figures["unexpected_errors"])
        if run.name == "realistic":
            slowest_name, slowest = slowest_trigger(figures["latency_ms"])
            p99 = max(figures["trigger_p99_ms"], slowest)
            limits.append(
                f"Target (issue 14): every trigger's p99 at most {P99_TARGET_MS:.0f} ms with "
                f"{args.tellers} tellers thinking 1-3 s. Measured {figures['trigger_p99_ms']:.0f}"
                f" ms over all triggers, the slowest `{slowest_name}` {slowest:.0f} ms: "
                + ("met." if p99 <= P99_TARGET_MS else
                   f"missed, {p99 / P99_TARGET_MS:.1f} times the target."))
        if engine is not None:
            ratio = (figures["server_cpu_ms_per_case"] - engine.slip_cpu_ms) / engine.cpu_ms
            limits.append(
                f"Target (issue 14): server CPU per case, slip excluded, at most "
                f"{CPU_TARGET:.0f} x the in-process engine's ({run.name}): {ratio:.1f} x, "
                + ("met." if ratio <= CPU_TARGET else "missed."))
        writes = figures["writes_per_case"]
        limits.append(f"Target (issue 14): at most {WRITES_TARGET:.0f} write transactions per "
                      f"case ({run.name}): {writes:.1f}, "
                      + ("met." if writes <= WRITES_TARGET else "missed."))
    saturation = extra.get("saturation") or next(
        (extra[p.name] for p in phases), {"steps_per_second": float("nan")})
    step_rate = saturation["steps_per_second"]
    extra.update({key: saturation.get(key) for key in (
        "cases_per_second", "completed", "opened", "races", "approvals", "agent_cases",
        "steps", "trigger_p99_ms", "latency_ms")})
    extra["latency_ms"] = {**(extra["latency_ms"] or {}), **{
        label: {"n": len(v), "p50": percentile(v, 0.5), "p95": percentile(v, 0.95),
                "p99": percentile(v, 0.99)} for label, v in floor_stats.latencies.items()}}
    extra.update({"limits": limits, "unexpected": unexpected,
                  "unexpected_errors": unexpected_errors, "errors": unexpected_errors})
    if args.server_profile:
        skipped = next((p.profile_skipped for p in phases if p.profile_skipped), "")
        extra["server_profile"] = {
            "rate": args.profile_rate, "skipped": skipped,
            "phases": {p.name: p.profile for p in phases if p.profile is not None}}
    lines += [line for line in _latency_lines(floor_stats) if "/api/bench/floor" in line]
    return Result(
        name="load", title=f"HTTP load, {args.tellers} tellers, {args.db}, "
        f"{args.processes} server(s)", figure=step_rate, floor=floor_rate,
        ratio=step_rate / floor_rate, units="commits/s", figure_label="case steps",
        floor_label="bare commit", command=python_command("bench.load", sys.argv[1:]),
        lines=lines, extra=extra,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tellers", type=int, default=50,
                        help="at most 99: each opens a counter at a window of the one branch")
    parser.add_argument("--supervisors", type=int, default=0,
                        help="default: one per ten tellers, at least one")
    parser.add_argument("--duration", type=float, default=20.0,
                        help="seconds of saturation cases (0: none)")
    parser.add_argument("--realistic-duration", type=float, default=20.0,
                        help="seconds of cases with tellers thinking 1-3 s a step (0: none)")
    parser.add_argument("--floor-duration", type=float, default=0.0,
                        help="seconds of floor requests (default: half of --duration)")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--processes", type=int, choices=(1, 2), default=1,
                        help="counter serve processes (each with its web processes and worker)")
    parser.add_argument("--web-processes", type=int, default=0,
                        help="uvicorn web processes per server (default: one per core)")
    parser.add_argument("--agent-every", type=int, default=5,
                        help="every Nth case is an agent's, approved by a supervisor (0: none)")
    parser.add_argument("--race-share", type=float, default=0.05,
                        help="share of cases whose submit_binding is raced on purpose")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--server-profile", action="store_true",
                        help="sample the web processes and the worker with py-spy in each phase")
    parser.add_argument("--profile-rate", type=int, default=RATE,
                        help=f"py-spy samples per second (default {RATE})")
    parser.add_argument("--dir", type=Path, default=None, help="work directory (default: temp)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON last")
    args = parser.parse_args(argv)
    if not 1 <= args.tellers <= 99:
        parser.error("--tellers: 1 to 99 (a branch has windows 1 to 99)")
    args.supervisors = args.supervisors or max(1, args.tellers // 10)
    args.floor_duration = args.floor_duration or max(1.0, max(args.duration, 2.0) / 2)
    cases = (int((args.duration + args.realistic_duration) * CASES_PER_SECOND_CEILING)
             + 8 * args.tellers + ENGINE_CASES + 1)
    options = ("--workers", str(args.web_processes)) if args.web_processes else ()
    with tempfile.TemporaryDirectory(prefix="counter-load-") as temporary:
        work_dir = args.dir or Path(temporary)
        tally = {"COUNTER_BENCH_TALLY_DIR": str(work_dir / "tally")}
        deployment = Deployment(work_dir, kind=args.db, extra_env={**tally, **_passed_on()})
        engine = None
        try:
            staff = deployment.prepare(tellers=args.tellers, supervisors=args.supervisors,
                                       cases=cases, agent_every=args.agent_every)
            for_engine = [m for m in staff.merchants if m.agent_id is None][-ENGINE_CASES - 1:]
            staff.merchants = deque(m for m in staff.merchants if m not in for_engine)
            deployment.start_servers(args.processes, *options)
            floor_stats, floor_seconds, phases = asyncio.run(measure(
                deployment, staff.tellers, staff.supervisors, staff.merchants, args))
            for server in deployment.servers:
                server.stop()
            engine = engine_cost(deployment.database_url, SECRET_KEY, staff.tellers[0],
                                 for_engine)
        finally:
            deployment.close()
    result = report(args, floor_stats, floor_seconds, phases, engine)
    result.print(as_json=args.json,
                 extra_lines=profile_text(result.extra.get("server_profile") or {}))
    return 1 if result.extra["unexpected"] or result.extra["unexpected_errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
