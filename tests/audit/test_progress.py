"""``counter.progress``: a bar for a person at a terminal, silence when piped."""

from __future__ import annotations

import io

import pytest

from counter.progress import ProgressBar, on_terminal, track


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def no_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COUNTER_PROGRESS", raising=False)
    monkeypatch.setenv("TERM", "xterm")


def test_quiet_when_either_stream_is_not_a_terminal() -> None:
    assert not on_terminal(io.StringIO(), Terminal())
    assert not on_terminal(Terminal(), io.StringIO())
    assert on_terminal(Terminal(), Terminal())


def test_a_piped_bar_writes_nothing_at_all() -> None:
    piped = io.StringIO()
    with ProgressBar("work", total=3, stderr=piped) as bar:
        assert not bar.shown
        bar.advance()
        bar.update(3, 3)
    assert piped.getvalue() == ""


def test_a_bar_is_drawn_when_asked_and_cleared_after() -> None:
    screen = Terminal()
    with ProgressBar("导出 / work", total=2, enabled=True, stderr=screen) as bar:
        assert bar.shown
        bar.advance(2)
    assert screen.getvalue()  # drawn (and cleared: the bar is transient)
    screen = Terminal()
    with ProgressBar("bytes", total=1000, enabled=True, stderr=screen, percent=True) as bar:
        bar.update(500, 1000)
    assert "%" in screen.getvalue()


def test_the_switch_overrides_the_guess(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COUNTER_PROGRESS", "0")
    assert not on_terminal(Terminal(), Terminal())
    monkeypatch.setenv("COUNTER_PROGRESS", "1")
    assert on_terminal(io.StringIO(), io.StringIO())
    monkeypatch.setenv("COUNTER_PROGRESS", "")
    monkeypatch.setenv("TERM", "dumb")
    assert not on_terminal(Terminal(), Terminal())


def test_track_yields_everything(capsys: pytest.CaptureFixture[str]) -> None:
    assert list(track(range(5), "count", total=5)) == [0, 1, 2, 3, 4]
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "")
