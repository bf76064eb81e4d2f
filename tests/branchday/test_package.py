"""``counter.branchday``'s public API is exactly ``__all__``; it needs neither web nor CLI."""

from __future__ import annotations

import inspect
import subprocess
import sys

import counter.branchday as branchday


def test_all_is_exactly_the_public_names() -> None:
    public = {
        name
        for name, value in vars(branchday).items()
        if not name.startswith("_") and not inspect.ismodule(value) and name != "annotations"
    }
    assert public == set(branchday.__all__)
    assert list(branchday.__all__) == sorted(branchday.__all__)


def test_the_branch_day_needs_neither_the_web_nor_the_command_line_nor_weasyprint() -> None:
    code = (
        "import sys, counter.branchday, counter.branchday.dashboard; "
        "print(sorted(m for m in sys.modules if m.startswith(('counter.web', 'counter.cli', "
        "'fastapi', 'typer', 'weasyprint'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
