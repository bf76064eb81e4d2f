"""What ``make bench`` writes: results, the machine they ran on, profiles, the page and the chart.

Every benchmark ends in a :class:`Result`: one headline figure, the floor it
is measured against in the same run, their ratio and the target for that
ratio. ``bench/__main__.py`` collects them (the median of several runs in
fresh processes) and calls :func:`write_page` and :func:`write_chart`.

What a run cannot say (what a change did, a profile taken by hand, why a
target is missed) is written in ``bench/notes/<name>.md``, ``name`` being a
benchmark's :attr:`Result.name` (``bench/notes/issue14.md`` for the page's
table of issue 14's targets), and the page includes it at the end of that
section. A note states no figure of a run; a measurement it cites says when
and with which command it was taken.
"""

from __future__ import annotations

import cProfile
import dataclasses
import json
import os
import platform
import pstats
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from bench._issue14 import targets_table
from bench._load_profile import markdown as server_profile_markdown

__all__ = [
    "Result",
    "alternate",
    "describe_machine",
    "profile",
    "summarise_profile",
    "write_chart",
    "write_page",
]

NOTES_DIR = Path(__file__).resolve().parent / "notes"
PAGE_NOTE = "issue14"  # the note after the table of issue 14's targets
LIBRARIES = ("SQLAlchemy", "sqlmodel", "transitions", "pydantic", "SpiffWorkflow", "WeasyPrint",
             "matplotlib")


@dataclass
class Result:
    """One benchmark's headline: ``figure`` against ``floor`` (same units), and their ratio.

    ``target`` is the least acceptable ratio (``higher_is_better``) or the
    most (not). ``lines`` are the other figures worth printing (variants,
    per-size rates), ``profile`` a :func:`summarise_profile` of our side.
    """

    name: str
    title: str
    figure: float
    floor: float
    ratio: float
    units: str
    figure_label: str
    floor_label: str
    command: str
    target: float | None = None
    higher_is_better: bool = True
    lines: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    profile: dict[str, Any] | None = None

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        return self.ratio >= self.target if self.higher_is_better else self.ratio <= self.target

    def shortfall(self) -> str:
        """How far the ratio is from its target, in words (empty when met or untargeted)."""
        if self.target is None or self.met:
            return ""
        if self.higher_is_better:
            return (f"missed: {self.ratio:.2f} against ≥ {self.target:.2f}, "
                    f"{self.ratio / self.target:.0%} of the target")
        return f"missed: {self.ratio:.2f} against ≤ {self.target:.2f}"

    def print(self, *, as_json: bool = False, extra_lines: Iterable[str] = ()) -> None:
        """What a benchmark prints: its lines, the target, ``ratio:``, then JSON if asked."""
        for line in [*self.lines, *extra_lines]:
            print(line)
        if self.target is not None:
            print(f"target: ratio {_target(self)}: {self.shortfall() or 'met'}")
        print(f"ratio: {self.ratio:.2f}")
        if as_json:
            print(json.dumps(self.as_json(), ensure_ascii=False))

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Result:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in names})


# --- taking turns -----------------------------------------------------------


def alternate(sides: Mapping[str, Callable[[], float]], *, turns: int) -> dict[str, list[float]]:
    """Seconds of each turn for each side: every side does one unit of work per turn.

    Each callable does one unit (one case, or the floor's transactions for
    one case) and returns its seconds; the order rotates from turn to turn.
    A neighbour's burst of disk writes then falls on neighbouring units of
    every side alike, and a median of per-turn ratios shrugs it off.
    """
    names = list(sides)
    seconds: dict[str, list[float]] = {name: [] for name in names}
    for turn in range(turns):
        shift = turn % len(names)
        for name in names[shift:] + names[:shift]:
            seconds[name].append(sides[name]())
    return seconds


# --- the machine ------------------------------------------------------------


def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return platform.processor() or "unknown"
    for line in text.splitlines():
        if line.lower().startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _memory() -> str:
    try:
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return "unknown"


def _filesystem(path: Path) -> str:
    """The filesystem type holding ``path`` (what fsync costs depends on it)."""
    try:
        done = subprocess.run(["df", "--output=fstype", str(path)], capture_output=True,
                              text=True, check=False, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    rows = done.stdout.split()
    return rows[-1] if len(rows) > 1 else "unknown"


def _version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def describe_machine(work_dir: Path) -> dict[str, str]:
    """CPU model, cores, memory, OS, Python, library versions, sqlite, the disk's filesystem."""
    import sqlite3

    described = {
        "CPU": _cpu_model(),
        "cores": str(os.cpu_count() or "unknown"),
        "memory": _memory(),
        "OS": f"{platform.system()} {platform.release()}",
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "SQLite": sqlite3.sqlite_version,
        "filesystem of the databases": f"{_filesystem(work_dir)} ({work_dir.parent})",
    }
    for name in LIBRARIES:
        described[name] = _version(name)
    try:
        load = os.getloadavg()
        described["load average at start"] = " ".join(f"{x:.2f}" for x in load)
    except OSError:
        pass
    return described


# --- profiles ---------------------------------------------------------------


def _package(filename: str) -> str:
    """Where a profiled function lives, in a word: ``counter.engine``, ``sqlalchemy``, ..."""
    if filename.startswith("~") or filename.startswith("<"):
        return "built-in (C)"
    parts = Path(filename).parts
    if "site-packages" in parts:
        rest = parts[parts.index("site-packages") + 1:]
        return rest[0].removesuffix(".py") if rest else "site-packages"
    if "counter" in parts:
        rest = parts[parts.index("counter"):]
        return ".".join(p.removesuffix(".py") for p in rest[:2])
    if "bench" in parts:
        return "bench"
    return "python stdlib"


def _c_function(function: str) -> str:
    """``<method 'commit' of 'sqlite3.Connection' objects>`` as ``C: sqlite3.Connection.commit``."""
    found = re.match(r"<method '([^']+)' of '([^']+)' objects>", function)
    if found:
        return f"C: {found.group(2)}.{found.group(1)}"
    return "C: " + function.strip("{}<>").removeprefix("built-in method ")


_DISK_WAIT = "<method 'commit' of 'sqlite3.Connection' objects>"


def summarise_profile(stats: pstats.Stats, *, top: int = 12) -> dict[str, Any]:
    """Where the time went, as plain data.

    The durable commit (waiting for the disk) is counted apart; the shares
    per package and the top functions are of the rest, the CPU work that
    code can change. ``ours`` lists counter's own functions by cumulative
    time, as a share of everything profiled.
    """
    raw: Mapping[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in raw.values()) or 1e-12
    disk = sum(entry[2] for key, entry in raw.items() if key[2] == _DISK_WAIT)
    work = max(total - disk, 1e-12)
    by_package: dict[str, float] = {}
    rows = []
    ours = []
    for (filename, line, function), (_cc, calls, tottime, cumtime, _callers) in raw.items():
        if function == _DISK_WAIT:
            continue
        package = _package(filename)
        if package == "built-in (C)":
            package = _c_function(function)
        by_package[package] = by_package.get(package, 0.0) + tottime
        where = f"{Path(filename).name}:{line}" if not filename.startswith("~") else ""
        name = f"{function} {where}".strip()
        rows.append((tottime, calls, name))
        if package.startswith("counter."):
            ours.append((cumtime, calls, name))
    rows.sort(reverse=True)
    ours.sort(reverse=True)
    packages = sorted(by_package.items(), key=lambda kv: kv[1], reverse=True)
    return {
        "total_seconds": total,
        "disk_share": disk / total,
        "by_package": [[name, seconds / work] for name, seconds in packages[:top]],
        "top_functions": [
            {"function": name, "calls": calls, "share": tottime / work}
            for tottime, calls, name in rows[:top]
        ],
        "ours": [
            {"function": name, "calls": calls, "share": cumtime / total}
            for cumtime, calls, name in ours[:top]
        ],
    }


def profile(work: Callable[[], object], *, top: int = 12) -> dict[str, Any]:
    """Run ``work`` under cProfile and summarise it."""
    profiler = cProfile.Profile()
    profiler.runcall(work)
    return summarise_profile(pstats.Stats(profiler), top=top)


def profile_text(summary: Mapping[str, Any], *, who: str = "our side") -> list[str]:
    """The summary as Markdown: the disk's share, then CPU work by package and function."""
    lines = [
        f"Profile of {who} (cProfile, {summary['total_seconds']:.1f} s profiled"
        + (f"; {summary['note']}" if summary.get("note") else "")
        + f"): {summary['disk_share']:.0%} waiting for durable commits, the rest is CPU work:",
        "",
        "| where (CPU work) | share |",
        "| --- | ---: |",
        *(f"| {name} | {share:.0%} |" for name, share in summary["by_package"]),
        "",
        "| function (own time) | calls | share of CPU work |",
        "| --- | ---: | ---: |",
        *(f"| `{row['function']}` | {row['calls']:,} | {row['share']:.0%} |"
          for row in summary["top_functions"]),
    ]
    if summary.get("ours"):
        lines += [
            "",
            "| counter function (cumulative, disk included) | calls | share of all |",
            "| --- | ---: | ---: |",
            *(f"| `{row['function']}` | {row['calls']:,} | {row['share']:.0%} |"
              for row in summary["ours"]),
        ]
    return lines


# --- the page and the chart -------------------------------------------------


def _number(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _target(result: Result) -> str:
    if result.target is None:
        return "—"
    return f"{'≥' if result.higher_is_better else '≤'} {result.target:.2f}"


def _met(result: Result) -> str:
    met = result.met
    return "—" if met is None else ("yes" if met else "**no**")


def _note(notes_dir: Path, name: str) -> list[str]:
    """``notes_dir/<name>.md`` as lines of the page, under a line saying where they come from."""
    note = notes_dir / f"{name}.md"
    if not note.is_file():
        return []
    text = note.read_text(encoding="utf-8").strip()
    if not text:
        return []
    return [f"*Notes written by hand, from `bench/notes/{note.name}`; a figure in them is a "
            "dated measurement, not this run's:*", "", *text.splitlines(), ""]


def write_page(
    path: Path,
    *,
    results: Sequence[Result],
    failures: Mapping[str, str],
    machine: Mapping[str, str],
    commands: Iterable[str],
    runs: int,
    chart: str,
    started: datetime,
    seconds: float,
    notes: Mapping[str, Sequence[str]] | None = None,
    notes_dir: Path = NOTES_DIR,
) -> None:
    """``docs/benchmarks.md`` from one run of ``python -m bench``.

    ``notes`` are lines a benchmark printed about what limits it (this run's);
    the notes written by hand come from ``notes_dir`` (see the module docstring).
    """
    notes = notes or {}
    out = [
        "# Benchmarks",
        "",
        "<!-- Generated by `make bench` (`python -m bench`); edits are overwritten: write "
        "notes in bench/notes/<benchmark>.md. -->",
        "",
        f"Run on {started.astimezone(UTC):%Y-%m-%d %H:%M} UTC in {seconds / 60:.1f} minutes. "
        f"Each benchmark ran up to {runs} times (its section says where fewer), each time "
        "in a fresh process; the page shows the median run. Each figure is printed beside "
        "its floor, measured in the same process and taking turns with it, so that a "
        "neighbour's burst of disk writes hits both. These machines are shared and noisy: "
        "the ratio is the headline, the bare figures are not comparable between machines.",
        "",
        "Generated by `make bench`. The notes that close some sections are written by hand in "
        "`bench/notes/` and included as they are; where they cite a figure, it is a "
        "measurement they date, not one of this run.",
        "",
        f"![Each figure against its floor]({chart})",
        "",
        "| benchmark | figure | floor | ratio | target | met? |",
        "| --- | ---: | ---: | ---: | ---: | :---: |",
    ]
    for r in results:
        out.append(
            f"| {r.title} | {_number(r.figure)} {r.units} ({r.figure_label}) | "
            f"{_number(r.floor)} {r.units} ({r.floor_label}) | {r.ratio:.2f} | {_target(r)} | "
            f"{_met(r)} |"
        )
    for name in failures:
        out.append(f"| {name} | did not run | | | | **no** |")
    out.append("")
    missed = [r for r in results if r.met is False]
    targeted = [r for r in results if r.met is not None]
    out.append(f"Targets met: {len(targeted) - len(missed)} of {len(targeted)} that ran"
               + (f"; {len(failures)} benchmark(s) did not run (below)" if failures else "")
               + ".")
    out += [f"Missed: {r.title}, {r.shortfall()}; its section says what limits it."
            for r in missed]
    out.append("")
    table = targets_table(results)
    if table:
        out += [*table, *_note(notes_dir, PAGE_NOTE)]
    for r in results:
        out += [f"## {r.title}", "", f"    {r.command}", ""]
        if r.extra.get("about"):
            out += [*r.extra["about"], ""]
        out += [f"- {line}" for line in r.lines]
        if r.lines:
            out.append("")
        if r.shortfall():
            out += [f"**Target {r.shortfall()}.**", ""]
        out += list(notes.get(r.name, ()))
        if notes.get(r.name):
            out.append("")
        if r.profile is not None:
            out += [*profile_text(r.profile), ""]
        if r.extra.get("peer_profile"):
            out += [*profile_text(r.extra["peer_profile"], who="the peer, for comparison"), ""]
        if r.extra.get("server_profile"):
            out += [*server_profile_markdown(r.extra["server_profile"]), ""]
        out += _note(notes_dir, r.name)
    for name, why in failures.items():
        out += [f"## {name}: did not run", "", "```", why.strip()[-3000:], "```", ""]
    out += ["## Machine", "", "| | |", "| --- | --- |"]
    out += [f"| {k} | {v} |" for k, v in machine.items()]
    out += ["", "## Commands", "", "`make bench` runs `python -m bench`, which runs, "
            f"up to {runs} times each, in fresh processes:", "", "```"]
    out += list(commands)
    out += ["```", ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(out), encoding="utf-8")


def write_chart(path: Path, results: Sequence[Result]) -> None:
    """One panel per benchmark: the figure beside its floor, the ratio and target in the title."""
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "counter-bench"  # stable ids: small diffs in git
    import matplotlib.pyplot as plt

    shown = list(results)
    columns = max(1, len(shown))
    figure, axes = plt.subplots(1, columns, figsize=(3.2 * columns, 3.6), squeeze=False)
    for ax, r in zip(axes[0], shown, strict=False):
        bars = ax.bar(
            [r.figure_label, r.floor_label],
            [r.figure, r.floor],
            color=["#2a6f97" if r.met in (True, None) else "#c0392b", "#9aa5ab"],
        )
        ax.bar_label(bars, labels=[_number(r.figure), _number(r.floor)], fontsize=8)
        title = "\n".join(textwrap.wrap(r.title, 34)) + f"\nratio {r.ratio:.2f}"
        if r.target is not None:
            title += f" (target {_target(r)})"
            needed = r.target * r.floor
            ax.axhline(needed, color="#555555", linestyle="--", linewidth=0.8)
            ax.annotate("target", (1.45, needed), fontsize=7, color="#555555",
                        ha="right", va="bottom")
        ax.set_title(title, fontsize=9)
        ax.set_ylabel(r.units, fontsize=8)
        ax.tick_params(axis="x", labelsize=7, rotation=10)
        ax.tick_params(axis="y", labelsize=7)
        ax.margins(y=0.15)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format=path.suffix.lstrip(".") or "svg", metadata={"Date": None})
    plt.close(figure)


def python_command(module: str, args: Sequence[str]) -> str:
    """The command line a reader types to repeat one benchmark."""
    return " ".join([".venv/bin/python", "-m", module, *args])


def running_python() -> str:
    return sys.executable
