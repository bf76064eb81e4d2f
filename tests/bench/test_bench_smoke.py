"""The benchmarks run and print their ratio: a smoke test with tiny sizes, never a timing.

Each runs as ``make bench`` runs it, in a fresh ``python -m bench...``
process from the repository root; nothing here asserts a figure.
(No ``__init__.py`` in this directory on purpose: a ``tests/bench``
package would shadow the real ``bench`` package for the test process.)
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RATIO = re.compile(r"^ratio: [0-9]+\.[0-9]{2}", re.MULTILINE)


def run(*args: str, timeout: float = 180) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "error"}
    done = subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=timeout, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_spiff_comparison_completes_both_sides_and_prints_its_ratio(tmp_path: Path) -> None:
    out = run("bench.spiff", "--cases", "2", "--dir", str(tmp_path), "--json")
    assert RATIO.search(out)
    result = json.loads(out.splitlines()[-1])
    assert result["name"] == "spiff" and result["target"] == 2.0
    assert set(result["extra"]["figures"]) == {
        "counter", "whole", "spec_apart", "resident", "floor"
    }
    assert all(rate > 0 for rate in result["extra"]["figures"].values())


def test_spiff_profile_covers_our_side_and_the_peer(tmp_path: Path) -> None:
    out = run("bench.spiff", "--cases", "2", "--dir", str(tmp_path),
              "--profile", "--json")
    result = json.loads(out.splitlines()[-1])
    ours = {name for name, _share in result["profile"]["by_package"]}
    theirs = {name for name, _share in result["extra"]["peer_profile"]["by_package"]}
    assert "counter.engine" in ours and "SpiffWorkflow" not in ours
    assert "SpiffWorkflow" in theirs


def test_engine_ends_with_its_ratio_and_splits_cpu_from_commit(tmp_path: Path) -> None:
    out = run("bench.engine", "--cases", "4", "--dir", str(tmp_path))
    assert RATIO.match(out.strip().splitlines()[-1])
    assert re.search(r"^limits: one trigger takes [0-9]+ us: [0-9]+ us of CPU work", out,
                     re.MULTILINE)
    pages = re.search(r"our commit writes ([0-9.]+) pages", out)
    assert pages is not None and float(pages.group(1)) >= 2


def test_growth_fills_each_size_and_prints_its_slope(tmp_path: Path) -> None:
    out = run("bench.growth", "--sizes", "10,100", "--cases", "2",
              "--dir", str(tmp_path), "--json")
    assert RATIO.search(out)
    assert re.search(r"^slope: [+-][0-9.]+%", out, re.MULTILINE)
    result = json.loads(out.splitlines()[-1])
    assert result["extra"]["sizes"] == [10, 100]
    assert "none scans a whole table" in out or result["extra"]["full_scans"]


@pytest.mark.slow
def test_make_bench_writes_the_page_and_chart_from_a_run(tmp_path: Path) -> None:
    present = [name for name in ("engine", "spiff", "growth", "slip")
               if (ROOT / "bench" / f"{name}.py").exists()]
    out = run("bench", "--quick", "--runs", "1", "--only", ",".join(present),
              "--out", str(tmp_path), timeout=600)
    page = (tmp_path / "benchmarks.md").read_text(encoding="utf-8")
    assert (tmp_path / "images" / "benchmarks.svg").read_text(encoding="utf-8").lstrip(
    ).startswith("<?xml")
    assert "did not run" not in page, page
    for name in present:
        assert re.search(rf"^{name} run 1/1: ratio [0-9.]+", out, re.MULTILINE), out
    assert "## Machine" in page and "| CPU |" in page and "## Commands" in page


@pytest.mark.slow
def test_chaos_runs_tellers_through_faults_and_finds_exactly_once_held() -> None:
    out = run("bench.chaos", "--tellers", "2", "--duration", "6", "--outage", "2",
              "--kills", "1", "--drain", "30", "--json", timeout=240)
    assert RATIO.search(out)
    assert "exactly once: held" in out
    result = json.loads(out.splitlines()[-1])
    assert result["name"] == "chaos" and result["floor"] >= 1


def test_pages_walks_the_clean_case_and_times_every_console_page(tmp_path: Path) -> None:
    out = run("bench.pages", "--rounds", "1", "--dir", str(tmp_path), "--json")
    assert RATIO.search(out)
    result = json.loads(out.splitlines()[-1])
    assert result["name"] == "pages" and result["target"] == 3.0
    pages = result["extra"]["pages"]
    assert {"GET home", "GET case (identity)", "GET case (completed)", "GET slip page"} <= set(
        pages)
    assert result["extra"]["bare"]["p50"] > 0
