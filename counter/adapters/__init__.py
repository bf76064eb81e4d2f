"""The outside world behind small interfaces: identity verification, the acquirer, SMS.

Each is a ``Protocol`` with a built-in local implementation that keeps its
data in our database (demo mode, tests, a branch without the real link).
``build_adapters`` picks an implementation per adapter from the settings
``identity_adapter``, ``acquirer_adapter`` and ``sms_adapter``: ``"local"``,
``"http"`` (``counter.adapters.http``: the wire contract of docs/integration.md),
or ``"package.module:factory"``, a callable taking ``(settings, db)`` that
returns an object satisfying the Protocol; that is how a bank plugs in its
own gateways without changing counter.

The one-time code helpers (``issue_code``, ``verify_code``) are pure
functions over a ``CodeRecord`` kept in the case's variables.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from counter.adapters._store import ImportSummary, RecordChanges
from counter.adapters.acquirer import (
    AccountType,
    AcquirerRegistry,
    AcquirerResult,
    BindResult,
    ExecutionOutcome,
    ExecutionRecord,
    Merchant,
    MerchantStatus,
    SettlementAccount,
    SimulatedFailure,
    Terminal,
    UnbindResult,
)
from counter.adapters.codes import (
    CODE_MAX_ATTEMPTS,
    CODE_TTL,
    CodeCheck,
    CodeRecord,
    CodeVerification,
    issue_code,
    verify_code,
)
from counter.adapters.identity import (
    IDENTITY_COLUMNS,
    IdentityOutcome,
    IdentityResult,
    IdentityVerifier,
    LocalIdentityVerifier,
)
from counter.adapters.local_acquirer import LocalAcquirerRegistry
from counter.adapters.registry_import import MERCHANT_COLUMNS
from counter.adapters.sms import LocalSmsGateway, SentSms, SmsGateway, SmsReceipt
from counter.config import Settings
from counter.errors import ConfigurationError
from counter.store.db import Database
from counter.text import Text

__all__ = [
    "CODE_MAX_ATTEMPTS",
    "CODE_TTL",
    "IDENTITY_COLUMNS",
    "MERCHANT_COLUMNS",
    "AccountType",
    "AcquirerRegistry",
    "AcquirerResult",
    "Adapters",
    "BindResult",
    "CodeCheck",
    "CodeRecord",
    "CodeVerification",
    "ExecutionOutcome",
    "ExecutionRecord",
    "IdentityOutcome",
    "IdentityResult",
    "IdentityVerifier",
    "ImportSummary",
    "LocalAcquirerRegistry",
    "LocalIdentityVerifier",
    "LocalSmsGateway",
    "Merchant",
    "MerchantStatus",
    "RecordChanges",
    "SentSms",
    "SettlementAccount",
    "SimulatedFailure",
    "SmsGateway",
    "SmsReceipt",
    "Terminal",
    "UnbindResult",
    "build_adapters",
    "issue_code",
    "verify_code",
]

_T = TypeVar("_T")

# What "http" stands for, per setting: the built-in HTTP adapters' factories.
_HTTP_FACTORIES = {
    "identity_adapter": "counter.adapters.http:identity_adapter",
    "acquirer_adapter": "counter.adapters.http:acquirer_adapter",
    "sms_adapter": "counter.adapters.http:sms_adapter",
}


@dataclass(frozen=True)
class Adapters:
    """The three outside systems, as the services container hands them to checks and handlers."""

    identity: IdentityVerifier
    acquirer: AcquirerRegistry
    sms: SmsGateway


def build_adapters(settings: Settings, db: Database) -> Adapters:
    """The adapters the settings name (see the module docstring)."""
    return Adapters(
        identity=_build(
            "identity_adapter",
            settings.identity_adapter,
            IdentityVerifier,
            LocalIdentityVerifier,
            settings,
            db,
        ),
        acquirer=_build(
            "acquirer_adapter",
            settings.acquirer_adapter,
            AcquirerRegistry,
            LocalAcquirerRegistry,
            settings,
            db,
        ),
        sms=_build("sms_adapter", settings.sms_adapter, SmsGateway, LocalSmsGateway, settings, db),
    )


def _build(
    setting: str,
    spec: str,
    protocol: type[object],
    local: Callable[[Database], _T],
    settings: Settings,
    db: Database,
) -> _T:
    spec = spec.strip()
    if spec == "local":
        return local(db)
    factory = _load_factory(setting, _HTTP_FACTORIES[setting] if spec == "http" else spec)
    try:
        adapter: Any = factory(settings, db)
    except Exception as exc:
        raise ConfigurationError(
            Text(
                zh=f"设置 {setting}={spec}:工厂函数出错({type(exc).__name__}: {exc})。",
                en=f"Setting {setting}={spec}: the factory failed ({type(exc).__name__}: {exc}).",
            ),
            setting=setting,
        ) from exc
    if not isinstance(adapter, protocol):
        raise ConfigurationError(
            Text(
                zh=f"设置 {setting}={spec}:返回的对象不符合 {protocol.__name__} 接口。",
                en=f"Setting {setting}={spec}: the factory's result is not a {protocol.__name__}.",
            ),
            setting=setting,
        )
    return cast(_T, adapter)


def _load_factory(setting: str, spec: str) -> Callable[..., Any]:
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ConfigurationError(
            Text(
                zh=f"设置 {setting}={spec!r} 无效:应为 local、http 或 包.模块:工厂函数。",
                en=f"Setting {setting}={spec!r} is invalid: "
                "use local, http or package.module:factory.",
            ),
            setting=setting,
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigurationError(
            Text(
                zh=f"设置 {setting}:无法导入模块 {module_name}({exc})。",
                en=f"Setting {setting}: cannot import module {module_name} ({exc}).",
            ),
            setting=setting,
        ) from exc
    factory = getattr(module, attribute, None)
    if not callable(factory):
        raise ConfigurationError(
            Text(
                zh=f"设置 {setting}:模块 {module_name} 中没有可调用的 {attribute}。",
                en=f"Setting {setting}: module {module_name} has no callable {attribute}.",
            ),
            setting=setting,
        )
    return cast(Callable[..., Any], factory)
