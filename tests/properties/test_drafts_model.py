"""bot/drafts/model.py, properties: every draft field's check with any input.

A check never raises; it gives a Danish error or a value that is safe to keep: no CPR number,
no control or bidi-override characters, one line where one line is asked, within its length;
a CPR number typed is always reported. Good phone numbers and dates in any accepted spelling
are read back exactly.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, get_args

from hypothesis import example, given
from hypothesis import strategies as st

from bot.drafts.model import (
    LONG_TEXT_FIELDS,
    MAX_AGE_YEARS,
    NAME_MAX,
    SINGLE_LINE_FIELDS,
    TEXT_MAX,
    DraftInput,
    FieldName,
    check_field,
    parse_date,
    prepare,
    validate_email,
    validate_input,
    validate_phone,
)
from bot.drafts.texts import texts
from bot.privacy import mask_cpr
from tests.properties.strategies import hostile_text, huge_text, json_values, messages, text_with_cpr

TODAY = dt.date(2026, 11, 23)
FIELDS: tuple[str, ...] = get_args(FieldName)
BIDI_OVERRIDES = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}
field_input = st.one_of(messages, hostile_text, huge_text)


def safe(name: str, value: str) -> None:
    assert not mask_cpr(value)[1]
    assert not any(c in BIDI_OVERRIDES or (ord(c) < 32 and c not in "\n\t") or c == "\x7f" for c in value)
    if name in SINGLE_LINE_FIELDS:
        assert "\n" not in value
    assert len(value) <= (NAME_MAX if name == "person_name" else TEXT_MAX)
    assert value == value.strip()


@given(st.sampled_from(FIELDS), field_input)
@example("person_name", "<script>alert(1)</script>")
@example("need_description", "'; DROP TABLE drafts; --\n{{ 7*7 }}\u202e")
@example("date_of_birth", "010190-1234")
def test_check_field_gives_an_error_or_a_safe_value(name: str, raw: str) -> None:
    checked = check_field(name, raw, today=TODAY)  # type: ignore[arg-type]
    assert (checked.error is None) or (checked.value is None)
    if checked.error is not None:
        assert checked.error.strip() and not mask_cpr(checked.error)[1]
    elif isinstance(checked.value, str):
        safe(name, checked.value)
    elif isinstance(checked.value, dt.date):
        assert name == "date_of_birth" and checked.value <= TODAY


@given(st.sampled_from(FIELDS), text_with_cpr())
def test_a_cpr_number_typed_in_any_field_is_reported_and_never_kept(
    name: str, typed: tuple[str, str]
) -> None:
    raw, cpr = typed
    checked = check_field(name, raw, today=TODAY)  # type: ignore[arg-type]
    assert checked.cpr_removed and checked.notice
    assert cpr not in str(checked.value) and f"{cpr[:6]}-{cpr[6:]}" not in str(checked.value)


@given(
    st.text(alphabet="0123456789", min_size=8, max_size=8),
    st.sampled_from(["", "+45", "0045", "+45 "]),
    st.booleans(),
)
def test_any_danish_phone_number_is_accepted_and_normalised(digits: str, prefix: str, pairs: bool) -> None:
    typed = prefix + (" ".join(digits[i : i + 2] for i in range(0, 8, 2)) if pairs else digits)
    checked = check_field("phone", typed, today=TODAY)
    assert checked.error is None
    assert checked.value == " ".join(digits[i : i + 2] for i in range(0, 8, 2))


@given(st.dates(dt.date(TODAY.year - MAX_AGE_YEARS + 1, 1, 1), TODAY), st.integers(0, 4))
def test_a_date_of_birth_in_any_accepted_spelling_is_read_back(day: dt.date, style: int) -> None:
    month = texts("months")[day.month - 1]
    typed = (
        f"{day.day}.{day.month}.{day.year}",
        f"{day.day:02d}-{day.month:02d}-{day.year}",
        f"{day.day}/{day.month}/{day.year}",
        day.isoformat(),
        f"{day.day}. {month} {day.year}",
    )[style]
    assert parse_date(typed) == day
    checked = check_field("date_of_birth", typed, today=TODAY)
    assert checked.error is None and checked.value == day


@given(field_input)
def test_phone_and_email_validators_never_raise(raw: str) -> None:
    for error in (validate_phone(raw), validate_email(raw)):
        assert error is None or error.strip()


def _draft(**changes: Any) -> DraftInput:
    base = DraftInput(
        offer="rehabilitation",
        municipality="ballerup",
        legal_basis=[{"citation": "Sundhedsloven § 140"}],
        facts={"age": 80},
        applicant_relation="self",
        person_name="Else Testesen",
        date_of_birth=dt.date(1946, 2, 1),
        phone="12345678",
        email=None,
        need_description="Jeg skal træne gang.",
        consent_health_info=True,
    )
    return dataclasses.replace(base, **changes)


text_fields = st.sampled_from([*SINGLE_LINE_FIELDS, *LONG_TEXT_FIELDS])


@given(st.dictionaries(text_fields, field_input, max_size=4))
def test_prepare_masks_and_validates_any_field_content(changes: dict[str, str]) -> None:
    prepared = prepare(_draft(**changes), TODAY)
    assert set(prepared.errors) <= {*SINGLE_LINE_FIELDS, *LONG_TEXT_FIELDS}
    if prepared.ok:
        for name in (*SINGLE_LINE_FIELDS, *LONG_TEXT_FIELDS):
            value = getattr(prepared.draft, name)
            if value is not None:
                safe(name, value)


wrong = st.one_of(json_values, st.builds(object))


@given(
    st.fixed_dictionaries(
        {},
        optional={
            "offer": wrong,
            "municipality": wrong,
            "applicant_relation": wrong,
            "legal_basis": wrong,
            "facts": wrong,
            "date_of_birth": wrong,
            "person_name": wrong,
            "phone": wrong,
            "contact_area": wrong,
            "consent_health_info": wrong,
        },
    )
)
@example({"municipality": []})  # raised TypeError (unhashable type: list) before the fix
@example({"facts": {"a": [1]}, "legal_basis": [{"citation": 7}], "date_of_birth": "2016-02-01"})
def test_wrong_types_are_errors_not_exceptions(changes: dict[str, Any]) -> None:
    errors = validate_input(_draft(**changes), TODAY)
    assert all(isinstance(message, str) and message.strip() for message in errors.values())
