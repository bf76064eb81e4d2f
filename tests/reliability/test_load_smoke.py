"""The load driver runs end to end with a tiny load: a functional check, never a timing.

It is run as ``make bench`` runs it (``python -m bench.load`` in a fresh
process from the repository root), with 3 tellers for 3 seconds: it must
start its server, complete cases (agent cases approved by a supervisor,
one race on purpose) at saturation and with tellers thinking between
steps, measure the floor and the in-process engine, print its ratio and
see no answer it did not expect.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_a_tiny_load_completes_cases_with_no_unexpected_answer(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COUNTER_")}
    env.update({"PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "error"})
    done = subprocess.run(
        [sys.executable, "-m", "bench.load", "--tellers", "3", "--duration", "3",
         "--realistic-duration", "3",
         "--agent-every", "2", "--race-share", "0.5", "--dir", str(tmp_path), "--json"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240, check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "\nratio: " in done.stdout
    result = json.loads(done.stdout.splitlines()[-1])
    extra = result["extra"]
    assert extra["unexpected"] == [] and extra["unexpected_errors"] == {}, extra
    assert extra["completed"] >= 1, done.stdout
    assert extra["completed"] == extra["opened"], done.stdout
    assert extra["agent_cases"] >= 1 and extra["approvals"] == extra["agent_cases"]
    assert result["floor"] > 0 and result["figure"] > 0
    assert {"POST /api/bench/floor", "POST /api/cases/{ref}/triggers/sign_off"} <= set(
        extra["latency_ms"])
    for mode in ("saturation", "realistic"):  # the costs per case, beside the engine's
        assert extra[mode]["completed"] >= 1 and extra[mode]["unexpected_errors"] == {}
        assert extra[mode]["server_cpu_ms_per_case"] > 0 and extra[mode]["writes_per_case"] > 0
    assert extra["engine"]["cpu_ms"] > 0 and extra["engine"]["writes"] > 0
