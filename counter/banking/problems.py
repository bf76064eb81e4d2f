"""What the banking checks report: a ``Problem`` (code and bilingual message).

Checks never raise for bad input; they return ``Problem | None`` so that a
workflow check can turn a problem into a finding of the severity it chooses
and a form validator can turn it into a field error. ``approvable`` marks the
problems DESIGN.md lets a supervisor accept (a card failing Luhn, a social
credit code failing its check); all others are hard problems.

``require`` and the ``validate_*``/``parse_*`` functions raise
``NumberInvalid``, an ``InvalidInput`` with one field error, for callers that
want an exception instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from counter.errors import FieldError, InvalidInput
from counter.text import Text

__all__ = ["NumberInvalid", "Problem", "require"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a number, for the teller, in Chinese and English."""

    code: str
    message: Text
    approvable: bool = False  # a supervisor may accept it instead of the teller correcting it

    def field_error(self, field: str) -> FieldError:
        return FieldError(field=field, code=self.code, message=self.message)


class NumberInvalid(InvalidInput):
    """A number (document, code, account, phone) refused; ``problem`` says why."""

    def __init__(self, problem: Problem, *, field: str) -> None:
        self.problem = problem
        super().__init__(problem.message, fields=[problem.field_error(field)], field=field)


def require(problem: Problem | None, *, field: str) -> None:
    """Raise ``NumberInvalid`` for ``field`` if there is a problem, approvable or not."""
    if problem is not None:
        raise NumberInvalid(problem, field=field)
