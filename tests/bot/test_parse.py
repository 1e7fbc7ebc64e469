"""Free-text answers: yes/no, ages in digits or Danish words, choices and stated facts."""

from __future__ import annotations

import pytest

from bot.parse import extract_facts, parse_age, parse_choice, parse_yes_no


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ja", "yes"),
        ("Ja det har han", "yes"),
        ("jo", "yes"),
        ("nej", "no"),
        ("Nej, det har hun ikke", "no"),
        ("ved ikke", "dont_know"),
        ("det ved jeg ikke", "dont_know"),
        ("🙂", None),
        ("<b>ja</b>", None),
    ],
)
def test_yes_no(text: str, expected: object) -> None:
    assert parse_yes_no(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("8", 8),
        ("otte år", 8),
        ("hun er 9", 9),
        ("toogfirs", 82),
        ("halvfems år", 90),
        ("hundrede", 100),
        ("0", 0),
        ("120", 120),
        ("-3", "out_of_range"),
        ("200", "out_of_range"),
        ("🙂🙂", None),
        ("", None),
        ("ved ikke", None),
    ],
)
def test_age_when_asked(text: str, expected: object) -> None:
    """When the age was asked, a lone number or number word counts; out of 0-120 is flagged."""
    assert parse_age(text, bare=True) == expected


def test_age_in_passing_needs_context() -> None:
    """Unasked, only 'på 8', 'er 9', '80 år' count, so '2 gange om ugen' is no age."""
    assert parse_age("træning 2 gange om ugen", bare=False) is None
    assert parse_age("jeg er en mor", bare=False) is None
    assert parse_age("min mor på toogfirs", bare=False) == 82


@pytest.mark.parametrize(
    ("fact", "text", "expected"),
    [
        ("municipality", "vi bor i Koebenhavn", "koebenhavn"),
        ("municipality", "kbh", "koebenhavn"),
        ("municipality", "Århus", "aarhus"),
        ("municipality", "hjorring", "hjoerring"),
        ("municipality", "en anden kommune", "other"),
        ("municipality", "Paris", None),
        ("goal", "bevare det hun kan", "maintain"),
        ("goal", "få det tilbage", "regain"),
        ("diagnosis_type", "sclerose", "progressive"),
        ("age", "under 18", "child"),
    ],
)
def test_choice(fact: str, text: str, expected: object) -> None:
    assert parse_choice(fact, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "min søn på 8 har CP, kan han få træning?",
            {"age": 8, "who": "parent", "diagnosis_type": "severe_physical", "child_disability": "yes"},
        ),
        ("jeg er 80 og lige kommet hjem fra sygehuset", {"age": 80, "who": "self", "hospital_stay": "yes"}),
        (
            "min soen paa 8 har cerebral parese og gaar paa Heerupskolen i kbh",
            {
                "age": 8,
                "who": "parent",
                "diagnosis_type": "severe_physical",
                "child_disability": "yes",
                "school_trains": "yes",
                "municipality": "koebenhavn",
            },
        ),
        ("min far har ikke været indlagt", {"who": "relative", "hospital_stay": "no"}),
        ("hun har fået en genoptræningsplan fra hospitalet", {"hospital_stay": "yes", "rehab_plan": "yes"}),
        ("min mor faldt i sidste uge", {"who": "relative", "goal": "regain"}),
    ],
)
def test_facts_from_a_message(text: str, expected: dict[str, object]) -> None:
    """Facts stated in passing are picked up, so they are never asked again."""
    assert extract_facts(text) == expected
