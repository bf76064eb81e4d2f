"""counter.banking.rules imports only what docs/architecture.md allows banking to import.

Adapters are reached through the ``services`` the runtime passes; their
types may be named for the type checker only (under ``TYPE_CHECKING``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import counter.banking.rules as rules

ALLOWED = ("counter.banking", "counter.engine", "counter.text", "counter.errors", "counter.config")


def runtime_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            typing_only |= {id(child) for child in ast.walk(node)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return found


def test_rules_import_only_what_banking_may() -> None:
    package = Path(rules.__file__).parent
    for path in sorted(package.glob("*.py")):
        counter_imports = {m for m in runtime_imports(path) if m.startswith("counter")}
        stray = {m for m in counter_imports if not m.startswith(ALLOWED)}
        assert not stray, f"{path.name} imports {sorted(stray)}"
