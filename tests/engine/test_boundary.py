"""The engine's boundary: its public API is exactly __all__, and it imports no outer package."""

from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import counter.engine

ENGINE = Path(counter.engine.__file__).parent
FORBIDDEN = ("counter.web", "counter.store", "counter.slips", "counter.adapters", "counter.cases")


def test_all_is_the_whole_public_api() -> None:
    exported = set(counter.engine.__all__)
    assert len(exported) == len(counter.engine.__all__)
    for name in exported:
        assert getattr(counter.engine, name) is not None
    public = {
        name
        for name, value in vars(counter.engine).items()
        if not name.startswith("_") and not isinstance(value, type(sys))
    }
    public -= {"annotations"}
    assert public == exported


def engine_modules() -> list[str]:
    return ["counter.engine"] + [
        f"counter.engine.{m.name}" for m in pkgutil.iter_modules([str(ENGINE)])
    ]


def test_no_engine_module_names_an_outer_package() -> None:
    for path in ENGINE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not name.startswith(FORBIDDEN), f"{path.name} imports {name}"


def test_importing_the_engine_loads_no_outer_package() -> None:
    code = (
        "import importlib, json, sys\n"
        f"for name in {engine_modules()!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('counter.'))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    loaded = json.loads(done.stdout)
    assert "counter.engine.runtime" in loaded
    assert [m for m in loaded if m.startswith(FORBIDDEN)] == []

