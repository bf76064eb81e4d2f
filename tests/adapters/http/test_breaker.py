"""The circuit breaker's states, on a clock the test moves, and from many threads."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from counter.adapters.http import Breaker, BreakerState


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_it_opens_after_the_failures_and_lets_one_trial_through_after_the_pause() -> None:
    clock = Clock()
    moves: list[BreakerState] = []
    breaker = Breaker(failures=3, reset_after=10, clock=clock, on_change=moves.append)
    for _ in range(2):
        assert breaker.allow()
        breaker.failed()
    breaker.succeeded()  # a success resets the count
    for _ in range(3):
        assert breaker.allow()
        breaker.failed()
    assert breaker.state is BreakerState.OPEN and not breaker.allow()
    clock.now = 10
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.allow()  # the trial
    assert not breaker.allow()  # nobody else while it runs
    breaker.failed()
    assert breaker.state is BreakerState.OPEN
    clock.now = 20
    assert breaker.allow()
    breaker.succeeded()
    assert breaker.state is BreakerState.CLOSED and breaker.allow()
    assert moves == [
        BreakerState.OPEN,
        BreakerState.HALF_OPEN,
        BreakerState.OPEN,
        BreakerState.HALF_OPEN,
        BreakerState.CLOSED,
    ]


def test_one_trial_among_many_threads() -> None:
    clock = Clock()
    breaker = Breaker(failures=1, reset_after=1, clock=clock)
    breaker.allow()
    breaker.failed()
    clock.now = 1
    with ThreadPoolExecutor(max_workers=8) as pool:
        allowed = list(pool.map(lambda _: breaker.allow(), range(64)))
    assert allowed.count(True) == 1
