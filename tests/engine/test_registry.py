"""The registry of named checks, conditions, actions and validators."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from counter.engine import registry as registry_module
from counter.engine.registry import Registry, did_you_mean
from counter.engine.types import Finding, StepContext
from counter.errors import DefinitionError


def test_decorators_register_and_return_the_function() -> None:
    registry = Registry()

    @registry.check("nothing_found")
    def nothing_found(ctx: StepContext) -> Iterable[Finding]:
        return ()

    assert registry.get_check("nothing_found") is nothing_found
    assert registry.names("check") == frozenset({"nothing_found"})
    assert registry.has("check", "nothing_found")
    assert not registry.has("condition", "nothing_found")


def test_registering_a_name_twice_is_an_error() -> None:
    registry = Registry()
    registry.condition("is_proxy")(lambda ctx: True)
    with pytest.raises(DefinitionError, match="already registered"):
        registry.condition("is_proxy")(lambda ctx: False)
    registry.action("is_proxy")(lambda ctx: None)  # another kind, another namespace


def test_an_unknown_name_says_did_you_mean() -> None:
    registry = Registry()
    registry.validator("resident_id_format")(lambda value, form: None)
    with pytest.raises(DefinitionError) as caught:
        registry.get_validator("resident_id_fromat")
    assert "did you mean 'resident_id_format'" in caught.value.message.en
    assert "未注册的校验器" in caught.value.message.zh
    with pytest.raises(DefinitionError):
        registry.get_action("anything")


def test_module_shortcuts_are_bound_to_the_default_registry() -> None:
    for kind in ("check", "condition", "action", "validator"):
        shortcut = getattr(registry_module, kind)
        assert shortcut.__self__ is registry_module.default_registry


def test_did_you_mean_handles_shortened_words_and_nothing_close() -> None:
    assert did_you_mean("destination", ["dest", "source"]) == " (did you mean 'dest'?)"
    assert did_you_mean("zzz", ["dest", "source"]) == ""
