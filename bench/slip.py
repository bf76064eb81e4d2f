"""Slip rendering against a one-line page with the same font, measured in the same run.

    python -m bench.slip [--renders N] [--memory-renders M]

Renders the flagship slip (``pos_unbind`` sample: two A5 pages, customer and
bank copies) warm N times with one long-lived ``SlipRenderer``, alternating
with a bare one-line A5 page in the same font, through the same WeasyPrint
options and font configuration (the floor), so that a noisy neighbour slows
both alike. Prints the median of each and ``ratio: slip / floor`` (target,
issue 20: 4 or less), the first render in a fresh process (imports and font discovery
included), and the resident memory after 50 and after M renders (default
500), which must not grow beyond noise when the font configuration is shared.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from counter.slips import PDF_OPTIONS, SlipRenderer
from counter.slips.sample import SAMPLE_SLIP, sample_context

ROOT = Path(__file__).resolve().parent.parent
FLOOR_HTML = "<p>示例银行 Example Bank</p>"
FLOOR_CSS = (
    "@page { size: A5 portrait; margin: 9mm 11mm; }\n"
    'html { font-family: "WenQuanYi Micro Hei", "Noto Sans CJK SC", "Noto Sans SC", sans-serif; }'
)
MEMORY_CHECKPOINT = 50
TARGET = 4.0  # slip / floor, at most (issue 20)

_FRESH_PROCESS = """
import time
started = time.perf_counter()
from counter.slips import SlipRenderer
from counter.slips.sample import SAMPLE_SLIP, sample_context
imported = time.perf_counter()
renderer = SlipRenderer()
context = sample_context()
ready = time.perf_counter()
renderer.render(SAMPLE_SLIP, context)
first = time.perf_counter()
renderer.render(SAMPLE_SLIP, context)
second = time.perf_counter()
print(imported - started, ready - imported, first - ready, second - first)
"""


def resident_mb() -> float:
    """Current resident set size (VmRSS), or the peak (ru_maxrss) where /proc is missing."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(render: Callable[[], bytes]) -> float:
    started = time.perf_counter()
    render()
    return time.perf_counter() - started


def fresh_process() -> tuple[float, float, float, float]:
    """Seconds for imports, renderer set-up, first render, second render in a new interpreter."""
    result = subprocess.run(
        [sys.executable, "-c", _FRESH_PROCESS],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        timeout=300,
    )
    imports, setup, first, second = (float(part) for part in result.stdout.split())
    return imports, setup, first, second


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.slip", description=__doc__)
    parser.add_argument("--renders", type=int, default=30, help="timed renders of each page")
    parser.add_argument("--memory-renders", type=int, default=500, help="renders before RSS")
    args = parser.parse_args(argv)

    from weasyprint import CSS, HTML

    renderer = SlipRenderer()
    context = sample_context()
    floor_css = [CSS(string=FLOOR_CSS, font_config=renderer.font_config)]

    def slip() -> bytes:
        return renderer.render(SAMPLE_SLIP, context)

    def floor() -> bytes:
        pdf: bytes = HTML(string=FLOOR_HTML).write_pdf(
            stylesheets=floor_css, font_config=renderer.font_config, **PDF_OPTIONS
        )
        return pdf

    sample = slip()
    rendered = 1
    for _ in range(3):  # warm: Jinja compiled, CSS parsed, font loaded, caches filled
        slip()
        floor()
        rendered += 1

    slip_times: list[float] = []
    floor_times: list[float] = []
    for _ in range(args.renders):
        slip_times.append(timed(slip))
        floor_times.append(timed(floor))
        rendered += 1
    slip_ms = statistics.median(slip_times) * 1000
    floor_ms = statistics.median(floor_times) * 1000
    ratio = slip_ms / floor_ms

    print(
        f"slip  ({SAMPLE_SLIP}, 2 A5 pages, {len(sample)} bytes): "
        f"median {slip_ms:.1f} ms, min {min(slip_times) * 1000:.1f} ms ({args.renders} warm)"
    )
    print(
        f"floor (one line, same font and options):  "
        f"median {floor_ms:.1f} ms, min {min(floor_times) * 1000:.1f} ms"
    )
    print(f"ratio: {ratio:.2f}  (target <= {TARGET:g}: {'met' if ratio <= TARGET else 'MISSED'})")

    imports, setup, first, second = fresh_process()
    print(
        f"fresh process: imports {imports * 1000:.0f} ms, renderer {setup * 1000:.0f} ms, "
        f"first render {first * 1000:.0f} ms, second {second * 1000:.0f} ms"
    )

    while rendered < MEMORY_CHECKPOINT:
        slip()
        rendered += 1
    at_checkpoint = resident_mb()
    while rendered < args.memory_renders:
        slip()
        rendered += 1
    at_end = resident_mb()
    print(
        f"memory (VmRSS): {at_checkpoint:.1f} MB after {MEMORY_CHECKPOINT} renders, "
        f"{at_end:.1f} MB after {rendered} ({at_end - at_checkpoint:+.1f} MB)"
    )


if __name__ == "__main__":
    main()
