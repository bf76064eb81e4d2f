"""scripts/postgres-test.sh prints the test database URL and nothing else on stdout.

The PostgreSQL tools it drives are replaced by fakes on PATH so that the test
can play a cluster that is down and starts with a notice, as a real
``pg_ctlcluster`` does after an unclean shutdown ("Removed stale pid file.").
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "postgres-test.sh"

FAKES = {
    # A cluster that is down until pg_ctlcluster has run.
    "pg_lsclusters": 'if [ -e "$FAKE_STATE/started" ]; then s=online; else s=down; fi\n'
    'echo "15 main 5433 $s postgres /x /x.log"',
    "pg_ctlcluster": 'echo "Removed stale pid file."\ntouch "$FAKE_STATE/started"',
    "psql": 'echo "psql notice"; echo 1',
    "su": 'echo "su notice"; echo 1',
}


@pytest.mark.skipif(
    not Path("/etc/postgresql").is_dir(), reason="the script looks for /etc/postgresql/*/main"
)
@pytest.mark.skipif(os.geteuid() != 0, reason="the script starts the cluster only as root")
def test_only_the_url_reaches_stdout_when_the_cluster_starts_noisily(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in FAKES.items():
        fake = bin_dir / name
        fake.write_text(f"#!/bin/sh\n{body}\n")
        fake.chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "FAKE_STATE": str(tmp_path),
        "CI": "true",
    }

    done = subprocess.run(
        [str(SCRIPT)], capture_output=True, text=True, env=env, check=False, timeout=60
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout == "postgresql+psycopg://counter:counter@127.0.0.1:5433/postgres\n"
    assert "Removed stale pid file." in done.stderr
