"""Validate what a teller submits for one step against the step's form.

Values come back cleaned and stay JSON-friendly: dates as ISO strings,
money as integer cents. Every typed text first passes the text hygiene of
``counter.engine.cleaning`` (NFC; control characters, bidirectional
controls and lone surrogates refused; nothing visible counts as empty).
Then it is folded by the normalizers registered for the field's ``pii``
class and for its validators (``Registry.normalizers``: names, card and ID
numbers), and the typed kinds (dates, numbers, codes) read full-width
digits as ASCII. Secret fields (passwords, codes) are returned for this
step's checks but left out of ``stored``, which is all the case keeps.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from counter.engine.cleaning import TextRefused, refuse_surrogates, tidy_text
from counter.engine.definition import FieldDefinition, FormDefinition
from counter.engine.registry import NormalizerFn, Registry, ValidatorFn
from counter.errors import FieldError, InvalidInput
from counter.text import Text

__all__ = [
    "APPROVE_FORM",
    "DEFAULT_MAX_LENGTH",
    "LONG_TERM",
    "REJECT_FORM",
    "CompiledForm",
    "ValidatedForm",
    "validate_form",
]

DEFAULT_MAX_LENGTH = 200
LONG_TERM = "long_term"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_INTEGER = re.compile(r"^[+-]?\d{1,18}$")
_MONEY = re.compile(r"^\d{1,15}(\.\d{1,2})?$")
_CODE = re.compile(r"^[0-9A-Za-z]{1,32}$")

APPROVE_FORM = FormDefinition(
    name="approve",
    title=Text(zh="批准", en="Approve"),
    fields=(
        FieldDefinition(
            name="comment",
            label=Text(zh="审批意见", en="Comment"),
            max_length=500,
            multiline=True,
        ),
    ),
)
REJECT_FORM = FormDefinition(
    name="reject",
    title=Text(zh="退回", en="Reject"),
    fields=(
        FieldDefinition(
            name="reason",
            label=Text(zh="退回原因", en="Reason"),
            required=True,
            max_length=500,
            multiline=True,
        ),
    ),
)


@dataclass(frozen=True)
class ValidatedForm:
    """``values``: everything, for this step's checks; ``stored``: what the case keeps."""

    values: Mapping[str, Any]
    stored: Mapping[str, Any]


class _Refused(Exception):
    def __init__(self, code: str, message: Text) -> None:
        self.code = code
        self.message = message


_TYPED_TEXT = frozenset({"date", "date_or_long_term", "integer", "money_cents", "code"})


def _clean(spec: FieldDefinition, raw: Any, folds: tuple[NormalizerFn, ...]) -> Any:
    """The typed text tidied and folded (None when empty); raises ``TextRefused``."""
    if not isinstance(raw, str):
        return raw
    if spec.type == "password":  # compared, never shown: only what no encoder can hold
        refuse_surrogates(raw)
        return raw.strip() or None
    text = tidy_text(raw, multiline=spec.multiline)
    if text is None:
        return text
    if spec.type in _TYPED_TEXT:
        text = unicodedata.normalize("NFKC", text).strip()
    for fold in folds:
        text = fold(text)
    return text or None


def _safe_name(name: object) -> str:
    """A field name as it can be shown and encoded (an unknown name may hold anything)."""
    text = str(name)
    return "".join(
        "\ufffd" if 0xD800 <= ord(c) <= 0xDFFF or unicodedata.category(c) == "Cc" else c
        for c in text
    )[:100]


def _convert(spec: FieldDefinition, value: Any) -> Any:
    """The typed value of a present, non-empty input; raises ``_Refused``."""
    label = spec.label
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise _Refused(
            "type", Text(zh=f"{label.zh}的格式不正确", en=f"{label.en} has the wrong type")
        )
    text = str(value)
    limit = spec.max_length or DEFAULT_MAX_LENGTH
    if len(text) > limit:
        raise _Refused(
            "too_long",
            Text(
                zh=f"{label.zh}不能超过 {limit} 个字符",
                en=f"{label.en} must be at most {limit} characters",
            ),
        )
    kind = spec.type
    if kind == "choice":
        allowed = [c.value for c in spec.choices]
        if text not in allowed:
            raise _Refused(
                "choice",
                Text(
                    zh=f"{label.zh}必须是以下之一:{'、'.join(allowed)}",
                    en=f"{label.en} must be one of: {', '.join(allowed)}",
                ),
            )
        return text
    if kind == "date" or (kind == "date_or_long_term" and text != LONG_TERM):
        if not _DATE.match(text):
            raise _Refused("date", _date_message(spec))
        try:
            date.fromisoformat(text)
        except ValueError:
            raise _Refused("date", _date_message(spec)) from None
        return text
    if kind == "integer":
        if not _INTEGER.match(text):
            raise _Refused(
                "integer", Text(zh=f"{label.zh}必须是整数", en=f"{label.en} must be a whole number")
            )
        return int(text)
    if kind == "money_cents":
        amount = text.replace(",", "")
        if not _MONEY.match(amount):
            raise _Refused(
                "money",
                Text(
                    zh=f"{label.zh}必须是金额(元,最多两位小数)",
                    en=f"{label.en} must be an amount in yuan with at most two decimals",
                ),
            )
        try:
            return int(Decimal(amount) * 100)
        except InvalidOperation:  # pragma: no cover - the pattern already refuses these
            raise _Refused(
                "money", Text(zh=f"{label.zh}金额无效", en=f"{label.en} is invalid")
            ) from None
    if kind == "code" and not _CODE.match(text):
        raise _Refused(
            "code",
            Text(zh=f"{label.zh}只能包含字母和数字", en=f"{label.en} must be letters and digits"),
        )
    return text


def _date_message(spec: FieldDefinition) -> Text:
    if spec.type == "date_or_long_term":
        return Text(
            zh=f"{spec.label.zh}必须是日期(YYYY-MM-DD)或“长期”",
            en=f"{spec.label.en} must be a date (YYYY-MM-DD) or long-term",
        )
    return Text(
        zh=f"{spec.label.zh}必须是日期(YYYY-MM-DD)",
        en=f"{spec.label.en} must be a date (YYYY-MM-DD)",
    )


def _required(spec: FieldDefinition, cleaned: Mapping[str, Any]) -> bool:
    if spec.required:
        return True
    if not spec.required_if:
        return False
    for other, expected in spec.required_if.items():
        options = expected if isinstance(expected, list) else [expected]
        value = cleaned.get(other)
        if value is not None and str(value) in {str(o) for o in options}:
            return True
    return False


def validate_form(
    form: FormDefinition | None, data: Mapping[str, Any], registry: Registry
) -> ValidatedForm:
    """Clean and check ``data``; raise ``InvalidInput`` with one ``FieldError`` per bad field.

    Compiles the form each time: the runtime keeps a ``CompiledForm`` per form version.
    """
    return CompiledForm(form, registry).validate(data)


@dataclass(frozen=True)
class _CompiledField:
    spec: FieldDefinition
    folds: tuple[NormalizerFn, ...]
    validators: tuple[tuple[str, ValidatorFn], ...]


class CompiledForm:
    """A form with its fields' normalizers and validators looked up once (``form`` None:
    a step that takes no fields)."""

    def __init__(self, form: FormDefinition | None, registry: Registry) -> None:
        self.form = form
        self._name = form.name if form is not None else None
        self._fields = {
            f.name: _CompiledField(
                spec=f,
                folds=tuple(registry.normalizers(f.pii, f.validators)),
                validators=tuple((v, registry.get_validator(v)) for v in f.validators),
            )
            for f in (form.fields if form is not None else ())
        }
        self._secret = frozenset(f.name for f in form.fields if f.secret) if form else frozenset()

    def validate(self, data: Mapping[str, Any]) -> ValidatedForm:
        """``validate_form`` for this form."""
        errors: list[FieldError] = []
        if not isinstance(data, Mapping):
            raise InvalidInput(
                Text(
                    zh="表单数据必须是字段与值的映射", en="form data must map field names to values"
                ),
                form=self._name,
            )
        fields = self._fields
        for name in data:
            if name not in fields:
                shown = _safe_name(name)
                errors.append(
                    FieldError(
                        field=shown,
                        code="unknown_field",
                        message=Text(zh=f"未知字段 '{shown}'", en=f"unknown field '{shown}'"),
                    )
                )
        raw: dict[str, Any] = {}
        for name, field in fields.items():
            try:
                raw[name] = _clean(field.spec, data.get(name), field.folds)
            except TextRefused as refused:
                raw[name] = None
                errors.append(
                    FieldError(
                        field=name, code=refused.code, message=refused.message(field.spec.label)
                    )
                )
        values: dict[str, Any] = {}
        refused_text = {e.field for e in errors}
        for name, field in fields.items():
            value = raw[name]
            if name in refused_text:
                continue
            spec = field.spec
            if value is None:
                if _required(spec, raw):
                    errors.append(
                        FieldError(
                            field=name,
                            code="required",
                            message=Text(
                                zh=f"{spec.label.zh}为必填项", en=f"{spec.label.en} is required"
                            ),
                        )
                    )
                continue
            try:
                values[name] = _convert(spec, value)
            except _Refused as refused:
                errors.append(FieldError(field=name, code=refused.code, message=refused.message))
        failed = {e.field for e in errors}
        for name, field in fields.items():
            if name not in values or name in failed:
                continue
            for validator_name, validator in field.validators:
                message = validator(values[name], values)
                if message is not None:
                    errors.append(FieldError(field=name, code=validator_name, message=message))
                    break
        if errors:
            raise InvalidInput(
                Text(zh="表单有误,请更正标出的字段", en="Some fields need correcting"),
                fields=errors,
                form=self._name,
            )
        secret = self._secret
        stored = {name: v for name, v in values.items() if name not in secret} if secret else values
        return ValidatedForm(values=values, stored=stored)
