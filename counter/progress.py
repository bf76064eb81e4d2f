"""Progress bars for long command-line work, shown only to a person at a terminal.

A bar is drawn on stderr with ``rich`` when both stdout and stderr are
terminals; piped or redirected (a cron job, ``> file``, ``| gzip``, a test's
captured output), nothing at all is written, not even a final line, so
that what a command prints is the same whether or not a person watched it.
``COUNTER_PROGRESS=0`` or ``1`` overrides the guess.

::

    with ProgressBar("导出日志 / exporting the journal", total=count) as bar:
        for entry in entries:
            ...
            bar.advance()

``rich`` comes with ``typer``, which the command line already needs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import TextIO, TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

__all__ = ["ProgressBar", "on_terminal", "track"]

T = TypeVar("T")

_SWITCH = "COUNTER_PROGRESS"


def _is_tty(stream: TextIO | None) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError):  # a replaced or closed stream
        return False


def on_terminal(stdout: TextIO | None = None, stderr: TextIO | None = None) -> bool:
    """Whether to draw a bar: stdout and stderr are terminals (or the switch says so)."""
    switch = os.environ.get(_SWITCH, "").strip().lower()
    if switch in {"0", "no", "false", "off"}:
        return False
    if switch in {"1", "yes", "true", "on"}:
        return True
    if os.environ.get("TERM") == "dumb":
        return False
    return _is_tty(stdout or sys.stdout) and _is_tty(stderr or sys.stderr)


class ProgressBar:
    """One task's bar on stderr; every method does nothing when the bar is not shown."""

    def __init__(
        self,
        description: str,
        *,
        total: int | None = None,
        enabled: bool | None = None,
        stderr: TextIO | None = None,
        percent: bool = False,
    ) -> None:
        """``percent``: show how far in percent rather than as "done/total" (say, for bytes)."""
        self.description = description
        self._percent = percent
        self.enabled = on_terminal(stderr=stderr) if enabled is None else enabled
        self._total = total
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._stderr = stderr

    def __enter__(self) -> ProgressBar:
        if self.enabled:
            console = Console(file=self._stderr or sys.stderr)
            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                TaskProgressColumn() if self._percent else MofNCompleteColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=console,
                transient=True,
                redirect_stdout=False,  # stdout may carry the command's output
                redirect_stderr=False,
            )
            self._progress.start()
            self._task = self._progress.add_task(self.description, total=self._total)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
        self._progress = None
        self._task = None

    @property
    def shown(self) -> bool:
        return self._progress is not None

    def advance(self, steps: int = 1) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, steps)

    def update(self, completed: int, total: int | None = None) -> None:
        """Set where the work is (and how much there is, once it is known)."""
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=completed, total=total)


def track(
    items: Iterable[T],
    description: str,
    *,
    total: int | None = None,
    enabled: bool | None = None,
) -> Iterator[T]:
    """``items`` one by one, advancing a bar (when shown) for each."""
    with ProgressBar(description, total=total, enabled=enabled) as bar:
        for item in items:
            yield item
            bar.advance()
