"""One-time codes: 6 digits, kept only as a hash, valid 5 minutes, 3 attempts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from counter.adapters import CodeCheck, CodeRecord, issue_code, verify_code

SECRET = "test-secret"
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def test_code_is_six_digits_and_only_its_hash_is_kept() -> None:
    code, record = issue_code(SECRET, now=T0)
    assert len(code) == 6 and code.isdigit()
    kept = json.dumps(record.as_vars())
    assert code not in kept
    assert record.attempts == 0 and record.issued_at == T0


def test_codes_differ_and_same_code_hashes_differently() -> None:
    codes = {issue_code(SECRET, now=T0)[0] for _ in range(50)}
    assert len(codes) > 40
    _, first = issue_code(SECRET, now=T0)
    _, second = issue_code(SECRET, now=T0)
    assert first.digest != second.digest


def test_right_code_within_five_minutes_is_ok() -> None:
    code, record = issue_code(SECRET, now=T0)
    result = verify_code(record, f" {code} ", SECRET, now=T0 + timedelta(minutes=4, seconds=59))
    assert result.outcome is CodeCheck.OK and result.ok
    assert result.record.attempts == 0


def test_code_expires_after_five_minutes_even_when_right() -> None:
    code, record = issue_code(SECRET, now=T0)
    result = verify_code(record, code, SECRET, now=T0 + timedelta(minutes=5, seconds=1))
    assert result.outcome is CodeCheck.EXPIRED
    assert result.record.attempts == 0


def test_three_wrong_attempts_exhaust_the_code() -> None:
    code, record = issue_code(SECRET, now=T0)
    wrong = "000000" if code != "000000" else "111111"
    outcomes = []
    for _ in range(3):
        result = verify_code(record, wrong, SECRET, now=T0)
        outcomes.append((result.outcome, result.attempts_left))
        record = result.record
    assert outcomes == [(CodeCheck.WRONG, 2), (CodeCheck.WRONG, 1), (CodeCheck.EXHAUSTED, 0)]
    assert verify_code(record, code, SECRET, now=T0).outcome is CodeCheck.EXHAUSTED


def test_right_code_after_two_wrong_is_ok() -> None:
    code, record = issue_code(SECRET, now=T0)
    for _ in range(2):
        record = verify_code(record, "abcdef", SECRET, now=T0).record
    assert verify_code(record, code, SECRET, now=T0).outcome is CodeCheck.OK


def test_another_secret_key_does_not_verify() -> None:
    code, record = issue_code(SECRET, now=T0)
    assert verify_code(record, code, "other-secret", now=T0).outcome is CodeCheck.WRONG


def test_record_round_trips_through_case_variables() -> None:
    code, record = issue_code(SECRET, now=T0)
    record = verify_code(record, "999999" if code != "999999" else "888888", SECRET, now=T0).record
    restored = CodeRecord.from_vars(json.loads(json.dumps(record.as_vars())))
    assert restored == record
    assert verify_code(restored, code, SECRET, now=T0).ok


def test_naive_times_are_taken_as_utc() -> None:
    code, record = issue_code(SECRET, now=T0.replace(tzinfo=None))
    assert record.issued_at == T0
    assert verify_code(
        record, code, SECRET, now=(T0 + timedelta(minutes=1)).replace(tzinfo=None)
    ).ok
