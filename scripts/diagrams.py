"""Rewrite the workflow diagrams in the docs from the workflows themselves.

Every fenced ``mermaid`` block that follows a line ``<!-- diagram: NAME -->``
in README.md or docs/*.md is replaced with ``counter workflows diagram NAME
--format mermaid``. ``make diagrams`` runs this; tests/test_docs_diagrams.py
fails when a block is out of date.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"(<!-- diagram: (\w+) -->\n```mermaid\n)(.*?)(```)", re.DOTALL)


def draw(name: str) -> str:
    counter = Path(sys.executable).with_name("counter")
    return subprocess.run(  # noqa: S603  our own CLI, from this venv
        [str(counter), "workflows", "diagram", name, "--format", "mermaid"],
        check=True, capture_output=True, text=True,
    ).stdout.rstrip("\n") + "\n"


def main() -> None:
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = path.read_text(encoding="utf-8")
        fresh = BLOCK.sub(lambda m: m.group(1) + draw(m.group(2)) + m.group(4), text)
        if fresh != text:
            path.write_text(fresh, encoding="utf-8")
            print(f"updated {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
