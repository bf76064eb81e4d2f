"""Issue 14's targets for the HTTP server, and the page's table of them from one run.

The targets live here, once: ``bench.load`` and ``bench.pages`` judge their
own lines by them, and :func:`targets_table` puts them side by side from the
results of ``load`` (SQLite), ``load_pg`` (PostgreSQL) and ``pages``, for
whichever of them ran. A target no benchmark measures (the step answering
before the outbox is delivered) is a test's, and its row says which test.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.report import Result

__all__ = ["CPU_TARGET", "DRIVER_SHARE_TARGET", "P99_TARGET_MS", "PAGE_TARGET_MS",
           "PAGE_TARGET_RATIO", "SATURATION_TARGET", "STEPS_RATIO_TARGET", "WRITES_TARGET",
           "slowest_trigger", "targets_table"]

P99_TARGET_MS = 50.0  # every trigger's p99 in the realistic mode
CPU_TARGET = 10.0  # server CPU per case (slip excluded) within 10 x the in-process engine's
WRITES_TARGET = 8.0  # write transactions per flagship case
SATURATION_TARGET = 15.0  # complete cases/s at saturation, the slip rendered on the machine
STEPS_RATIO_TARGET = 0.5  # saturation case steps/s against the floor's commits/s
DRIVER_SHARE_TARGET = 0.25  # the load driver's share of the machine's cores
PAGE_TARGET_MS = 30.0  # every console page's p50
PAGE_TARGET_RATIO = 3.0  # and within 3 x the bare page's
PHASES = ("saturation", "realistic")
NOT_RUN = "did not run"


def slowest_trigger(latency_ms: Mapping[str, Mapping[str, float]]) -> tuple[str, float]:
    """The trigger (or approval) with the highest p99 in a phase, by its short name."""
    triggers = {label.rsplit("/", 1)[-1]: row["p99"] for label, row in latency_ms.items()
                if "/triggers/" in label or label.endswith("/approve")}
    if not triggers:
        return "", float("nan")
    name = max(triggers, key=lambda t: triggers[t])
    return name, triggers[name]


# Each measure reads one load result: (its cell, whether it met the target or None).
Measure = Callable[["Result"], tuple[str, bool | None]]


def _phases(result: Result, cell: Callable[[Mapping[str, Any]], tuple[str, bool]],
            ) -> tuple[str, bool | None]:
    """A cell with the figure of each phase that ran, met when every one is."""
    seen = [(name, cell(result.extra[name])) for name in PHASES if result.extra.get(name)]
    if not seen:
        return "—", None
    text = ", ".join(f"{said} ({name})" for name, (said, _) in seen)
    return text, all(met for _, (_, met) in seen)


def _p99(result: Result) -> tuple[str, bool | None]:
    realistic = result.extra.get("realistic")
    if not realistic:
        return "— (no realistic phase)", None
    name, slowest = slowest_trigger(realistic.get("latency_ms", {}))
    overall = realistic["trigger_p99_ms"]
    return (f"{overall:.0f} ms over all triggers; slowest `{name}` {slowest:.0f} ms",
            max(overall, slowest) <= P99_TARGET_MS)


def _others(result: Result) -> tuple[str, bool | None]:
    others = sum(result.extra.get("unexpected_errors", {}).values())
    failures = len(result.extra.get("unexpected", []))
    return (f"{others} other" + (f", {failures} failed requests" if failures else ""),
            others == 0 and failures == 0)


def _cpu(result: Result) -> tuple[str, bool | None]:
    engine = result.extra.get("engine")
    if not engine:
        return "— (no in-process engine)", None

    def cell(phase: Mapping[str, Any]) -> tuple[str, bool]:
        ratio = (phase["server_cpu_ms_per_case"] - engine["slip_cpu_ms"]) / engine["cpu_ms"]
        return f"{ratio:.1f} ×", ratio <= CPU_TARGET
    return _phases(result, cell)


def _writes(result: Result) -> tuple[str, bool | None]:
    return _phases(result, lambda p: (f"{p['writes_per_case']:.1f}",
                                      p["writes_per_case"] <= WRITES_TARGET))


def _saturation(result: Result) -> tuple[str, bool | None]:
    saturation = result.extra.get("saturation")
    if not saturation:
        return "— (no saturation phase)", None
    rate = saturation["cases_per_second"]
    return f"{rate:.2f} cases/s", rate >= SATURATION_TARGET


def _steps(result: Result) -> tuple[str, bool | None]:
    return f"{result.ratio:.2f}", result.ratio >= STEPS_RATIO_TARGET


def _driver(result: Result) -> tuple[str, bool | None]:
    return _phases(result, lambda p: (f"{p['driver_share_of_machine']:.0%}",
                                      p["driver_share_of_machine"] <= DRIVER_SHARE_TARGET))


LOAD_ROWS: tuple[tuple[str, Measure], ...] = (
    (f"realistic mode (tellers thinking 1–3 s a step): every trigger's p99 ≤ "
     f"{P99_TARGET_MS:.0f} ms", _p99),
    ("nothing non-2xx but the deliberate races", _others),
    (f"server CPU per complete case, slip excluded, ≤ {CPU_TARGET:.0f} × the in-process "
     "engine's", _cpu),
    (f"write transactions per flagship case ≤ {WRITES_TARGET:.0f}", _writes),
    (f"saturation ≥ {SATURATION_TARGET:.0f} complete cases/s with the slip rendered on the same "
     "machine", _saturation),
    (f"case steps/s ≥ {STEPS_RATIO_TARGET} of the floor (one commit a request)", _steps),
    (f"the load driver takes at most {DRIVER_SHARE_TARGET:.0%} of the machine", _driver),
)


def _met(verdicts: Sequence[bool | None]) -> str:
    measured = [v for v in verdicts if v is not None]
    if not measured:
        return "—"
    return "yes" if all(measured) else "**no**"


def _pages(pages: Result | None) -> tuple[str, str, str]:
    """The console pages' row: they run on SQLite only."""
    if pages is None:
        return NOT_RUN, "—", "—"
    slowest = max(pages.extra.get("pages", {}).items(), key=lambda kv: kv[1]["p50"],
                  default=("", {"p50": pages.figure}))
    met = pages.figure <= PAGE_TARGET_MS and pages.ratio <= PAGE_TARGET_RATIO
    return (f"at most {pages.figure:.1f} ms, {pages.ratio:.2f} × (`{slowest[0]}`)", "—",
            "yes" if met else "**no**")


def targets_table(results: Sequence[Result]) -> list[str]:
    """The page's table of issue 14's targets; empty when none of its benchmarks ran."""
    by_name = {r.name: r for r in results}
    sqlite, postgres, pages = by_name.get("load"), by_name.get("load_pg"), by_name.get("pages")
    if sqlite is None and postgres is None and pages is None:
        return []
    out = [
        "### Issue 14's targets",
        "",
        "From this run's `load` (SQLite), `load_pg` (PostgreSQL) and `pages` results; their "
        "sections below give the figures behind each cell.",
        "",
        "| target | SQLite | PostgreSQL | met? |",
        "| --- | ---: | ---: | :---: |",
    ]
    for target, measure in LOAD_ROWS:
        cells = [measure(r) if r is not None else (NOT_RUN, None) for r in (sqlite, postgres)]
        out.append(f"| {target} | {cells[0][0]} | {cells[1][0]} | "
                   f"{_met([met for _, met in cells])} |")
    out.append("| the teller's step answers before the outbox is delivered | not measured: "
               "`tests/reliability/test_worker.py` checks it | | by test |")
    page_cell, page_pg, page_met = _pages(pages)
    out.append(f"| console page p50 ≤ {PAGE_TARGET_MS:.0f} ms and ≤ {PAGE_TARGET_RATIO:.0f} × "
               f"the bare page | {page_cell} | {page_pg} | {page_met} |")
    return [*out, ""]
