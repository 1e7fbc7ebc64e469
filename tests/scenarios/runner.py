"""The scenario table (`tests/scenarios/<route>.yml`): loading, validation and the checks.

Shared by the rules tests (`test_scenarios_rules.py`), the live tests over Rasa's REST channel
(`test_scenarios_live.py`) and the caseworker's page (`scripts/scenarios_md.py` ->
`docs/scenarios.md`). Expectations come from the seeds and DOMAIN.md, never from the code.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from functools import cache
from pathlib import Path
from typing import Any, Mapping, Sequence

import yaml

from bot.questions import question
from bot.text import fold

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SHARED = ROOT.parent / "shared"
SEEDS = SHARED / "seeds"
DOC = ROOT / "docs" / "scenarios.md"

# One file per expected outcome, in the order the page shows them.
ROUTES: tuple[str, ...] = ("maintenance_training", "free_physiotherapy", "rehabilitation", "home_training", "none")
TOPICS: tuple[str | None, ...] = (None, *ROUTES[:4])
# Every option of the municipality question: one per profile (bot/data/municipalities/), then "other".
MUNICIPALITIES: tuple[str, ...] = tuple(question("municipality").options)
BOUNDARY_AGES: tuple[int, ...] = (0, 17, 18, 66, 67, 120)
DEFAULT_TODAY = dt.date(2026, 11, 30)
# The live bot runs on today's date: cases for an earlier law period are for the rules only.
LIVE_FROM = dt.date(2026, 1, 1)

# The words that name a route in the opening, as the bot reads them (bot.conversation._TOPIC_WORDS):
# the first that occurs in the folded text decides.
TOPIC_WORDS: tuple[tuple[str, str], ...] = (
    ("hjemmetraen", "home_training"),
    ("vederlagsfri", "free_physiotherapy"),
    ("gratis fys", "free_physiotherapy"),
    ("genoptraen", "rehabilitation"),
    ("vedligehold", "maintenance_training"),
)

Answer = int | str


@dataclasses.dataclass(frozen=True)
class Seed:
    file: str
    quote: str

    def path(self) -> Path:
        return SHARED / self.file if self.file == "DOMAIN.md" else SEEDS / self.file


@dataclasses.dataclass(frozen=True)
class Expect:
    offer: str
    legal: tuple[str, ...]
    not_legal: tuple[str, ...] = ()
    complaint_body: str | None = None
    unknowns: tuple[str, ...] | None = None
    must_say: tuple[str, ...] = ()
    must_not_say: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Case:
    id: str
    route: str  # the file it is in: the expected offer
    title: str
    who: str
    opening: str
    topic: str | None
    facts: Mapping[str, Answer]
    today: dt.date
    live: bool
    expect: Expect
    seed: Seed

    @property
    def municipality(self) -> str:
        return str(self.facts["municipality"])

    @property
    def age(self) -> int:
        age = self.facts["age"]
        assert isinstance(age, int)
        return age


class ScenarioError(ValueError):
    pass


_CASE_KEYS = {"id", "title", "who", "opening", "topic", "facts", "today", "live", "expect", "seed"}
_REQUIRED = {"id", "title", "who", "opening", "topic", "facts", "expect", "seed"}
_EXPECT_KEYS = {"offer", "legal", "not_legal", "complaint_body", "unknowns", "must_say", "must_not_say"}
_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def _strings(raw: Any, where: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(s, str) and s for s in raw):
        raise ScenarioError(f"{where}: a list of non-empty strings, got {raw!r}")
    return tuple(raw)


def _case(raw: Mapping[str, Any], route: str) -> Case:
    where = f"{route}.yml {raw.get('id', '?')}"
    if not isinstance(raw, dict) or set(raw) - _CASE_KEYS or _REQUIRED - set(raw):
        raise ScenarioError(f"{where}: keys {sorted(raw)}; required {sorted(_REQUIRED)}, allowed {sorted(_CASE_KEYS)}")
    expect = raw["expect"]
    if not isinstance(expect, dict) or set(expect) - _EXPECT_KEYS or not {"offer", "legal"} <= set(expect):
        raise ScenarioError(f"{where}: expect keys {sorted(expect)}; allowed {sorted(_EXPECT_KEYS)}")
    facts = raw["facts"]
    if not isinstance(facts, dict) or not all(isinstance(v, (int, str)) and not isinstance(v, bool) for v in facts.values()):
        raise ScenarioError(f"{where}: facts must map names to strings or an int age (quote \"yes\"/\"no\"): {facts!r}")
    seed = raw["seed"]
    if not isinstance(seed, dict) or set(seed) != {"file", "quote"}:
        raise ScenarioError(f"{where}: seed needs file and quote")
    today = raw.get("today", DEFAULT_TODAY)
    if not isinstance(today, dt.date):
        raise ScenarioError(f"{where}: today must be a date (YYYY-MM-DD)")
    unknowns = expect.get("unknowns")
    return Case(
        id=str(raw["id"]),
        route=route,
        title=str(raw["title"]),
        who=str(raw["who"]),
        opening=str(raw["opening"]),
        topic=raw["topic"],
        facts=dict(facts),
        today=today,
        live=bool(raw.get("live", True)),
        expect=Expect(
            offer=str(expect["offer"]),
            legal=_strings(expect["legal"], f"{where} legal"),
            not_legal=_strings(expect.get("not_legal", []), f"{where} not_legal"),
            complaint_body=expect.get("complaint_body"),
            unknowns=None if unknowns is None else _strings(unknowns, f"{where} unknowns"),
            must_say=_strings(expect.get("must_say", []), f"{where} must_say"),
            must_not_say=_strings(expect.get("must_not_say", []), f"{where} must_not_say"),
        ),
        seed=Seed(file=str(seed["file"]), quote=str(seed["quote"])),
    )


@cache
def load_cases() -> tuple[Case, ...]:
    """Every case, route by route, in file order."""
    cases: list[Case] = []
    for route in ROUTES:
        data = yaml.safe_load((HERE / f"{route}.yml").read_text(encoding="utf-8"))
        cases += [_case(raw, route) for raw in data["cases"]]
    return tuple(cases)


def live_cases() -> tuple[Case, ...]:
    return tuple(case for case in load_cases() if case.live)


# -- reading the citizen's words and the seeds ---------------------------------------------------
def topic_named(opening: str) -> str | None:
    """The route the opening names, read as the bot reads it."""
    folded = fold(opening)
    return next((topic for word, topic in TOPIC_WORDS if word in folded), None)


def normalise(text: str) -> str:
    """Seed text as one line: PDF hyphenation joined, whitespace collapsed."""
    text = re.sub(r"-\s*\n\s*(?=[a-zæøå])", "", text)
    return re.sub(r"\s+", " ", text).strip()


# -- checking an outcome ---------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Rule:
    """A claim no outcome may make (issue 12), with why."""

    pattern: str  # a regular expression, matched case-insensitively
    shown: str  # the same for a caseworker
    why: str
    askers: tuple[str, ...] = ()  # only when one of these asks (facts["who"]); empty: always


GLOBAL_RULES: tuple[Rule, ...] = (
    Rule(
        r"\b(til|på|hjælpe|for|med) du\b",
        "til du, på du, hjælpe du, for du, med du",
        "forkert dansk: 'du' som genstand skal være 'dig'",
    ),
    Rule(
        r"har et svært, varigt fysisk handicap",
        "har et svært, varigt fysisk handicap",
        "det er lægen, der vurderer handicappet; det må ikke stå som en kendsgerning",
    ),
    Rule(
        r"har en fremadskridende sygdom\.",
        "har en fremadskridende sygdom.",
        "det er speciallægen, der stiller diagnosen; den må ikke stå som en kendsgerning",
    ),
    Rule(
        r"kommer først på tale, når genoptræningen er slut",
        "kommer først på tale, når genoptræningen er slut",
        "står ikke i nogen af kommunernes tekster",
    ),
    Rule(
        r"Der er ikke et træningstilbud at søge her",
        "Der er ikke et træningstilbud at søge her",
        "man kan altid søge og få en skriftlig afgørelse",
    ),
    Rule(
        r"besøger dig\b",
        "besøger dig",
        "det er en anden end den, der skriver, som træningen er til",
        ("relative", "professional", "parent"),
    ),
    Rule(
        r"\bdin (egen )?læge\b",
        "din læge, din egen læge",
        "det er en anden end den, der skriver, som træningen er til",
        ("relative", "professional", "parent"),
    ),
)


def cites(citation: str, wanted: str) -> bool:
    """'Sundhedsloven § 140' is cited by 'Sundhedsloven § 140' and '... § 140, stk. 1', not by '§ 140a'."""
    if not citation.startswith(wanted):
        return False
    rest = citation[len(wanted) :]
    return not rest or not rest[0].isalnum()


def check_outcome(case: Case, payload: Mapping[str, Any], text: str, *, live: bool = False) -> list[str]:
    """Every way `custom.outcome` and its text differ from what the case expects (empty: all good).

    Live, the bot may not know who is asking (it is never asked), so the asker's rules and
    `must_say` (worded for that asker) are checked in the rules tests only.
    """
    exp = case.expect
    problems: list[str] = []
    if payload.get("offer") != exp.offer:
        problems.append(f"offer {payload.get('offer')!r}, expected {exp.offer!r}")
    citations = [str(ref.get("citation", "")) for ref in payload.get("legal_basis") or []]
    for wanted in exp.legal:
        if not any(cites(c, wanted) for c in citations):
            problems.append(f"legal basis lacks {wanted!r}: {citations}")
    if not exp.legal and citations:
        problems.append(f"no legal basis expected, got {citations}")
    for unwanted in exp.not_legal:
        if any(cites(c, unwanted) for c in citations):
            problems.append(f"legal basis must not cite {unwanted!r}: {citations}")
    municipality = None if case.municipality == "other" else case.municipality
    if payload.get("municipality") != municipality:
        problems.append(f"municipality {payload.get('municipality')!r}, expected {municipality!r}")
    if exp.complaint_body is not None:
        complaint = payload.get("complaint")
        body = complaint.get("body") if isinstance(complaint, Mapping) else None
        if body != exp.complaint_body:
            problems.append(f"complaint body {body!r}, expected {exp.complaint_body!r} (custom.outcome.complaint)")
        if exp.complaint_body and exp.complaint_body.casefold() not in text.casefold():
            problems.append(f"the text does not name the complaint body {exp.complaint_body!r}")
    if exp.unknowns is not None:
        got = payload.get("unknowns")
        if not isinstance(got, list):
            problems.append(f"custom.outcome.unknowns missing (expected {list(exp.unknowns)})")
        else:
            names = [u.get("fact") if isinstance(u, Mapping) else u for u in got]
            missing = [u for u in exp.unknowns if u not in names]
            if missing:
                problems.append(f"unknowns {names} lack {missing}")
            if not exp.unknowns and names:
                problems.append(f"no unknowns expected, got {names}")
    folded = text.casefold()
    if not live:
        problems += [f"text lacks {s!r}" for s in exp.must_say if s.casefold() not in folded]
    problems += [f"text says {s!r}" for s in exp.must_not_say if s.casefold() in folded]
    asker = case.facts.get("who")
    for rule in GLOBAL_RULES:
        if rule.askers and (live or asker not in rule.askers):
            continue
        match = re.search(rule.pattern, text, flags=re.IGNORECASE)
        if match:
            problems.append(f"text says {match.group(0)!r}: {rule.why}")
    return problems


# -- the REST channel's replies ---------------------------------------------------------------------
def outcome_in(messages: Sequence[Mapping[str, Any]]) -> tuple[dict[str, Any], str] | None:
    """`custom.outcome` and its text, from the one message that carries both (bot/rasa_channel.py)."""
    for message in messages:
        custom = message.get("custom")
        if isinstance(custom, Mapping) and "outcome" in custom:
            return dict(custom["outcome"]), str(message.get("text") or "")
    return None


def question_in(messages: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    found = [m["custom"]["question"] for m in messages if "question" in (m.get("custom") or {})]
    return dict(found[-1]) if found else None
