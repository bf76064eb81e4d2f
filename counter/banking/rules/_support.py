"""What the banking rules share: reaching the services, building findings, comparing numbers.

The runtime hands checks and actions a ``services`` object
(``counter.cases.Services``); the rules read from it only the attributes
named here, so that a deployment or a test can pass anything that has them:

* ``settings``: ``counter.config.Settings`` (threshold, secret key, masking);
* ``identity``: an ``IdentityVerifier`` (``verify(id_type, id_number, name)``);
* ``acquirer``: an ``AcquirerRegistry`` (``merchant``, ``terminals``,
  ``settlement_account``);
* ``extra["passwords"]``: ``(username, password) -> bool``, the teller's
  own password at sign-off;
* ``extra["codes"]``: ``OneTimeCodes``, issuing and verifying the unbind
  code (``counter.cases.wiring`` provides both, over ``counter.adapters``);
* ``extra["refusals"]``: ``(reference, finding_code) -> int``, how many of
  the case's refused attempts since its last step named that finding (the
  desk's journal: wrong codes are counted there, not in the case data).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol, cast

from counter.banking._clean import compact, normalize_name
from counter.config import MaskingPolicy, Settings, get_settings
from counter.engine.types import Finding, Severity, StepContext
from counter.errors import ConfigurationError
from counter.text import Text

if TYPE_CHECKING:
    from counter.adapters import AcquirerRegistry, IdentityVerifier, Merchant

__all__ = [
    "CODES",
    "PASSWORDS",
    "REFUSALS",
    "CodeAnswer",
    "OneTimeCodes",
    "acquirer",
    "approve",
    "block",
    "code_helpers",
    "identity_verifier",
    "merchant_of",
    "parse_day",
    "password_checker",
    "policy",
    "refusal_count",
    "same_name",
    "same_number",
    "settings",
    "text_value",
]

PASSWORDS = "passwords"  # key in ``services.extra``
CODES = "codes"  # key in ``services.extra``
REFUSALS = "refusals"  # key in ``services.extra``


@dataclass(frozen=True)
class CodeAnswer:
    """One attempt at a code: ``ok``, ``wrong``, ``expired`` or ``exhausted`` (the last one used).

    ``kept`` is what the case keeps about the code afterwards (never the code).
    """

    outcome: str
    kept: Mapping[str, Any]
    attempts_left: int


class OneTimeCodes(Protocol):
    """Issue a code and say whether an entered one is right, from what the case keeps."""

    def issue(self, now: datetime) -> tuple[str, Mapping[str, Any]]:
        """A new code (to send) and what to keep about it (to verify later)."""
        ...

    def verify(self, kept: Mapping[str, Any], entered: str, now: datetime) -> CodeAnswer: ...


def settings(services: Any) -> Settings:
    found = getattr(services, "settings", None)
    return found if isinstance(found, Settings) else get_settings()


def policy(ctx: StepContext) -> MaskingPolicy:
    return settings(ctx.services).masking


def _missing(name: str) -> ConfigurationError:
    return ConfigurationError(
        Text(
            zh=f"业务规则需要的外部服务 '{name}' 未配置",
            en=f"the service '{name}' that the banking rules need is not configured",
        ),
        service=name,
    )


def identity_verifier(services: Any) -> IdentityVerifier:
    found = getattr(services, "identity", None)
    if found is None:
        raise _missing("identity")
    return cast("IdentityVerifier", found)


def acquirer(services: Any) -> AcquirerRegistry:
    found = getattr(services, "acquirer", None)
    if found is None:
        raise _missing("acquirer")
    return cast("AcquirerRegistry", found)


def password_checker(services: Any) -> Callable[[str, str], bool | str]:
    """``(username, password) -> bool``, or ``"right"``/``"wrong"``/``"locked"``."""
    extra = getattr(services, "extra", None)
    found = extra.get(PASSWORDS) if isinstance(extra, dict) else None
    if not callable(found):
        raise _missing(f"extra['{PASSWORDS}']")
    return cast("Callable[[str, str], bool | str]", found)


def code_helpers(services: Any) -> OneTimeCodes:
    extra = getattr(services, "extra", None)
    found = extra.get(CODES) if isinstance(extra, dict) else None
    if found is None:
        raise _missing(f"extra['{CODES}']")
    return cast("OneTimeCodes", found)


def refusal_count(services: Any) -> Callable[[str, str], int]:
    """``services.extra["refusals"]``; like ``password_checker``, which it could share with."""
    found = getattr(services, "extra", {}).get(REFUSALS)
    if not callable(found):
        raise _missing(f"extra['{REFUSALS}']")
    return cast("Callable[[str, str], int]", found)


def text_value(ctx: StepContext, form: str, name: str) -> str:
    """A stored value of ``form`` (this step's or an earlier one), ``""`` when absent."""
    value = ctx.value(form, name)
    return "" if value is None else str(value)


def merchant_of(ctx: StepContext) -> Merchant | None:
    """The merchant the binding form names, as the acquirer has it (``None``: unknown)."""
    number = text_value(ctx, "pos_binding", "merchant_no")
    if not number:
        return None
    return acquirer(ctx.services).merchant(number)


def same_number(left: str, right: str) -> bool:
    """Numbers compared as the customer holds them: full-width, spaces and hyphens folded."""
    return compact(left, hyphens=True) == compact(right, hyphens=True)


def same_name(left: str, right: str) -> bool:
    """Names compared without spaces and width differences (``张 三`` is ``张三``),
    whichever middle dot joins their parts."""

    def fold(value: str) -> str:
        return "".join(unicodedata.normalize("NFKC", normalize_name(value)).split()).casefold()

    return fold(left) == fold(right)


def parse_day(value: Any) -> date | None:
    """A stored ISO date (forms keep dates as text), or ``None`` for anything else."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def block(
    code: str, message: Text, *, field: str | None = None, **evidence: Any
) -> Finding:
    """A finding that stops the step. ``evidence`` must already be masked."""
    return Finding(code, Severity.BLOCK, message, field=field, evidence=evidence)


def approve(
    code: str, message: Text, *, field: str | None = None, **evidence: Any
) -> Finding:
    """A finding a supervisor may accept. ``evidence`` must already be masked."""
    return Finding(code, Severity.APPROVE, message, field=field, evidence=evidence)
