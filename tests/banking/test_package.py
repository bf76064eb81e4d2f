"""The public API is exactly ``__all__``, and every problem speaks both languages."""

from __future__ import annotations

import importlib
import inspect
import re

import counter.banking as banking
from counter.banking import Problem

MODULES = ["accounts", "identity", "masking", "merchant", "phone", "problems", "uscc", "validity"]
CJK = re.compile(r"[\u4e00-\u9fff]")


def test_all_is_exactly_the_public_names() -> None:
    public = {
        name
        for name, value in vars(banking).items()
        if not name.startswith("_") and not inspect.ismodule(value)
    }
    assert public == set(banking.__all__)
    assert len(banking.__all__) == len(set(banking.__all__))


def test_every_module_exports_through_the_package() -> None:
    exported: set[str] = set()
    for name in MODULES:
        exported |= set(importlib.import_module(f"counter.banking.{name}").__all__)
    assert exported == set(banking.__all__)


def test_every_problem_message_is_in_chinese_then_english() -> None:
    problems = [
        value
        for name in MODULES
        for value in vars(importlib.import_module(f"counter.banking.{name}")).values()
        if isinstance(value, Problem)
    ]
    assert len(problems) >= 20
    for problem in problems:
        assert CJK.search(problem.message.zh), problem.code
        assert problem.message.en.isascii() and problem.message.en[0].isupper(), problem.code
        assert str(problem.message).startswith(problem.message.zh)
    assert {p.code for p in problems if p.approvable} == {"uscc_check_char", "card_luhn"}
