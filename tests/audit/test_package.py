"""The public API of ``counter.audit`` is exactly ``__all__``, and it stays off the web."""

from __future__ import annotations

import inspect
import subprocess
import sys

import counter.audit as audit


def test_all_is_exactly_the_public_names() -> None:
    public = {
        name
        for name, value in vars(audit).items()
        if not name.startswith("_") and not inspect.ismodule(value) and name != "annotations"
    }
    assert public == set(audit.__all__)
    assert len(audit.__all__) == len(set(audit.__all__))


def test_verifying_needs_neither_the_web_nor_the_command_line() -> None:
    code = (
        "import sys, counter.audit; "
        "print(sorted(m for m in sys.modules if m.startswith(('counter.web', 'counter.cli', "
        "'fastapi', 'typer', 'rich'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
