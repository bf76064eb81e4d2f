"""docs/integration/*.yaml say what the adapters send and the simulator answers.

Each document must hang together (every ``$ref`` resolves, every operation
answers its errors in the one ``Error`` shape), and real answers of the
simulator, made through the HTTP adapters' wire shapes, must fit the
schemas the documents give them: required fields present, types and enums
as written.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from counter.adapters import (
    AccountType,
    IdentityOutcome,
    IdentityResult,
    Merchant,
    MerchantStatus,
    SettlementAccount,
    SmsReceipt,
    Terminal,
)
from counter.adapters.http.wire import (
    account_to_wire,
    error_body,
    identity_to_wire,
    merchant_to_wire,
    receipt_to_wire,
    terminal_to_wire,
)
from counter.text import Text

DOCS = Path(__file__).resolve().parents[3] / "docs" / "integration"
PEERS = ("acquirer", "identity", "sms")
_TYPES: dict[str, type | tuple[type, ...]] = {
    "object": dict,
    "array": list,
    "string": str,
    "integer": int,
    "boolean": bool,
    "null": type(None),
}


def document(peer: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DOCS / f"{peer}.yaml").read_text(encoding="utf-8"))
    return loaded


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key == "$ref":
                yield str(value)
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def resolve(doc: Mapping[str, Any], ref: str) -> Any:
    node: Any = doc
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def check(doc: Mapping[str, Any], schema: Mapping[str, Any], value: Any, where: str) -> None:
    """The few JSON Schema words the documents use: $ref, type, required, properties,
    items, enum, const, minimum, maximum."""
    if "$ref" in schema:
        check(doc, resolve(doc, schema["$ref"]), value, where)
        return
    kinds = schema.get("type")
    if kinds is not None:
        allowed = [kinds] if isinstance(kinds, str) else list(kinds)
        ok = any(
            isinstance(value, _TYPES[kind]) and not (kind == "integer" and value is True)
            for kind in allowed
        )
        assert ok, f"{where}: {value!r} is not {allowed}"
    if "enum" in schema:
        assert value in schema["enum"], f"{where}: {value!r} not in {schema['enum']}"
    if "const" in schema:
        assert value == schema["const"], where
    if isinstance(value, int) and not isinstance(value, bool):
        assert value >= schema.get("minimum", value), where
        assert value <= schema.get("maximum", value), where
    if isinstance(value, dict):
        for name in schema.get("required", []):
            assert name in value, f"{where}: {name} is required"
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                check(doc, sub, value[name], f"{where}.{name}")
    if isinstance(value, list) and "items" in schema:
        for n, item in enumerate(value):
            check(doc, schema["items"], item, f"{where}[{n}]")


@pytest.mark.parametrize("peer", PEERS)
def test_every_reference_resolves_and_every_error_has_the_one_shape(peer: str) -> None:
    doc = document(peer)
    assert doc["openapi"].startswith("3.1")
    for ref in refs(doc):
        resolve(doc, ref)
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation["responses"].items():
                answer = resolve(doc, answer["$ref"]) if "$ref" in answer else answer
                if int(status) >= 400:
                    schema = answer["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}, (path, method, status)
            if method == "post":
                names = [resolve(doc, p["$ref"])["name"] for p in operation["parameters"]]
                assert "Idempotency-Key" in names, (path, method)


NOW = datetime(2026, 12, 2, 6, 45, tzinfo=UTC)


def test_the_acquirers_answers_fit_its_document() -> None:
    doc = document("acquirer")
    merchant = Merchant(
        "102110058120001",
        "北京示例餐饮有限公司",
        "91110000600037341L",
        "张三",
        "110105198001010016",
        "13800138000",
        MerchantStatus.RISK_FLAGGED,
        0,
        date(2025, 1, 15),
    )
    schemas = doc["components"]["schemas"]
    check(doc, schemas["Merchant"], merchant_to_wire(merchant), "merchant")
    check(doc, schemas["Terminal"], terminal_to_wire(Terminal("1", "SN", "10000001")), "terminal")
    account = SettlementAccount(AccountType.CORPORATE, "44250100003700001234", "某公司")
    check(doc, schemas["SettlementAccount"], account_to_wire(account), "account")
    problem = error_body("unavailable", Text(zh="稍后", en="later"), retryable=True)
    check(doc, schemas["Error"], problem, "error")


def test_the_identity_and_sms_answers_fit_their_documents() -> None:
    identity = document("identity")
    result = IdentityResult(IdentityOutcome.MISMATCH, None, "CHECK-1", NOW)
    check(
        identity, identity["components"]["schemas"]["Verification"], identity_to_wire(result), "v"
    )
    sms = document("sms")
    receipt = SmsReceipt("K:sms", "SMS-1", NOW, replayed=True)
    check(sms, sms["components"]["schemas"]["Receipt"], receipt_to_wire(receipt), "receipt")
