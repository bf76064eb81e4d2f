"""Case data is copied before a step changes it: the copy is equal and shares nothing mutable."""

from __future__ import annotations

from datetime import date
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from counter.engine.types import copy_data

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=30,
)


def _containers(value: Any) -> list[int]:
    if isinstance(value, dict):
        return [id(value), *[i for item in value.values() for i in _containers(item)]]
    if isinstance(value, list):
        return [id(value), *[i for item in value for i in _containers(item)]]
    return []


@given(st.dictionaries(st.text(), _json, max_size=5))
def test_a_copy_is_equal_and_shares_no_container(data: dict[str, Any]) -> None:
    copied = copy_data(data)
    assert copied == data
    assert not set(_containers(copied)) & set(_containers(data))


def test_values_other_than_json_are_deep_copied() -> None:
    data = {"when": date(2026, 11, 25), "pair": (1, [2]), "ids": {3}}
    copied = copy_data(data)
    assert copied == data
    assert copied["pair"][1] is not data["pair"][1]
    copied["ids"].add(4)
    assert data["ids"] == {3}
