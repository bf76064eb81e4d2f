"""``python -m bench.load``: simulated tellers run whole flagship cases over HTTP, against a floor.

    python -m bench.load [--tellers 50] [--duration 20] [--db sqlite|postgres]
                         [--processes 1|2] [--json]

It starts its own ``counter serve`` processes on 127.0.0.1 over a fresh
database (SQLite file, or a new PostgreSQL database made on
``COUNTER_TEST_POSTGRES_URL`` / the local cluster), loads the demo data,
one synthetic merchant per case to come and the tellers and supervisors,
then, in one run:

1. **floor**: every teller posts to ``POST /api/bench/floor`` (the same app,
   the same session check, one insert and one commit) for ``--floor-duration``;
2. **cases**: every teller walks complete ``pos_unbind`` cases for
   ``--duration`` seconds and finishes the one in hand (see
   ``bench/_load_tellers.py``), a share of them agent cases approved by
   supervisors, a share of steps raced on purpose.

It prints completed cases per second, p50/p95/p99 per endpoint and every
non-2xx answer by endpoint and status. The only acceptable ones are the
deliberate races' 409s; anything else makes the exit status 1.

**ratio** = case steps per second ÷ floor commits per second, where a case
step is an answered 2xx request that commits a change to a case (open, a
trigger, an approval): each is one transaction, like a floor request, so
the ratio says what share of the bare commit rate the workflow keeps.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import deque
from pathlib import Path
from typing import Any

from bench._load_server import Deployment
from bench._load_tellers import Api, CodeReader, LoadRun, Stats, hammer_floor, percentile
from bench.report import Result, python_command

RACED = "POST /api/cases/{ref}/triggers/submit_binding 409"
CASES_PER_SECOND_CEILING = 60  # merchants made per second of --duration (never run short)


async def measure(urls: list[str], database_url: str, teller_names: list[str],
                  supervisor_names: list[str], pool: deque[Any], args: argparse.Namespace,
                  ) -> tuple[Stats, Stats, float, float]:
    """Sign everyone in, run the floor, then the cases: (floor stats, case stats, seconds...)."""
    floor_stats = Stats()
    floor_api = Api(urls, floor_stats, tolerate_outages=False)
    tokens = await asyncio.gather(*(floor_api.sign_in(n) for n in teller_names))
    boss_tokens = await asyncio.gather(*(floor_api.sign_in(n) for n in supervisor_names))
    _, floor_seconds = await hammer_floor(floor_api, tokens, args.floor_duration)
    await floor_api.close()

    stats = Stats()
    api = Api(urls, stats, tolerate_outages=False)
    codes = CodeReader(database_url)
    run = LoadRun(api, codes, pool, race_share=args.race_share, seed=args.seed)
    end = time.monotonic() + args.duration
    try:
        seconds = await run.run(dict(zip(teller_names, tokens, strict=True)),
                                dict(zip(supervisor_names, boss_tokens, strict=True)),
                                lambda: time.monotonic() >= end)
    finally:
        await api.close()
        codes.close()
    return floor_stats, stats, floor_seconds, seconds


P99_TARGET_MS = 50.0  # issue 7: a trigger's p99 with 50 tellers on SQLite, one process


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


def report(args: argparse.Namespace, floor_stats: Stats, stats: Stats, floor_seconds: float,
           seconds: float) -> Result:
    floor_latencies = floor_stats.latencies.get("POST /api/bench/floor", [])
    floor_rate = len(floor_latencies) / floor_seconds if floor_seconds else float("nan")
    step_rate = stats.steps / seconds if seconds else float("nan")
    trigger_p99 = percentile(_trigger_latencies(stats), 0.99)
    floor_p99 = percentile(floor_latencies, 0.99)
    errors = {**floor_stats.errors(), **stats.errors()}
    # The deliberate races' 409s are the only non-2xx answers allowed.
    beyond = dict(errors)
    beyond[RACED] = beyond.get(RACED, 0) - stats.races
    beyond = {k: v for k, v in beyond.items() if v}
    unexpected = floor_stats.unexpected + stats.unexpected
    lines = [
        f"load: {args.tellers} tellers, {args.supervisors} supervisors, {args.db}, "
        f"{args.processes} process(es), cases for {args.duration:g} s, floor for "
        f"{args.floor_duration:g} s",
        f"cases: {stats.completed} completed of {stats.opened} opened in {seconds:.1f} s: "
        f"{stats.completed / seconds:.2f} cases/s ({stats.agent_cases} agent cases, "
        f"{stats.approvals} approvals, {stats.races} deliberate races)",
        f"case steps: {stats.steps} in {seconds:.1f} s: {step_rate:.1f} steps/s",
        f"floor: {len(floor_latencies)} commits in {floor_seconds:.1f} s: "
        f"{floor_rate:.1f} commits/s, p99 {floor_p99:.1f} ms",
        f"trigger p99 {trigger_p99:.1f} ms; p99 ratio (trigger ÷ floor) "
        f"{trigger_p99 / floor_p99:.2f}",
        *_latency_lines(stats),
        *_latency_lines(floor_stats)[1:],
        "answers other than 2xx (endpoint status: count):",
        *(f"  {k}: {v}" for k, v in errors.items()),
        f"  of which expected (deliberate races): {stats.races}",
        f"unexpected: {len(unexpected)}",
        *(f"  {u}" for u in unexpected[:20]),
    ]
    if stats.pool_exhausted:
        lines.append("note: the merchants ran out before the duration ended")
    limits = [
        f"Target (issue 7): a trigger's p99 under {P99_TARGET_MS:.0f} ms with 50 tellers. "
        f"Measured {trigger_p99:.0f} ms with {args.tellers} tellers on {args.db}, "
        f"{args.processes} process(es): "
        + ("met." if trigger_p99 < P99_TARGET_MS else
           f"missed, {trigger_p99 / P99_TARGET_MS:.1f} times the target. The bare one-commit "
           f"endpoint under the same load has a p99 of {floor_p99:.0f} ms: on 2 cores, "
           f"{args.tellers} callers queue for the server's Python processes (and, on SQLite, "
           "its one writer), so a request's p99 is mostly waiting its turn. The slowest "
           "trigger is sign_off: in its own request it also delivers its case's outbox, the "
           "acquirer's unbind, the follow-up step and the slip's render (about 80 ms of CPU). "
           "Delivering after the response, on a background worker, is the next step.")
    ]
    return Result(
        name="load", title=f"HTTP load, {args.tellers} tellers, {args.db}, "
        f"{args.processes} process(es)", figure=step_rate, floor=floor_rate,
        ratio=step_rate / floor_rate, units="commits/s", figure_label="case steps",
        floor_label="bare commit", command=python_command("bench.load", sys.argv[1:]),
        lines=lines,
        extra={"cases_per_second": stats.completed / seconds, "completed": stats.completed,
               "opened": stats.opened, "races": stats.races, "approvals": stats.approvals,
               "agent_cases": stats.agent_cases, "steps": stats.steps,
               "trigger_p99_ms": trigger_p99, "floor_p99_ms": floor_p99,
               "p99_ratio": trigger_p99 / floor_p99, "errors": errors, "limits": limits,
               "unexpected_errors": beyond,
               "unexpected": unexpected, "latency_ms": {
                   label: {"n": len(v), "p50": percentile(v, 0.5), "p95": percentile(v, 0.95),
                           "p99": percentile(v, 0.99)}
                   for label, v in {**stats.latencies, **floor_stats.latencies}.items()}},
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tellers", type=int, default=50,
                        help="at most 99: each opens a counter at a window of the one branch")
    parser.add_argument("--supervisors", type=int, default=0,
                        help="default: one per ten tellers, at least one")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of cases")
    parser.add_argument("--floor-duration", type=float, default=0.0,
                        help="seconds of floor requests (default: half of --duration)")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--processes", type=int, choices=(1, 2), default=1)
    parser.add_argument("--agent-every", type=int, default=5,
                        help="every Nth case is an agent's, approved by a supervisor (0: none)")
    parser.add_argument("--race-share", type=float, default=0.05,
                        help="share of cases whose submit_binding is raced on purpose")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--dir", type=Path, default=None, help="work directory (default: temp)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON last")
    args = parser.parse_args(argv)
    if not 1 <= args.tellers <= 99:
        parser.error("--tellers: 1 to 99 (a branch has windows 1 to 99)")
    args.supervisors = args.supervisors or max(1, args.tellers // 10)
    args.floor_duration = args.floor_duration or max(1.0, args.duration / 2)
    cases = int(args.duration * CASES_PER_SECOND_CEILING) + 4 * args.tellers
    with tempfile.TemporaryDirectory(prefix="counter-load-") as temporary:
        deployment = Deployment(args.dir or Path(temporary), kind=args.db)
        try:
            staff = deployment.prepare(tellers=args.tellers, supervisors=args.supervisors,
                                       cases=cases, agent_every=args.agent_every)
            urls = [server.url for server in deployment.start_servers(args.processes)]
            floor_stats, stats, floor_seconds, seconds = asyncio.run(measure(
                urls, deployment.database_url, staff.tellers, staff.supervisors,
                staff.merchants, args))
        finally:
            deployment.close()
    result = report(args, floor_stats, stats, floor_seconds, seconds)
    result.print(as_json=args.json)
    return 1 if result.extra["unexpected"] or result.extra["unexpected_errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
