"""``evolve`` is ``dataclasses.replace``, cheaper: same result, original untouched, still frozen."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from counter.engine.types import CaseSnapshot, PendingApproval, evolve

SNAPSHOT = CaseSnapshot(
    reference="BJ001-20261125-000001", workflow="w", definition_hash="h" * 64, state="new",
    version=1, data={"vars": {}}, opened_by="t1", branch="BJ001",
    opened_at=datetime(2026, 11, 25, tzinfo=UTC),
)

_changes = st.fixed_dictionaries(
    {},
    optional={
        "state": st.text(max_size=8),
        "version": st.integers(0, 10**6),
        "data": st.dictionaries(st.text(max_size=4), st.integers(), max_size=3),
        "branch": st.none() | st.text(max_size=6),
        "channel": st.sampled_from(["counter", "online", "phone"]),
        "pending": st.none() | st.builds(
            PendingApproval, trigger=st.just("t"), source=st.just("a"), dest=st.just("b"),
            raised_by=st.just("t1"), findings=st.just(()),
        ),
    },
)


@given(_changes)
def test_evolve_gives_what_replace_gives(changes: dict[str, object]) -> None:
    evolved = evolve(SNAPSHOT, **changes)
    assert evolved == dataclasses.replace(SNAPSHOT, **changes)
    assert type(evolved) is CaseSnapshot
    assert SNAPSHOT.state == "new" and SNAPSHOT.version == 1  # the original is untouched
    with pytest.raises(dataclasses.FrozenInstanceError):
        evolved.state = "x"  # type: ignore[misc]


def test_an_unknown_field_is_refused() -> None:
    with pytest.raises(TypeError, match="stat"):
        evolve(SNAPSHOT, stat="x")


def test_a_class_with_post_init_still_runs_it() -> None:
    @dataclass(frozen=True)
    class Checked:
        value: int

        def __post_init__(self) -> None:
            if self.value < 0:
                raise ValueError("negative")

    with pytest.raises(ValueError, match="negative"):
        evolve(Checked(1), value=-1)
