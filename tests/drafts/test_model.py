"""bot/drafts/model.py: validation of each field and the whole draft, and CPR numbers masked or refused."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from bot.drafts.model import (
    NAME_MAX,
    TEXT_MAX,
    check_field,
    clean_text,
    normalize_phone,
    parse_date,
    prepare,
    validate_date_of_birth,
    validate_description,
    validate_email,
    validate_name,
    validate_phone,
)
from bot.drafts.pdf import render_pdf
from bot.drafts.render import render_json
from bot.drafts.store import DraftStore
from bot.privacy import CPR_MASK
from bot.web.drafts import render_html
from tests.drafts.helpers import CHILD_FACTS, FAKE_CPR, NOW, TODAY, pdf_text, raw_rows, sample_input

# --- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("12345678", "12 34 56 78"),
        ("12 34 56 78", "12 34 56 78"),
        ("+45 12 34 56 78", "12 34 56 78"),
        ("+4512345678", "12 34 56 78"),
        ("0045 1234 5678", "12 34 56 78"),
    ],
)
def test_danish_phone_numbers_are_accepted_and_normalised(raw: str, normalised: str) -> None:
    assert validate_phone(raw) is None
    assert normalize_phone(raw) == normalised


@pytest.mark.parametrize(
    "raw",
    ["1234567", "123456789", "+46 12345678", "12-34-56-78", "tolv tre", "+45", "1234567a", "45 12345678"],
)
def test_bad_phone_numbers_get_a_danish_message(raw: str) -> None:
    error = validate_phone(raw)
    assert error is not None and "8 cifre" in error


def test_phone_and_email_are_optional() -> None:
    assert validate_phone(None) is None and validate_phone("  ") is None
    assert validate_email(None) is None and validate_email("") is None


@pytest.mark.parametrize(
    "raw",
    ["foraelder@eksempel.dk", "anne.bo+traening@kommune.dk", "jens@æblehaven.dk", "a_b@sub.eksempel.org"],
)
def test_good_email_addresses(raw: str) -> None:
    assert validate_email(raw) is None


@pytest.mark.parametrize(
    "raw",
    [
        "foraelder",
        "foraelder@",
        "@eksempel.dk",
        "foraelder@eksempel",
        "Forælder <foraelder@eksempel.dk>",
        "a@b@eksempel.dk",
        "foraelder@eksempel..dk",
        ".foraelder@eksempel.dk",
        "for aelder@eksempel.dk",
        "foraelder@eksempel.dk, anden@eksempel.dk",
        "foraelder@-eksempel.dk",
        "x" * 65 + "@eksempel.dk",
    ],
)
def test_bad_email_addresses_get_a_danish_message(raw: str) -> None:
    error = validate_email(raw)
    assert error is not None and "e-mailadresse" in error


@pytest.mark.parametrize(
    "raw", ["1.2.2016", "01-02-2016", "2016-02-01", "1/2/2016", "01.02.2016", "1. februar 2016"]
)
def test_dates_of_birth_in_danish_formats(raw: str) -> None:
    assert parse_date(raw) == dt.date(2016, 2, 1)
    assert validate_date_of_birth(raw, TODAY) is None


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("31.2.2016", "Datoen findes ikke"),
        ("29-02-2015", "Datoen findes ikke"),
        ("2016-13-01", "Datoen findes ikke"),
        ("1.1.2030", "fremtiden"),
        ("24.11.2026", "fremtiden"),
        ("1.1.1850", "130 år"),
        ("010216", "fx 1.2.2016"),
        ("1.2.16", "fx 1.2.2016"),
        ("i går", "fx 1.2.2016"),
        ("", "fx 1.2.2016"),
    ],
)
def test_impossible_future_or_unreadable_dates_are_rejected(raw: str, message: str) -> None:
    error = validate_date_of_birth(raw, TODAY)
    assert error is not None and message in error


def test_born_today_is_in_the_past_enough() -> None:
    assert validate_date_of_birth("23.11.2026", TODAY) is None


@pytest.mark.parametrize(
    "name",
    ['Ida <script>alert("x")</script> Testesen', "Søren 'Sørensen' \"Junior\"", "Åse 😀 Prøve", "Ægir Ø"],
)
def test_names_with_markup_quotes_and_emoji_are_accepted_as_text(name: str) -> None:
    assert validate_name(name) is None
    checked = check_field("person_name", name, today=TODAY)
    assert checked.error is None and checked.value == name


@pytest.mark.parametrize(
    "name", ["", "   ", "x" * (NAME_MAX + 1), "Ida\x00Test", "Ida \u202eTest", "Ida\nTest"]
)
def test_bad_names_are_rejected(name: str) -> None:
    assert validate_name(name) is not None


def test_a_10000_character_description_is_rejected_not_cut() -> None:
    long_text = "Han har brug for træning. " * 400  # 10,400 characters
    long_text = long_text[:10_000]
    error = validate_description(long_text)
    assert error is not None and f"højst {TEXT_MAX} tegn" in error and "10000" in error
    assert "klipper ikke" in error
    checked = check_field("need_description", long_text, today=TODAY)
    assert checked.value is None and checked.error == error
    assert validate_description("x" * TEXT_MAX) is None


def test_emoji_survive_cleaning() -> None:
    assert clean_text("Træner gerne 💪🏽 hver dag").text == "Træner gerne 💪🏽 hver dag"


def test_whole_draft_errors_by_field() -> None:
    prepared = prepare(
        sample_input(
            phone="1234",
            email="ikke-en-adresse",
            date_of_birth=dt.date(2030, 1, 1),
            consent_health_info=False,
            municipality="atlantis",
            person_name="",
        ),
        TODAY,
    )
    assert set(prepared.errors) == {
        "phone",
        "email",
        "date_of_birth",
        "consent_health_info",
        "municipality",
        "person_name",
    }
    assert "samtykke" in prepared.errors["consent_health_info"]


def test_a_good_draft_is_normalised() -> None:
    prepared = prepare(sample_input(created_by_staff_initials="abc", email=" foraelder@eksempel.dk "), TODAY)
    assert prepared.ok and not prepared.cpr_removed
    assert prepared.draft.phone == "12 34 56 78"
    assert prepared.draft.email == "foraelder@eksempel.dk"
    assert prepared.draft.created_by_staff_initials == "ABC"


# --- CPR numbers ---------------------------------------------------------------------------


def test_a_cpr_number_in_a_free_text_field_is_masked_and_reported() -> None:
    checked = check_field("need_description", f"Min datter ({FAKE_CPR}) har CP.", today=TODAY)
    assert checked.cpr_removed and checked.error is None
    assert checked.value == f"Min datter ({CPR_MASK}) har CP."
    assert checked.notice is not None and "CPR-nummer" in checked.notice


def test_a_cpr_number_typed_as_date_of_birth_is_removed_and_rejected() -> None:
    checked = check_field("date_of_birth", FAKE_CPR, today=TODAY)
    assert checked.cpr_removed and checked.value is None and checked.error is not None


def test_prepare_masks_every_free_text_field_and_text_answers() -> None:
    prepared = prepare(
        sample_input(
            need_description=f"cpr {FAKE_CPR}",
            diagnoses=f"CP {FAKE_CPR}",
            current_care=f"skole {FAKE_CPR}",
            school_trains_today=FAKE_CPR,
            facts={**CHILD_FACTS, "note": f"sagt {FAKE_CPR}"},
        ),
        TODAY,
    )
    assert prepared.ok and prepared.cpr_removed
    dumped = json.dumps(prepared.draft.to_dict(), ensure_ascii=False)
    assert "010116" not in dumped and dumped.count(CPR_MASK) == 5


def test_cpr_in_description_is_absent_from_the_row_the_html_and_the_pdf(store: DraftStore) -> None:
    created = store.create(
        sample_input(need_description=f"Barnets cpr er {FAKE_CPR}, hun har CP."), "cpr", NOW
    )
    (row,) = raw_rows(store)
    assert "010116" not in row and "1234" not in row.replace(created.reference, "")
    draft = store.get_by_token(created.token, NOW)
    assert draft is not None
    assert draft.input.need_description == f"Barnets cpr er {CPR_MASK}, hun har CP."
    html = render_html(draft)
    text = pdf_text(render_pdf(draft))
    for rendered in (html, text, render_json(draft)):
        assert "010116" not in rendered and CPR_MASK in rendered
