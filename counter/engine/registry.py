"""Named Python callables that workflow files refer to: checks, conditions, actions, validators.

A workflow names ``id_document_valid``; the registry says which function
that is. ``counter.banking.rules`` fills ``default_registry`` when imported;
tests build their own ``Registry`` so that they never see each other's names.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal, TypeVar

from counter.engine.types import ActionContext, Finding, StepContext
from counter.errors import DefinitionError
from counter.text import Text

__all__ = [
    "ActionFn",
    "CheckFn",
    "ConditionFn",
    "Kind",
    "NormalizerFn",
    "Registry",
    "ValidatorFn",
    "action",
    "check",
    "condition",
    "default_registry",
    "did_you_mean",
    "normalizer",
    "validator",
]

CheckFn = Callable[[StepContext], Iterable[Finding]]
ConditionFn = Callable[[StepContext], bool]
ActionFn = Callable[[ActionContext], None]
ValidatorFn = Callable[[Any, Mapping[str, Any]], Text | None]
NormalizerFn = Callable[[str], str]
"""Folds a cleaned text to the one spelling a rule expects (full-width digits to ASCII...)."""
Kind = Literal["check", "condition", "action", "validator"]
KINDS: tuple[Kind, ...] = ("check", "condition", "action", "validator")

_KIND_ZH: dict[str, str] = {
    "check": "检查",
    "condition": "条件",
    "action": "动作",
    "validator": "校验器",
}

F = TypeVar("F", bound=Callable[..., Any])


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest candidate, or an empty string."""
    options = list(candidates)
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    if not close:  # "destination" for "dest": a shortened or lengthened word
        close = [o for o in options if min(len(o), len(name)) >= 3 and name.startswith(o)]
        close += [o for o in options if len(name) >= 3 and o.startswith(name)]
    return f" (did you mean '{close[0]}'?)" if close else ""


class Registry:
    """Callables by kind and name. Registering a name twice is an error."""

    def __init__(self) -> None:
        self._entries: dict[Kind, dict[str, Callable[..., Any]]] = {k: {} for k in KINDS}
        self._normalizers: dict[str, NormalizerFn] = {}

    def register(self, kind: Kind, name: str, fn: Callable[..., Any]) -> None:
        entries = self._entries[kind]
        if name in entries:
            raise DefinitionError(
                Text(
                    zh=f"{_KIND_ZH[kind]} '{name}' 已注册过",
                    en=f"{kind} '{name}' is already registered",
                ),
                name=name,
                kind=kind,
            )
        entries[name] = fn

    def _decorator(self, kind: Kind, name: str) -> Callable[[F], F]:
        def decorate(fn: F) -> F:
            self.register(kind, name, fn)
            return fn

        return decorate

    def check(self, name: str) -> Callable[[F], F]:
        """Register ``fn(ctx: StepContext) -> Iterable[Finding]``."""
        return self._decorator("check", name)

    def condition(self, name: str) -> Callable[[F], F]:
        """Register ``fn(ctx: StepContext) -> bool``."""
        return self._decorator("condition", name)

    def action(self, name: str) -> Callable[[F], F]:
        """Register ``fn(ctx: ActionContext) -> None``."""
        return self._decorator("action", name)

    def validator(self, name: str, *, normalize: NormalizerFn | None = None) -> Callable[[F], F]:
        """Register ``fn(value, form) -> Text | None`` (``None`` means valid).

        ``normalize`` folds the typed text before ``fn`` sees it, and the
        folded value is the one the case keeps (a merchant number typed in
        full-width digits is stored in ASCII).
        """
        if normalize is not None:
            self._normalizers[f"validator:{name}"] = normalize
        return self._decorator("validator", name)

    def normalizer(self, pii: str) -> Callable[[NormalizerFn], NormalizerFn]:
        """Register ``fn(text) -> text`` for every text field of the ``pii`` class."""

        def decorate(fn: NormalizerFn) -> NormalizerFn:
            key = f"pii:{pii}"
            if key in self._normalizers:
                raise DefinitionError(
                    Text(
                        zh=f"个人信息类别 '{pii}' 的规整函数已注册过",
                        en=f"a normalizer for pii class '{pii}' is already registered",
                    ),
                    name=pii,
                    kind="normalizer",
                )
            self._normalizers[key] = fn
            return fn

        return decorate

    def normalizers(self, pii: str, validators: Iterable[str]) -> list[NormalizerFn]:
        """What folds a field of class ``pii`` with these validators, in that order."""
        keys = [f"pii:{pii}", *(f"validator:{name}" for name in validators)]
        return [self._normalizers[key] for key in keys if key in self._normalizers]

    def has(self, kind: Kind, name: str) -> bool:
        return name in self._entries[kind]

    def names(self, kind: Kind) -> frozenset[str]:
        return frozenset(self._entries[kind])

    def unknown_message(self, kind: Kind, name: str) -> Text:
        hint = did_you_mean(name, self._entries[kind])
        return Text(
            zh=f"未注册的{_KIND_ZH[kind]} '{name}'{hint}",
            en=f"unknown {kind} '{name}'{hint}",
        )

    def _get(self, kind: Kind, name: str) -> Callable[..., Any]:
        try:
            return self._entries[kind][name]
        except KeyError:
            raise DefinitionError(self.unknown_message(kind, name), name=name, kind=kind) from None

    def get_check(self, name: str) -> CheckFn:
        fn: CheckFn = self._get("check", name)
        return fn

    def get_condition(self, name: str) -> ConditionFn:
        fn: ConditionFn = self._get("condition", name)
        return fn

    def get_action(self, name: str) -> ActionFn:
        fn: ActionFn = self._get("action", name)
        return fn

    def get_validator(self, name: str) -> ValidatorFn:
        fn: ValidatorFn = self._get("validator", name)
        return fn


default_registry = Registry()
check = default_registry.check
condition = default_registry.condition
normalizer = default_registry.normalizer
action = default_registry.action
validator = default_registry.validator
