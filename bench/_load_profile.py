"""Where the load test's server spends its time: py-spy samples of each process, by where.

During a case phase of ``bench.load`` (``--server-profile``), one
``py-spy record --nonblocking`` samples each web process of each server and
each outbox worker, without pausing them, at ``--profile-rate`` Hz (100 by
default: a few per cent of one core for py-spy, and the profiled processes
are never stopped). The collapsed stacks are summarised into a share of
samples per *where*: each sample goes to the innermost frame that names a
known place (argon2's hashing, WeasyPrint, the database driver, JSON, Jinja,
SQLAlchemy, ``counter.engine``, ...), so SQLAlchemy called from
``counter.store`` counts as SQLAlchemy, and the standard library's helpers
(``copy``, ``logging``, threads) count for whoever called them.

py-spy samples Python frames only: time inside a C function is the frame
that called it, so a frame stopped on a line that calls the DB-API
(``cursor.execute``, ``commit()``, ...) counts as the driver, its waits for
the disk or the network included. py-spy leaves out the threads it sees
idle, but without pausing the process it misses many (a pool thread waiting
on its queue, the event loop polling): a sample whose innermost frame stands
on a waiting call (``sleep``, ``wait``, ``select``, a lock's ``acquire``,
``flock``, the loop's ``run_until_complete``) is counted apart as waiting
and left out of the shares, which are of the process's working time.

Nothing here stops a process it did not start: each py-spy ends at its
``--duration``, and one still running when the phase ends is terminated by
its own process id.
"""

from __future__ import annotations

import linecache
import os
import re
import resource
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["PhaseProfile", "find_py_spy", "markdown", "server_processes", "text", "where"]

RATE = 100  # Hz: cheap enough that the load's figures stay what they are without it
OTHER = "other (standard library, threads)"
WAITING = "waiting"  # left out of the shares
DRIVER = "database driver (sqlite3, psycopg; their waits)"
# The innermost frame in one of these packages (a directory of the frame's path) decides.
PLACES: tuple[tuple[str, frozenset[str]], ...] = (
    ("argon2 (password hashing)", frozenset({"argon2"})),
    ("WeasyPrint (the slip)", frozenset({"weasyprint", "pydyf", "tinyhtml5", "tinycss2",
                                         "cssselect2", "fontTools", "pyphen", "segno"})),
    (DRIVER, frozenset({"sqlite3", "psycopg", "psycopg_pool"})),
    ("JSON", frozenset({"json"})),
    ("Jinja (templates)", frozenset({"jinja2", "markupsafe"})),
    ("SQLAlchemy", frozenset({"sqlalchemy", "sqlmodel"})),
    ("pydantic", frozenset({"pydantic", "pydantic_core"})),
    ("transitions", frozenset({"transitions"})),
    ("Starlette, FastAPI", frozenset({"starlette", "fastapi", "anyio"})),
    ("uvicorn, asyncio (HTTP, the event loop)",
     frozenset({"uvicorn", "h11", "httptools", "asyncio", "uvloop", "selectors"})),
)
# A leaf frame on one of these calls is waiting in the C driver (py-spy sees no C frames).
_DRIVER_CALL = re.compile(r"\.(execute|executemany|executescript|commit|rollback|fetchall|"
                          r"fetchone|fetchmany)\(")
_WAIT_CALL = re.compile(r"(\bsleep|\.wait|\bselect|\.poll|\.acquire|\bflock|"
                        r"run_until_complete)\(")
_FRAME = re.compile(r"^(?P<function>.*) \((?P<path>.+):(?P<line>\d+)\)$")


@dataclass(frozen=True)
class Frame:
    """One frame of a collapsed py-spy stack: ``function (path:line)``."""

    function: str
    path: str
    line: int

    @classmethod
    def parse(cls, text: str) -> Frame | None:
        found = _FRAME.match(text)
        if found is None:
            return None
        return cls(found["function"], found["path"], int(found["line"]))


def _counter_part(parts: Sequence[str]) -> str | None:
    """``counter.engine`` for a frame of ``.../counter/engine/x.py``; None outside counter."""
    if "counter" not in parts or "site-packages" in parts:
        return None
    rest = parts[len(parts) - 1 - parts[::-1].index("counter"):]
    return "counter." + rest[1].removesuffix(".py") if len(rest) > 1 else None


def _place(frame: Frame) -> str | None:
    if frame.path.endswith((".html", ".jinja", ".txt")):  # a compiled template's own frame
        return "Jinja (templates)"
    parts = Path(frame.path).parts
    ours = _counter_part(parts)
    if ours is not None:
        return ours
    folders = set(parts[:-1])
    for label, packages in PLACES:
        if folders & packages:
            return label
    return None


def where(frames: Sequence[Frame]) -> str:
    """The place a sample counts for: see the module docstring (``frames`` root first)."""
    if frames:
        leaf = frames[-1]
        line = linecache.getline(leaf.path, leaf.line)
        if _WAIT_CALL.search(line):
            return WAITING
        if _DRIVER_CALL.search(line):
            return DRIVER
    for frame in reversed(frames):
        place = _place(frame)
        if place is not None:
            return place
    return OTHER


def read_samples(path: Path) -> dict[str, int]:
    """Samples per place in one ``py-spy record --format raw`` file."""
    counts: dict[str, int] = {}
    for row in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, number = row.rpartition(" ")
        if not stack or not number.isdigit():
            continue
        frames = [f for f in (Frame.parse(part) for part in stack.split(";")) if f is not None]
        place = where(frames)
        counts[place] = counts.get(place, 0) + int(number)
    return counts


def find_py_spy() -> str | None:
    """py-spy beside this interpreter (a virtualenv not on PATH), else on PATH."""
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


def _group(pgrp: int) -> list[tuple[int, list[bytes]]]:
    """(pid, argv) of the live processes of process group ``pgrp``."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
            argv = (stat.parent / "cmdline").read_bytes().split(b"\0")
        except OSError:  # the process ended meanwhile
            continue
        if int(text[text.rindex(")") + 2:].split()[2]) == pgrp:
            found.append((int(stat.parent.name), argv))
    return found


def server_processes(server_pids: Iterable[int]) -> dict[int, str]:
    """The processes of ``counter serve`` PIDs worth sampling: pid -> ``web`` or ``worker``.

    uvicorn's web processes are its spawned children; with one web process
    uvicorn serves in ``counter serve`` itself. The outbox worker is
    ``counter worker --parent PID``; uvicorn's supervisor and multiprocessing's
    resource tracker do no request's work and are left out.
    """
    kinds: dict[int, str] = {}
    for server in server_pids:
        web = []
        for pid, argv in _group(server):
            if b"worker" in argv and b"--parent" in argv:
                kinds[pid] = "worker"
            elif pid != server and any(b"spawn_main" in a for a in argv) and not any(
                    b"resource_tracker" in a for a in argv):
                web.append(pid)
        for pid in web or [server]:
            kinds[pid] = "web"
    return kinds


@dataclass
class PhaseProfile:
    """py-spy on every process of ``kinds`` for ``seconds`` from :meth:`start`."""

    phase: str
    kinds: Mapping[int, str]
    seconds: int
    work_dir: Path
    rate: int = RATE
    py_spy: str | None = field(default_factory=find_py_spy)
    _running: list[tuple[int, Path, subprocess.Popen[bytes]]] = field(default_factory=list)
    _children_cpu: float = 0.0  # CPU seconds of this process's reaped children at start

    @staticmethod
    def _reaped_cpu() -> float:
        used = resource.getrusage(resource.RUSAGE_CHILDREN)
        return used.ru_utime + used.ru_stime

    def start(self) -> str | None:
        """Start sampling; a reason (and nothing started) when it cannot."""
        if self.py_spy is None:
            return "py-spy is not installed (`pip install py-spy`: it is in the bench extras)"
        if not self.kinds:
            return "no server process found to sample"
        self._children_cpu = self._reaped_cpu()
        for pid in self.kinds:
            output = self.work_dir / f"py-spy-{self.phase}-{pid}.txt"
            command = [self.py_spy, "record", "--pid", str(pid), "--duration",
                       str(self.seconds), "--rate", str(self.rate), "--format", "raw",
                       "--nonblocking", "--full-filenames", "-o", str(output)]
            self._running.append((pid, output, subprocess.Popen(
                command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)))
        return None

    def finish(self) -> dict[str, Any]:
        """Wait for every py-spy; samples and shares per process kind, or why there are none."""
        samples: dict[str, dict[str, int]] = {}
        failed = []
        for pid, output, process in self._running:
            try:
                _, stderr = process.communicate(timeout=self.seconds + 30)
            except subprocess.TimeoutExpired:
                process.terminate()
                _, stderr = process.communicate(timeout=10)
            if process.returncode != 0 or not output.exists():
                said = stderr.decode(errors="replace").strip().splitlines()
                failed.append(f"pid {pid}: py-spy exited {process.returncode}"
                              + (f": {said[0]}" if said else ""))
                continue
            into = samples.setdefault(self.kinds[pid], {})
            for place, count in read_samples(output).items():
                into[place] = into.get(place, 0) + count
        self._running.clear()
        # Only the py-spy processes end during a phase: their own CPU, what the profile cost.
        cost = (self._reaped_cpu() - self._children_cpu) / (self.seconds * (os.cpu_count() or 1))
        kinds = {}
        for kind, counts in sorted(samples.items(), key=lambda kv: kv[0] != "web"):
            waiting = counts.pop(WAITING, 0)
            working = sum(counts.values())
            kinds[kind] = {"samples": working, "waiting": waiting,
                           "shares": {p: n / max(1, working) for p, n in counts.items()}}
        return {"seconds": self.seconds, "rate": self.rate, "kinds": kinds, "failed": failed,
                "py_spy_share": cost}


def _columns(profile: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    return [(f"{phase} {kind}", measured)
            for phase, seen in profile.get("phases", {}).items()
            for kind, measured in seen["kinds"].items()]


def _rows(columns: Sequence[tuple[str, Mapping[str, Any]]], *, least: float = 0.01
          ) -> list[tuple[str, list[float]]]:
    """Places by their largest share; those under ``least`` everywhere go into ``other``."""
    places: dict[str, list[float]] = {}
    for index, (_, measured) in enumerate(columns):
        for place, share in measured["shares"].items():
            places.setdefault(place, [0.0] * len(columns))[index] = share
    kept = sorted(((p, s) for p, s in places.items() if max(s) >= least and p != OTHER),
                  key=lambda row: -max(row[1]))
    names = {p for p, _ in kept}
    rest = [sum(s[i] for p, s in places.items() if p not in names) for i in range(len(columns))]
    return [*kept, (OTHER, rest)] if any(rest) else kept


def _heading(profile: Mapping[str, Any]) -> str:
    phases = profile.get("phases", {})
    return ("py-spy of the server over "
            + ", ".join(f"the first {seen['seconds']} s of the {phase} phase"
                        for phase, seen in phases.items())
            + f", {profile.get('rate', RATE)} Hz, --nonblocking (py-spy itself: "
            + ", ".join(f"{seen.get('py_spy_share', float('nan')):.1%}"
                        for seen in phases.values())
            + " of the machine); share of each process kind's working samples (all its "
            "processes together; waiting ones left out):")


def _problems(profile: Mapping[str, Any]) -> list[str]:
    said = [f"{phase}: {problem}" for phase, seen in profile.get("phases", {}).items()
            for problem in seen.get("failed", [])]
    if profile.get("skipped"):
        said.insert(0, f"server profile skipped: {profile['skipped']}")
    return said


def text(profile: Mapping[str, Any]) -> list[str]:
    """The summary for the terminal: a fixed-width table, then anything that failed."""
    columns = _columns(profile)
    if not columns:
        return _problems(profile)
    width = max(len(p) for p, _ in _rows(columns)) + 1
    lines = [_heading(profile),
             f"{'where':<{width}}" + "".join(f"{name:>22}" for name, _ in columns),
             f"{'(samples)':<{width}}" + "".join(f"{m['samples']:>22,}" for _, m in columns),
             f"{'(waiting, left out)':<{width}}"
             + "".join(f"{m.get('waiting', 0):>22,}" for _, m in columns)]
    lines += [f"{place:<{width}}" + "".join(f"{share:>22.0%}" for share in shares)
              for place, shares in _rows(columns)]
    return lines + _problems(profile)


def markdown(profile: Mapping[str, Any]) -> list[str]:
    """The same summary for the page: one Markdown table, a column per phase and kind."""
    columns = _columns(profile)
    if not columns:
        return [f"*{line}*" for line in _problems(profile)]
    lines = [_heading(profile), "",
             "| where | " + " | ".join(name for name, _ in columns) + " |",
             "| --- |" + " ---: |" * len(columns),
             "| (samples) | " + " | ".join(f"{m['samples']:,}" for _, m in columns) + " |",
             "| (waiting, left out) | "
             + " | ".join(f"{m.get('waiting', 0):,}" for _, m in columns) + " |"]
    lines += [f"| {place} | " + " | ".join(f"{share:.0%}" for share in shares) + " |"
              for place, shares in _rows(columns)]
    problems = _problems(profile)
    return lines + (["", *problems] if problems else [])
