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


# The words the two former parsers knew: the draft dialogue's (bot/drafts/dialogue.py) and the
# questionnaire's (bot/parse.py). One parser reads both sets, wherever a yes/no is asked.
DRAFT_WORDS = {"ja": "yes", "jo": "yes", "jep": "yes", "ok": "yes", "gerne": "yes", "yes": "yes",
               "nej": "no", "nix": "no", "nope": "no", "ikke": "no"}  # fmt: skip
QUESTIONNAIRE_WORDS = {"jah": "yes", "jeps": "yes", "okay": "yes", "korrekt": "yes", "rigtigt": "yes",
                       "det er rigtigt": "yes", "det har han": "yes", "bestemt": "yes", "helt sikkert": "yes",
                       "ingen": "no", "slet ikke": "no", "overhovedet ikke": "no", "aldrig": "no"}  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), [*DRAFT_WORDS.items(), *QUESTIONNAIRE_WORDS.items()])
def test_one_yes_no_parser_knows_the_words_of_both_former_parsers(text: str, expected: str) -> None:
    assert parse_yes_no(text) == expected
    assert parse_yes_no(text.capitalize() + " tak") == expected


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


@pytest.mark.parametrize(
    ("fact", "text", "expected"),
    [
        ("diagnosis_type", "parkinsons", "progressive"),
        ("diagnosis_type", "sklerosen", "progressive"),
        ("diagnosis_type", "muskelsvindet", "progressive"),
        ("diagnosis_type", "cerebral parēse", "severe_physical"),
        ("diagnosis_type", "han bliver dårligere år for år", "progressive"),
        ("diagnosis_type", "hun sidder i kørestol og kan ikke klare sig selv", "severe_physical"),
        ("diagnosis_type", "han har ikke parkinson", None),
        ("goal", "hun vil gerne kunne gå igen", "regain"),
        ("goal", "holde det hun kan", "maintain"),
        ("motivated", "hun har ikke lyst", "no"),
        ("hospital_plan_conflict", "hun har ikke været indlagt", "no_plan"),
        ("who", "min søns", "parent"),
        ("municipality", "Brønderslv", "broenderslev"),
        ("age", "over 67", "senior"),
        ("age", "over 18", "adult"),
        ("goal", "jeg ved det ikke", None),
        ("goal", "hvad betyder det", None),
    ],
)
def test_choice_tolerant_of_danish(fact: str, text: str, expected: object) -> None:
    """Inflections, Latin spellings, typos and descriptions; negations and questions are no choice."""
    assert parse_choice(fact, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"), [("under 18", None), ("over 67", None), ("et barn", None), ("et år", 1)]
)
def test_an_age_group_or_an_article_is_no_age(text: str, expected: object) -> None:
    assert parse_age(text, bare=True) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("min far har ikke parkinson", {"who": "relative"}),
        ("min mor har parkinsons", {"who": "relative", "diagnosis_type": "progressive"}),
        ("hun er ikke faldet", {}),
        ("vores nyfødte søn har en plexus brachialis skade", {"who": "parent", "child_disability": "yes"}),
    ],
)
def test_facts_in_passing_read_negation_and_inflection(text: str, expected: dict[str, object]) -> None:
    assert extract_facts(text) == expected
