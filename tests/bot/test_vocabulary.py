"""One vocabulary in data (bot/data/vocabulary.yml), tolerant of Danish as citizens write it.

Every choice question: at least six free-text answers per option, with typos, without
diacritics, inflected, or describing instead of naming; read by `parse_choice` and by the
questionnaire with the question pending. Negations and non-answers are not read as a choice.
"""

from __future__ import annotations

import copy
import datetime as dt
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot import vocabulary, wording
from bot.conversation import Questionnaire, Turn
from bot.datafiles import load_yaml
from bot.errors import DataFileError
from bot.parse import extract_facts, parse_choice
from bot.questions import question, questions
from bot.state import State

ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.timezone.utc)

ANSWERS: dict[str, dict[str, list[str]]] = {
    "diagnosis_type": {
        "progressive": [
            "parkinsons",
            "han har parkinsons sygdom",
            "hun har sklerosen",
            "multipel sclerose",
            "muskelsvindet er blevet værre",
            "ALS",
            "parkinsen",
            "sklerse",
            "hun har alzheimers",
            "det er en fremadskridende sygdom",
            "fremadskriende",
            "han bliver dårligere år for år",
            "det bliver værre og værre",
            "hun bliver svagere og svagere",
            "han bliver darligere for hvert aar",
        ],
        "severe_physical": [
            "cerebral parese",
            "cerebral parēse",
            "CP",
            "spastisk lammelse",
            "hun sidder i kørestol og kan ikke klare sig selv",
            "han sidder i koerestol",
            "korestol",
            "han er lam fra livet og ned",
            "hun er lammet i benene efter en rygmarvsskade",
            "et svært fysisk handicap",
            "hun har et varigt handikap",
            "han kan slet ikke gå",
        ],
        "other": [
            "andet",
            "noget andet",
            "ingen af dem",
            "ingen af delene",
            "det er noget helt andet",
            "en anden sygdom",
            "hverken eller",
        ],
    },
    "goal": {
        "regain": [
            "hun vil gerne kunne gå igen",
            "få det tilbage",
            "fa det tilbage hun har mistet",
            "genvinde kræfterne",
            "komme på benene igen",
            "han vil gerne kunne cykle igen",
            "blive som før",
            "hun skal genoptræne efter faldet",
            "tilbage til hvor han var",
        ],
        "maintain": [
            "holde det hun kan",
            "bevare det han kan",
            "bevarre det hun kan",
            "vedligeholde",
            "at hun ikke bliver dårligere",
            "fastholde niveauet",
            "holde sig i gang",
            "hun skal ikke miste mere",
            "undgå at han mister mere",
        ],
    },
    "motivated": {
        "yes": [
            "ja hun har masser af lyst",
            "han er meget motiveret",
            "hun glæder sig til at træne",
            "gerne",
            "han vil rigtig gerne",
            "hun er klar",
            "motivret",
        ],
        "no": [
            "nej",
            "hun gider ikke",
            "han har ikke lyst",
            "ingen lyst",
            "han er ikke motiveret",
            "umotiveret",
            "hun nægter",
        ],
        "illness": [
            "nej men det skyldes sygdommen",
            "det er sygdommen",
            "depressionen gør det",
            "hun er deprimeret",
            "det er en del af demensen",
            "han har ikke lyst pga sygdommen",
            "det er hans parkinson der gør ham træt",
        ],
    },
    "hospital_plan_conflict": {
        "stay_with_plan": [
            "han var indlagt og fik en plan",
            "indlagt med genoptræningsplan",
            "begge dele",
            "hun har været indlagt og har en genoptræningsplan",
            "ja begge",
            "hun blev udskrevet med en plan",
            "indlagt og har en plan",
        ],
        "no_plan": [
            "ingen af delene",
            "hverken eller",
            "hun har ikke været indlagt",
            "ikke indlagt og ingen plan",
            "der er ingen plan",
            "han har aldrig været indlagt",
            "ikke indlagt",
        ],
    },
    "municipality": {
        "koebenhavn": [
            "København",
            "kbh",
            "vi bor i kobenhavn",
            "Københavns kommune",
            "københaven",
            "Kobnhavn",
        ],
        "hjoerring": [
            "Hjørring",
            "hjorring",
            "hjoerring kommune",
            "i Hjøring",
            "Hjørrin",
            "vi bor i hjørring",
        ],
        "aarhus": ["Aarhus", "århus", "arhus", "i Aarhus kommune", "Aarhuus", "aarhus c"],
        "broenderslev": [
            "Brønderslev",
            "bronderslev",
            "broenderslev kommune",
            "Brønderslv",
            "Brønnerslev",
            "vi bor i brønderslev",
        ],
        "ballerup": ["Ballerup", "ballerup kommune", "Balerup", "Ballerupp", "vi bor i ballerup", "BALLERUP"],
        "other": [
            "en anden kommune",
            "anden kommune",
            "ingen af dem",
            "en anden",
            "ingen af de kommuner",
            "andet",
        ],
    },
    "who": {
        "self": [
            "mig selv",
            "til mig",
            "det er til mig",
            "mig",
            "jeg selv",
            "for mig selv",
            "mig selv, jeg er 80",
        ],
        "parent": [
            "min søn",
            "min datter på 8",
            "mit barn",
            "vores dreng",
            "sønnen",
            "min søns",
            "datteren",
            "til vores lille pige",
            "jeg er hans mor",
            "mine børn",
        ],
        "relative": [
            "min mor",
            "min far på 82",
            "min mand",
            "til min kone",
            "min svigermor",
            "min bedstemor",
            "mormor",
            "min naboo",
        ],
        "professional": [
            "jeg er sygeplejerske",
            "som fysioterapeut",
            "jeg arbejder som pædagog",
            "jeg er hjemmehjælper",
            "fagperson",
            "jeg er ergoterapeut på et plejehjem",
            "sagsbehandler",
        ],
    },
    "age": {
        "child": ["under 18", "et barn", "barn", "teenager", "en baby", "mindreårig", "han går i skole"],
        "adult": ["voksen", "over 18", "hun er voksen", "en voksen", "myndig", "i den arbejdsdygtige alder"],
        "senior": [
            "pensionist",
            "ældre",
            "folkepensionist",
            "hun er på pension",
            "over 67",
            "gammel",
            "aeldre",
        ],
    },
}

CASES = [
    (fact, value, text)
    for fact, options in ANSWERS.items()
    for value, texts in options.items()
    for text in texts
]


def test_six_answers_per_option_for_every_choice_question() -> None:
    # Every choice question, so that a new one fails here until ANSWERS holds citizens' answers for it.
    for fact in (fact for fact, spec in questions().items() if spec.kind == "choice"):
        wanted = {v for v in question(fact).options if v != "dont_know"}
        assert set(ANSWERS[fact]) == wanted, fact
    assert set(ANSWERS["age"]) == {"child", "adult", "senior"}
    assert all(len(texts) >= 6 for options in ANSWERS.values() for texts in options.values())


@pytest.mark.parametrize(("fact", "expected", "text"), CASES)
def test_parse_choice_reads_citizens_answers(fact: str, expected: str, text: str) -> None:
    assert parse_choice(fact, text) == expected


@pytest.mark.parametrize(("fact", "expected", "text"), CASES)
def test_the_questionnaire_takes_them_as_the_answer(fact: str, expected: str, text: str) -> None:
    result = Questionnaire(now=NOW).answer(State(pending=fact), Turn(text, "inform"))
    assert result.state.facts.get(fact) == expected


NON_ANSWERS = ["jeg ved det ikke", "hvad betyder det", "hvad mener du", "det forstår jeg ikke", "hej", "?"]


@pytest.mark.parametrize(
    "fact", ["diagnosis_type", "goal", "motivated", "hospital_plan_conflict", "municipality", "who", "age"]
)
@pytest.mark.parametrize("text", NON_ANSWERS)
def test_non_answers_are_no_choice(fact: str, text: str) -> None:
    assert parse_choice(fact, text) is None


@pytest.mark.parametrize(
    ("fact", "text", "not_expected"),
    [
        ("diagnosis_type", "han har ikke parkinson", "progressive"),
        ("diagnosis_type", "hun har ingen sklerose", "progressive"),
        ("diagnosis_type", "han har aldrig haft demens", "progressive"),
        ("diagnosis_type", "han bliver ikke dårligere", "progressive"),
        ("diagnosis_type", "hun er ikke lammet", "severe_physical"),
        ("diagnosis_type", "han sidder ikke i kørestol", "severe_physical"),
        ("goal", "hun kan ikke få det tilbage", "regain"),
        ("motivated", "hun har ikke lyst", "yes"),
        ("hospital_plan_conflict", "hun har ikke været indlagt", "stay_with_plan"),
    ],
)
def test_negation_is_not_the_choice(fact: str, text: str, not_expected: str) -> None:
    assert parse_choice(fact, text) != not_expected


def test_negated_diagnosis_in_passing_is_no_fact() -> None:
    assert "diagnosis_type" not in extract_facts("min far har ikke parkinson")
    assert extract_facts("min far har parkinsons")["diagnosis_type"] == "progressive"
    assert extract_facts("min mor har sklerosen")["diagnosis_type"] == "progressive"


def test_inflected_child_diagnosis_in_passing() -> None:
    facts = extract_facts("min datter på 6 har muskelsvindet og cerebral parēse")
    assert facts["child_disability"] == "yes"


# -- the data file -------------------------------------------------------------------------


def test_the_vocabulary_is_data() -> None:
    vocab = vocabulary.vocabulary()
    assert vocab is vocabulary.vocabulary()  # cached
    assert "progressive" in vocab.choices["diagnosis_type"]
    assert any("parkinson" in d.names for d in vocab.diagnoses)


def load_raw() -> Any:
    """The vocabulary file as YAML data, a fresh copy to change."""
    return copy.deepcopy(load_yaml(vocabulary.VOCABULARY_FILE))


def test_a_new_line_in_the_data_is_understood_without_code(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = load_raw()
    raw["diagnoses"] = [
        *raw["diagnoses"],
        {"names": ["huntingtons chorea", "huntington"], "type": "progressive"},
    ]
    assert parse_choice("diagnosis_type", "hun har huntingtons") is None
    monkeypatch.setattr(
        vocabulary, "compiled", lambda: vocabulary.Compiled(vocabulary.Vocabulary.from_raw(raw))
    )
    assert parse_choice("diagnosis_type", "hun har huntingtons") == "progressive"


@pytest.mark.parametrize(
    "change",
    [
        lambda raw: raw["choices"]["goal"].update({"nonsense": {"answers": ["x"]}}),
        lambda raw: raw["choices"].update({"no_such_fact": {}}),
        lambda raw: raw["choices"]["motivated"]["yes"].update({"if_negated": "maybe"}),
        lambda raw: raw["diagnoses"].append({"names": ["x"], "type": "terrible"}),
        lambda raw: raw["choices"]["goal"]["regain"].update({"answers": ["... igen"]}),
        lambda raw: raw.update({"unknown_key": 1}),
        lambda raw: raw["fuzzy"].update({"threshold": 120}),
    ],
)
def test_bad_vocabulary_is_a_data_file_error(change: object) -> None:
    raw = load_raw()
    change(raw)  # type: ignore[operator]
    with pytest.raises(DataFileError, match=r"vocabulary\.yml"):
        vocabulary.Vocabulary.from_raw(raw)


def test_generated_nlu_files_are_up_to_date() -> None:
    """data/nlu/lookups.yml and synonyms.yml are generated from the vocabulary and the profiles."""
    check = subprocess.run(
        [sys.executable, "scripts/gen_nlu_vocabulary.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr


# -- the one-line explanations for a re-ask ---------------------------------------------------


@pytest.mark.parametrize("fact", ["diagnosis_type", "goal", "motivated", "hospital_plan_conflict"])
def test_every_choice_has_a_one_line_explanation(fact: str) -> None:
    lines = wording.option_help(fact)
    options = question(fact).options
    assert len(lines) == len(options)
    for value, line in zip(options, lines, strict=True):
        assert line.startswith(wording.option_label(fact, value))
        assert "\n" not in line and len(line) < 200
