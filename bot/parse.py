"""Reading citizens' free-text answers: yes/no, ages in digits or words, choices, facts."""

from __future__ import annotations

import re
from typing import Mapping

from bot.municipality import find_municipality, profiles
from bot.questions import Answer, question
from bot.text import fold

MAX_MESSAGE = 2000  # characters read from one message; the rest is ignored, and the citizen told

_YES = re.compile(
    r"^(ja|jo|jah|jep|jeps|yes|ok|okay|korrekt|rigtigt|det er rigtigt|det har (han|hun|de|jeg|vi)|bestemt|helt sikkert)\b"
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
        return _HUNDRED.get(word, _UNITS.get(word))
    return _TENS[match.group("tens")] + (_UNITS[match.group("unit")] if match.group("unit") else 0)


def parse_age(text: str, *, bare: bool) -> AgeResult:
    """An age from 'hun er 9', 'otte år', '82'. `bare`: a lone number counts (the age was asked)."""
    folded = fold(text)
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


_CHOICE_WORDS: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    "goal": {
        "regain": ("tilbage", "genvinde", "tabt", "blive bedre", "faa det tilbage", "genoptraen"),
        "maintain": ("bevare", "vedligehold", "holde", "fastholde", "det der er", "det jeg kan"),
    },
    "diagnosis_type": {
        "progressive": (
            "fremadskridende",
            "sclerose",
            "parkinson",
            "als",
            "muskelsvind",
            "demens",
            "progressiv",
        ),
        "severe_physical": (
            "handicap",
            "lammet",
            "cerebral parese",
            "cp",
            "rygmarv",
            "kørestol",
            "koerestol",
            "spastisk",
            "varigt",
        ),
        "other": ("andet", "noget andet", "ingen af"),
    },
    "motivated": {
        "illness": ("sygdom", "sygdommen", "skyldes", "del af"),
    },
    "hospital_plan_conflict": {
        "no_plan": ("ingen plan", "ikke indlagt", "ingen af", "hverken"),
        "stay_with_plan": ("indlagt", "har en plan", "har en genoptraeningsplan", "begge"),
    },
    "age": {
        "child": ("under 18", "barn"),
        "senior": ("pensionist", "aeldre", "folkepension"),
    },
}
_PROGRESSIVE = _CHOICE_WORDS["diagnosis_type"]["progressive"]
_SEVERE = _CHOICE_WORDS["diagnosis_type"]["severe_physical"]
# Said in passing, "handicap" or "varigt" is not yet "a severe, permanent physical disability": the
# diagnosis question asks (and the doctor judges); only named conditions count without asking.
_SEVERE_IN_PASSING = tuple(w for w in _SEVERE if w not in ("handicap", "varigt"))
_CHILD_DIAGNOSES = (
    "cerebral parese",
    "cp",
    "muskelsvind",
    "osteogenesis",
    "glasknogler",
    "hjerneskade",
    "plexus",
    "charge",
    "beals",
    "charcot",
    "downs",
    "down syndrom",
    "praematur",
    "for tidligt foedt",
    "spina bifida",
    "spastisk",
    "lammelse",
    "lammet",
    "autisme",
    "udviklingshaemning",
    "epilepsi",
)


def parse_choice(fact: str, text: str) -> str | None:
    folded = fold(text)
    spec = question(fact)
    if fact == "municipality":
        found = find_municipality(text)
        if found:
            return found
        if re.search(r"\b(anden|andet|en anden)\b", folded):
            return "other"
    for value in spec.options:
        if folded == fold(value):
            return value
    for value, words in _CHOICE_WORDS.get(fact, {}).items():
        if any(re.search(rf"\b{re.escape(w)}\b", folded) for w in words):
            return value
    return None


def _negated(folded: str, start: int) -> bool:
    before = folded[max(0, start - 25) : start]
    return bool(re.search(r"\b(ikke|ingen|aldrig|nej)\b[^.!?]*$", before))


def _has(folded: str, pattern: str) -> bool | None:
    """True if the pattern is said, False if said with a negation, None if not said."""
    match = re.search(pattern, folded)
    if match is None:
        return None
    return not _negated(folded, match.start())


def extract_facts(text: str, *, pending: str | None = None) -> dict[str, Answer]:
    """Facts a citizen states in free text, e.g. 'min søn på 8 har CP' -> who, age, disability."""
    folded = fold(text)
    facts: dict[str, Answer] = {}
    age = parse_age(text, bare=pending == "age")
    if isinstance(age, int):
        facts["age"] = age
    who = _who(folded)
    if who:
        facts["who"] = who
    municipality = find_municipality(text)
    if municipality:
        facts["municipality"] = municipality
    hospital = _has(folded, _HOSPITAL_STAY)
    if hospital is None and not _OUTPATIENT.search(folded):
        hospital = _has(folded, _HOSPITAL_VISIT)
    if hospital is not None:
        facts["hospital_stay"] = "yes" if hospital else "no"
    plan = _has(folded, r"genoptraeningsplan")
    if plan is not None:
        facts["rehab_plan"] = "yes" if plan else "no"
        if plan and "hospital_stay" not in facts:
            facts["hospital_stay"] = "yes"  # the hospital makes the plan after a stay
    referral = _has(folded, r"\bhenvis(ning|t)\b")
    if referral is not None and "fysioterapi" in folded:
        facts["doctor_referral"] = "yes" if referral else "no"
    school = _special_school(folded)
    if school:
        facts["school_trains"] = "yes"
    if any(re.search(rf"\b{re.escape(w)}\b", folded) for w in _PROGRESSIVE):
        facts["diagnosis_type"] = "progressive"
    elif any(re.search(rf"\b{re.escape(w)}\b", folded) for w in _SEVERE_IN_PASSING):
        facts["diagnosis_type"] = "severe_physical"
    if any(re.search(rf"\b{re.escape(w)}", folded) for w in _CHILD_DIAGNOSES) and (
        who == "parent" or (isinstance(age, int) and age < 18)
    ):
        facts["child_disability"] = "yes"
    if re.search(r"\b(faldt|fald|brak|braekket|blodprop|apopleksi|lungebetaendelse|svaekket)", folded):
        facts.setdefault("goal", "regain")
    return facts


# A stay in hospital (Sundhedsloven § 140: "efter udskrivning fra sygehus"), not a control visit
# or outpatient treatment: "går til kontrol på hospitalet" says nothing about a stay.
_HOSPITAL_STAY = r"\b(indlagt|indlaeggelse|udskrevet|udskrivelse|opereret|operation)"
_HOSPITAL_VISIT = r"\b(kommet hjem fra|vaeret paa|ligget paa|vaere paa) (sygehus|hospital)"
_OUTPATIENT = re.compile(r"\b(kontrol|ambulant)")


def _who(folded: str) -> str | None:
    if re.search(
        r"\b(min|vores) (soen|datter|dreng|pige|barn|boern|baby)\b|\bmit barn\b|\bvores barn\b", folded
    ):
        return "parent"
    if re.search(
        r"\bsom (sygeplejerske|laege|paedagog|terapeut|fysioterapeut|ergoterapeut|sagsbehandler|laerer|sundhedsplejerske)\b|\bjeg arbejder som\b",
        folded,
    ):
        return "professional"
    if re.search(
        r"\b(min|vores) (mor|far|mormor|morfar|farmor|farfar|mand|kone|hustru|bror|soester|nabo|ven|veninde|svigermor|svigerfar|oldemor)\b",
        folded,
    ):
        return "relative"
    if re.search(r"\bjeg er \d|\bjeg selv\b|\btil mig selv\b|\bmig selv\b|\bjeg har\b|\bkan jeg\b", folded):
        return "self"
    return None


def _special_school(folded: str) -> str | None:
    for prof in profiles().values():
        for school in prof.special_schools:
            if fold(school) in folded:
                return school
    return None
