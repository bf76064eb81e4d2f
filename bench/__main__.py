"""``python -m bench`` (``make bench``): every benchmark, then the page and the chart.

Each benchmark runs ``--runs`` times (default 3), each time in a fresh
process (``python -m bench.<name> ... --json``); the run with the median
ratio is reported, with every run's ratio beside it. A benchmark that misses
its target is run once more under cProfile (its own ``--profile`` where it
has one, so that only our side is profiled) and the page summarises where
the time went. Then ``docs/benchmarks.md`` and ``docs/images/benchmarks.svg``
are written from this run, with the notes written by hand in ``bench/notes/``.

    python -m bench [--runs N] [--only engine,spiff] [--quick] [--out DIR]

``--quick`` uses tiny sizes (a smoke test of the whole pipeline, not a
measurement); ``--out`` writes the page and chart under another directory
(``DIR/benchmarks.md``, ``DIR/images/benchmarks.svg``). A partial run
(``--only`` or ``--quick``) must say ``--out``: its page would replace the
whole of ``docs/benchmarks.md`` with a part (``--out docs`` if that is meant).
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.report import (
    Result,
    describe_machine,
    python_command,
    summarise_profile,
    write_chart,
    write_page,
)

ROOT = Path(__file__).resolve().parent.parent
RUN_TIMEOUT = 300  # seconds for one run of one benchmark


@dataclass(frozen=True)
class Benchmark:
    """How to run one module of ``bench/`` and what its ratio must reach.

    Modules that print ``--json`` results need nothing else; for those that
    only print lines, ``figure`` and ``floor`` are patterns whose first group
    is the number (the ``ratio:`` line is always read).
    """

    name: str
    title: str
    args: tuple[str, ...]
    quick_args: tuple[str, ...]
    target: float | None
    higher_is_better: bool = True
    units: str = ""
    figure_label: str = "ours"
    floor_label: str = "floor"
    figure: str = ""
    floor: str = ""
    self_profile: bool = False  # the module takes --profile and profiles only our side
    max_runs: int | None = None  # fewer runs for a benchmark that aggregates inside one
    script: str = ""  # the module under bench/ when it is not ``name`` (one script, two set-ups)

    @property
    def module(self) -> str:
        return f"bench.{self.script or self.name}"


_N = r"([0-9][0-9,]*(?:\.[0-9]+)?)"

BENCHMARKS = (
    Benchmark("engine", "engine vs raw durable commits", ("--cases", "300"), ("--cases", "4"),
              target=0.5, units="triggers/s", figure_label="Desk",
              floor_label="raw sqlite3 transactions", figure=rf"^engine:\s*{_N} triggers/s",
              floor=rf"^floor:\s*{_N} transactions/s"),
    Benchmark("spiff", "counter vs SpiffWorkflow", ("--cases", "150"), ("--cases", "2"),
              target=2.0, units="cases/s", self_profile=True),
    Benchmark("growth", "trigger cost as the database grows",
              ("--sizes", "1000,10000,100000", "--cases", "150"),
              ("--sizes", "10,100", "--cases", "4"), target=0.90,
              units="triggers/s"),
    Benchmark("pages", "console pages of the clean case, one teller", ("--rounds", "20"),
              ("--rounds", "1"), target=3.0, higher_is_better=False, units="ms (p50)",
              figure_label="slowest page", floor_label="bare page", max_runs=1),
    # The longest last: when the time budget runs short, slip gets fewer runs. Load and slip
    # take about two minutes a run and aggregate thousands of requests or renders inside one.
    # Each load run: saturation, then tellers thinking 1-3 s a step, against a server of one
    # web process per core and its outbox worker.
    # py-spy samples the server in both phases (--server-profile): issue 14 wants a profile
    # beside a missed target; at 100 Hz, without pausing the server, it costs little.
    Benchmark("load", "HTTP load, 50 tellers",
              ("--duration", "15", "--realistic-duration", "25", "--server-profile"),
              ("--tellers", "3", "--duration", "3", "--realistic-duration", "3"), target=None,
              max_runs=1),
    Benchmark("load_pg", "HTTP load, 50 tellers, PostgreSQL",
              ("--duration", "15", "--realistic-duration", "25", "--db", "postgres",
               "--server-profile"),
              ("--tellers", "3", "--duration", "3", "--realistic-duration", "3", "--db",
               "postgres"),
              target=None, max_runs=1, script="load"),
    Benchmark("chaos", "chaos: tellers through faults, an outage and killed workers",
              ("--tellers", "50", "--duration", "60", "--outage", "20", "--kills", "2"),
              ("--tellers", "2", "--duration", "6", "--outage", "2", "--kills", "1",
               "--drain", "30"),
              target=None, max_runs=1, units="cases", figure_label="completed",
              floor_label="opened"),
    Benchmark("slip", "slip rendering (two-page slip vs one-line page)",
              ("--renders", "20"), ("--renders", "2", "--memory-renders", "10"),
              target=4.0, higher_is_better=False, units="ms per render",
              figure_label="flagship slip", floor_label="one-line page",
              figure=rf"^slip\b.*?median {_N} ms", floor=rf"^floor\b.*?median {_N} ms"),
)


class RunFailed(Exception):
    """A benchmark process exited non-zero, timed out or printed no ratio."""


def _number(pattern: str, text: str) -> float:
    found = re.search(pattern, text, re.MULTILINE) if pattern else None
    return float(found.group(1).replace(",", "")) if found else float("nan")


def _from_text(bench: Benchmark, stdout: str, command: str) -> Result:
    """A result from a module that prints lines but no JSON: its ``ratio:`` and figures.

    Lines starting ``limits:`` say what limits the figure; the page shows them when the
    target is missed.
    """
    ratio = _number(rf"^ratio:\s*{_N}", stdout)
    if ratio != ratio:  # NaN: no ratio line
        raise RunFailed(f"{bench.module} printed no 'ratio:' line:\n{stdout[-2000:]}")
    lines = [line for line in stdout.splitlines() if line.strip()]
    return Result(
        name=bench.name, title=bench.title, figure=_number(bench.figure, stdout),
        floor=_number(bench.floor, stdout), ratio=ratio, units=bench.units,
        figure_label=bench.figure_label, floor_label=bench.floor_label, command=command,
        lines=[line for line in lines if not line.startswith("limits: ")],
        extra={"limits": [line.removeprefix("limits: ") for line in lines
                          if line.startswith("limits: ")]},
    )


def _parse(bench: Benchmark, stdout: str, command: str) -> Result | None:
    """The result a run printed: its JSON line if it has one, else its ``ratio:`` line."""
    for line in reversed(stdout.splitlines()):
        if line.startswith("{"):
            try:
                result = Result.from_json(json.loads(line))
            except (ValueError, TypeError):
                break  # not a result: read the lines instead
            result.command = command
            return result
    try:
        return _from_text(bench, stdout, command)
    except RunFailed:
        return None


def _run_once(bench: Benchmark, args: Sequence[str], work_dir: Path) -> Result:
    command = python_command(bench.module, args)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)}
    argv = [sys.executable, "-m", bench.module, *args]
    for extra in (["--json"], []):  # modules without --json still print their ratio
        try:
            done = subprocess.run([*argv, *extra], cwd=ROOT, env=env, capture_output=True,
                                  text=True, timeout=RUN_TIMEOUT, check=False)
        except subprocess.TimeoutExpired as exc:
            raise RunFailed(f"{command} took more than {RUN_TIMEOUT} s") from exc
        if done.returncode == 2 and "--json" in done.stderr and extra:
            continue
        result = _parse(bench, done.stdout, command)
        if done.returncode != 0:
            said = (done.stderr.strip() or done.stdout.strip())[-3000:]
            if result is None:
                raise RunFailed(f"{command} exited {done.returncode}:\n{said}")
            result.lines.append(f"**the run exited with status {done.returncode}**: the "
                                "module reports a failure (see its lines above)")
        if result is None:
            raise RunFailed(f"{command} printed no 'ratio:' line:\n{done.stdout[-2000:]}")
        return result
    raise RunFailed(f"{command}: no result")


def _profile(bench: Benchmark, args: Sequence[str], work_dir: Path) -> dict[str, object] | None:
    """Where the time goes: the module's own --profile, or the whole run under cProfile."""
    if bench.self_profile:
        return _run_once(bench, [*args, "--profile"], work_dir).profile
    output = work_dir / f"{bench.name}.prof"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "cProfile", "-o", str(output), "-m", bench.module, *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False,
    )
    if done.returncode != 0 or not output.exists():
        return None
    summary = summarise_profile(pstats.Stats(str(output)))
    summary["note"] = "the whole benchmark process, floor included"
    return summary


def run_benchmark(bench: Benchmark, *, runs: int, quick: bool, work_dir: Path,
                  deadline: float) -> Result:
    """``runs`` runs (fewer if the next would pass ``deadline``), the median one returned."""
    args = list(bench.quick_args if quick else bench.args)
    if bench.max_runs is not None and bench.max_runs < runs:
        wanted, runs = runs, bench.max_runs
    else:
        wanted = runs
    results = []
    for number in range(runs):
        started = time.perf_counter()
        result = _run_once(bench, args, work_dir)
        took = time.perf_counter() - started
        print(f"{bench.name} run {number + 1}/{runs}: ratio {result.ratio:.2f} ({took:.0f} s)",
              flush=True)
        results.append(result)
        if number + 1 < runs and time.perf_counter() + took > deadline:
            break
    # The middle run by ratio; of two, the one less favourable to us.
    results.sort(key=lambda r: r.ratio, reverse=not bench.higher_is_better)
    median = results[(len(results) - 1) // 2]
    median.target = bench.target if median.target is None else median.target
    median.higher_is_better = bench.higher_is_better
    median.title = median.title or bench.title
    median.name = bench.name  # one script may run under two names (load, load_pg)
    if len(results) < runs:
        median.lines.append(f"only {len(results)} of {runs} runs: another would have passed "
                            "the time budget of `make bench`")
    elif runs < wanted:
        median.lines.append(f"{runs} run(s), not {wanted}: one takes minutes and already "
                            "aggregates many measurements inside")
    if len(results) > 1:
        ratios = ", ".join(f"{r.ratio:.2f}" for r in sorted(results, key=lambda r: r.ratio))
        median.lines.append(f"ratios of the {len(results)} runs: {ratios} (the page shows the "
                            + ("median run)" if len(results) % 2 else
                               "less favourable of the middle two)"))
    if median.met is False and median.profile is None:
        median.profile = _profile(bench, args, work_dir)
    return median


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", default="", help="comma-separated benchmark names")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test")
    parser.add_argument("--budget", type=float, default=660.0,
                        help="seconds: fewer runs rather than pass this (default 660)")
    parser.add_argument("--out", type=Path, default=None,
                        help="where benchmarks.md and images/benchmarks.svg go (default: docs; "
                        "required with --only or --quick)")
    args = parser.parse_args(argv)
    chosen = {n.strip() for n in args.only.split(",") if n.strip()}
    unknown = chosen - {b.name for b in BENCHMARKS}
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    if args.out is None and (chosen or args.quick):
        parser.error("a partial run (--only, --quick) would replace docs/benchmarks.md with "
                     "part of the page: pass --out DIR (--out docs if that is meant)")
    args.out = args.out or ROOT / "docs"
    started_at = datetime.now(UTC)
    started = time.perf_counter()
    results: list[Result] = []
    failures: dict[str, str] = {}
    commands: list[str] = []
    with tempfile.TemporaryDirectory(prefix="counter-bench-") as tmp:
        work_dir = Path(tmp)
        machine = describe_machine(work_dir)
        for bench in BENCHMARKS:
            if chosen and bench.name not in chosen:
                continue
            script = bench.script or bench.name
            if not (ROOT / "bench" / f"{script}.py").exists():
                failures[bench.title] = f"bench/{script}.py does not exist yet."
                continue
            args_used = bench.quick_args if args.quick else bench.args
            commands.append(python_command(bench.module, args_used))
            if time.perf_counter() > started + args.budget:
                failures[bench.title] = f"skipped: the time budget ({args.budget:.0f} s) was spent"
                continue
            try:
                results.append(run_benchmark(bench, runs=args.runs, quick=args.quick,
                                             work_dir=work_dir,
                                             deadline=started + args.budget))
            except RunFailed as exc:
                failures[bench.title] = str(exc)
                print(f"{bench.name}: FAILED\n{exc}", file=sys.stderr, flush=True)
    seconds = time.perf_counter() - started
    chart = args.out / "images" / "benchmarks.svg"
    if results:
        write_chart(chart, results)
    # What limits a figure: for a missed ratio target, and for figures whose target is
    # not a ratio (the load test's p99), which say themselves whether they met it.
    notes = {r.name: [line for line in r.extra.get("limits", [])]
             for r in results if r.met is False or r.target is None}
    write_page(
        args.out / "benchmarks.md",
        results=results,
        failures=failures,
        machine=machine,
        commands=commands,
        runs=args.runs,
        chart=os.path.relpath(chart, args.out),
        started=started_at,
        seconds=seconds,
        notes=notes,
    )
    print(f"wrote {args.out / 'benchmarks.md'} and {chart} in {seconds / 60:.1f} minutes")
    for result in results:
        print(f"{result.name}: ratio {result.ratio:.2f}"
              + (f" ({result.shortfall()})" if result.shortfall() else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
