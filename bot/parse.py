"""Reading citizens' free-text answers: yes/no, ages in digits or words, choices, facts."""

from __future__ import annotations

import re
from functools import cache
from typing import Sequence

from bot import vocabulary
from bot.legal import pension_age
from bot.municipality import find_municipality, profiles
from bot.questions import Answer, question
from bot.text import fold
from bot.vocabulary import Match, Phrase, Phrases, Token, parse_phrase, tokens

MAX_MESSAGE = 2000  # characters read from one message; the rest is ignored, and the citizen told

# The one yes/no reader, for the questionnaire and the draft dialogue alike (folded text).
_YES = re.compile(
    r"^(ja|jo|jah|jep|jeps|yes|ok|okay|gerne|korrekt|rigtigt|det er rigtigt|det har (han|hun|de|jeg|vi)"
    r"|bestemt|helt sikkert)\b"
)
_NO = re.compile(r"^(nej|nix|nope|ikke|ingen|slet ikke|overhovedet ikke|aldrig)\b")
_DONT_KNOW = re.compile(
    r"(ved (det )?ikke|ved jeg ikke|aner (det )?ikke|usikker|ikke sikker|maaske|vd ikke|kan ikke sige)"
)

_UNITS = {
    "nul": 0,
    "en": 1,
    "et": 1,
    "een": 1,
    "to": 2,
    "tre": 3,
    "fire": 4,
    "fem": 5,
    "seks": 6,
    "syv": 7,
    "otte": 8,
    "ni": 9,
    "ti": 10,
    "elleve": 11,
    "tolv": 12,
    "tretten": 13,
    "fjorten": 14,
    "femten": 15,
    "seksten": 16,
    "sytten": 17,
    "atten": 18,
    "nitten": 19,
}
_TENS = {
    "tyve": 20,
    "tredive": 30,
    "fyrre": 40,
    "halvtreds": 50,
    "tres": 60,
    "halvfjerds": 70,
    "firs": 80,
    "halvfems": 90,
}
_ARTICLES = ("en", "et", "een")
_HUNDRED = {"hundrede": 100, "hundred": 100, "ethundrede": 100}
_NUMBER_WORD = re.compile(
    r"\b(?:(?P<unit>" + "|".join(sorted(_UNITS, key=len, reverse=True)) + r")og)?"
    r"(?P<tens>" + "|".join(sorted(_TENS, key=len, reverse=True)) + r")\b"
    r"|\b(?P<solo>" + "|".join(sorted({**_UNITS, **_HUNDRED}, key=len, reverse=True)) + r")\b"
)
_AGE_CONTEXT = re.compile(
    r"(?:\bpaa\s+|\ber\s+|\bblevet\s+|\bfylder\s+|\balder\s+)(-?\d{1,3})\b|(-?\d{1,3})\s*(?:aar|arig|aarig|-aarig)\b"
)
_CONTEXT_WORD = re.compile(r"\b(?:paa|er|fylder|blevet)\s+(\w+)")
_BARE_NUMBER = re.compile(r"^\D*?(-?\d{1,4})\D*$")

AgeResult = int | str | None  # an age, "out_of_range", or None when no age was found


def parse_yes_no(text: str) -> str | None:
    """'yes', 'no', 'dont_know' or None, from the start of a free-text answer ('ja tak', 'bestemt', 'ved ikke')."""
    folded = fold(text)
    if _DONT_KNOW.search(folded):
        return "dont_know"
    if _YES.search(folded):
        return "yes"
    if _NO.search(folded):
        return "no"
    return None


def _word_number(folded: str) -> int | None:
    match = _NUMBER_WORD.search(folded)
    if match is None:
        return None
    if match.group("solo"):
        word = match.group("solo")
        if word in _ARTICLES and not re.match(r"\s*(aar|aarig|arig)\b", folded[match.end() :]):
            return _word_number(folded[match.end() :])  # "et barn", "en baby": an article, not 1
        return _HUNDRED.get(word, _UNITS.get(word))
    return _TENS[match.group("tens")] + (_UNITS[match.group("unit")] if match.group("unit") else 0)


def parse_age(text: str, *, bare: bool) -> AgeResult:
    """An age from 'hun er 9', 'otte år', '82'. `bare`: a lone number counts (the age was asked)."""
    folded = fold(text)
    if bare and _AGE_BOUND.search(folded):
        return None  # "under 18", "over 67": an age group (parse_choice), not an age
    match = _AGE_CONTEXT.search(folded)
    raw: str | None = None
    if match:
        raw = match.group(1) or match.group(2)
    elif bare and (bare_match := _BARE_NUMBER.match(folded)):
        raw = bare_match.group(1)
    if raw is not None:
        value = int(raw)
        return value if 0 <= value <= 120 else "out_of_range"
    if bare or re.search(r"\baar\b|\bgammel\b|\barig\b", folded):
        number = _word_number(folded)
        if number is not None:
            return number
    for word in _CONTEXT_WORD.findall(folded):
        if word not in ("en", "et", "een") and (number := _word_number(word)) is not None:
            return number
    return None


def parse_choice(fact: str, text: str) -> str | None:
    """The option a free-text answer to the choice question `fact` means, or None.

    The options' words are in bot/data/vocabulary.yml, tried in its order; a negated word
    counts only where the vocabulary says what its negation means (`if_negated`)."""
    folded = fold(text)
    spec = question(fact)
    if fact == "municipality":
        found = find_municipality(text) or _municipality_with_typo(text)
        if found:
            return found
    if fact == "age" and (group := _age_group_said(folded)):
        return group
    for value in spec.options:
        if folded.strip(" .!") == fold(value):
            return value
    vocab = _vocab()
    words = tokens(text)
    for value in vocab.options(fact):
        match = _find(vocab.phrases(fact, value, answer=True), words)
        if match is None:
            continue
        if not match.negated:
            return value
        if (negated_value := vocab.option(fact, value).if_negated) is not None:
            return negated_value
    return None


def _vocab() -> vocabulary.Compiled:
    return vocabulary.compiled()


def _find(phrases: Sequence[Phrase], words: Sequence[Token]) -> Match | None:
    """The first match of any phrase, preferring one that is not negated."""
    return _vocab().matcher.first(phrases, words)


def _said(phrases: Sequence[Phrase], words: Sequence[Token]) -> bool | None:
    """True if one of the phrases is said, False if only with a negation, None if not said."""
    match = _find(phrases, words)
    return None if match is None else not match.negated


def home_training_wanted(text: str) -> bool:
    """Whether parents say they would train their child at home ("vi vil gerne selv træne ham
    derhjemme", "hjemmetræning"), not negated: the route hjemmetræning asked for in other words."""
    return _said(_vocab().statement("home_training"), tokens(text)) is True


_AGE_BOUND = re.compile(r"\b(under|over|mindst|mere end|mindre end|ikke fyldt)\s+(\d{1,3})\b")


def _age_group_said(folded: str) -> str | None:
    """'under 18' is a child, 'over 67' a senior (from pension age), 'over 18' an adult."""
    match = _AGE_BOUND.search(folded)
    if match is None:
        return None
    bound, number = match.group(1), int(match.group(2))
    if bound in ("under", "mindre end", "ikke fyldt"):
        return "child" if number <= 18 else None
    if number >= pension_age():
        return "senior"
    return "adult" if number >= 17 else None


def _municipality_with_typo(text: str) -> str | None:
    """A municipality named with a typo ('Brønderslv', 'Balerup'), by its profile's names."""
    words = tokens(text)
    for prof in profiles().values():
        if _find(_municipality_phrases(prof.id), words) is not None:
            return prof.id
    return None


@cache
def _municipality_phrases(municipality: str) -> Phrases:
    prof = profiles()[municipality]
    names = (" ".join(re.findall(r"[a-z0-9]+", fold(name))) for name in (prof.name, *prof.aliases))
    return Phrases(parse_phrase(name) for name in names if name)


def extract_facts(text: str, *, pending: str | None = None) -> dict[str, Answer]:
    """Facts a citizen states in free text, e.g. 'min søn på 8 har CP' -> who, age, disability."""
    folded = fold(text)
    words = tokens(text)
    vocab = _vocab()
    facts: dict[str, Answer] = {}
    age = parse_age(text, bare=pending == "age")
    if isinstance(age, int):
        facts["age"] = age
    who = _who(words)
    if who:
        facts["who"] = who
    municipality = find_municipality(text)
    if municipality:
        facts["municipality"] = municipality
    hospital = _said(vocab.statement("hospital_stay"), words)
    if hospital is None and _find(vocab.statement("outpatient"), words) is None:
        hospital = _said(vocab.statement("hospital_visit"), words)
    if hospital is not None:
        facts["hospital_stay"] = "yes" if hospital else "no"
    plan = _said(vocab.statement("rehab_plan"), words)
    if plan is not None:
        facts["rehab_plan"] = "yes" if plan else "no"
        if plan and "hospital_stay" not in facts:
            facts["hospital_stay"] = "yes"  # the hospital makes the plan after a stay
    referral = _said(vocab.statement("doctor_referral"), words)
    if referral is not None and _find(vocab.statement("physiotherapy"), words) is not None:
        facts["doctor_referral"] = "yes" if referral else "no"
    school = _special_school(folded)
    if school:
        facts["school_trains"] = "yes"
    # Said in passing, only named conditions count ("handicap" or "varigt" is not yet "a severe,
    # permanent physical disability": the diagnosis question asks, and the doctor judges).
    for value in ("progressive", "severe_physical"):
        if _said(vocab.phrases("diagnosis_type", value, answer=False), words):
            facts["diagnosis_type"] = value
            break
    if _said(vocab.diagnoses(child=True), words) and (who == "parent" or (isinstance(age, int) and age < 18)):
        facts["child_disability"] = "yes"
    if _said(vocab.phrases("goal", "regain", answer=False), words):
        facts.setdefault("goal", "regain")
    return facts


def _who(words: Sequence[Token]) -> str | None:
    """Who is asking, from the relations said in passing ('min søn', 'som sygeplejerske')."""
    vocab = _vocab()
    for value in vocab.options("who"):
        if _said(vocab.phrases("who", value, answer=False), words):
            return value
    return None


def _special_school(folded: str) -> str | None:
    for prof in profiles().values():
        for school in prof.special_schools:
            if fold(school) in folded:
                return school
    return None
