"""Danish that reads right for every asker: every text rendered for every subject.

Questions, reasons, unknowns, 'why not' lines, next steps and outcome titles are rendered for
the person asking about themselves, a parent about a child, and a relative or professional
about someone else. No rendered text may contain a form that breaks Danish ("til du",
"hjælpe du", "din læge" about somebody's mother), and the whole rendering is kept as a
reviewed golden file so that every wording change shows in the diff.
Regenerate after a reviewed change: TRAENINGSGUIDEN_UPDATE_GOLDEN=1 pytest tests/bot/test_copy_grammar.py
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Iterator, Mapping

import pytest

from bot import wording
from bot.datafiles import load_yaml
from bot.questions import questions

GOLDEN = Path(__file__).parent / "golden" / "copy_rendered.txt"
VOICED_SECTIONS = ("offers", "reasons", "why_not", "steps")

# (who is asking, the person's age) -> the subject the copy must speak about
ASKERS: dict[str, dict[str, Any]] = {
    "self-adult": {"who": "self", "age": 45},
    "self-senior": {"who": "self", "age": 80},
    "parent-child": {"who": "parent", "age": 8},
    "professional-child": {"who": "professional", "age": 8},
    "relative-senior": {"who": "relative", "age": 80},
    "professional-adult": {"who": "professional", "age": 45},
}
EXPECTED_SUBJECT = {
    "self-adult": "self",
    "self-senior": "self",
    "parent-child": "child",
    "professional-child": "child",
    "relative-senior": "other",
    "professional-adult": "other",
}

# "du" as the object of a verb or preposition is always wrong ("til dig", "hjælpe dig").
_OBJECT_DU = re.compile(
    r"\b(til|på|hjælpe|for|med|af|ved|hos|fra|besøger|henvist|henvise|give|giver|mod) du\b",
    re.IGNORECASE,
)
# About someone else, the asker's own doctor, needs or home are not the person's.
_ASKERS_OWN = re.compile(
    r"\b(din|dit|dine) (egen|eget|egne|læge|behov|færdigheder|situation|hjem|genoptræningsplan)\b"
    r"|\bbesøger dig\b|\bhenvist dig\b|\bhjælpe dig\b|\btil dig\b|\bDu har været indlagt\b",
    re.IGNORECASE,
)


def _paths(node: Any, prefix: str) -> Iterator[tuple[str, str | None]]:
    """(dotted path, municipality) for every text under `prefix` (municipality variants one each)."""
    assert isinstance(node, Mapping), prefix
    if "default" in node and not any(k in node for k in wording.SUBJECTS):
        for key in node:
            yield prefix, None if key == "default" else str(key)
        return
    if any(k in node for k in wording.SUBJECTS) or all(isinstance(v, str) for v in node.values()):
        if any(k in node for k in wording.SUBJECTS):
            yield prefix, None
            return
        for key in node:
            yield f"{prefix}.{key}", None
        return
    for key, child in node.items():
        yield from _paths(child, f"{prefix}.{key}")


def rendered() -> list[tuple[str, str, str]]:
    """(asker, path[@municipality], text) for every voiced text and every question."""
    data = load_yaml("copy_da.yml")
    rows: list[tuple[str, str, str]] = []
    for asker, facts in ASKERS.items():
        voice = wording.voice(facts)
        for fact in questions():
            for mode in ("citizen", "staff"):
                rows.append((asker, f"questions.{fact}.{mode}", wording.question_message(fact, facts, staff=mode == "staff").text))
            if "unknown" in data["questions"][fact]:  # a voiced line about the person, like the sections below
                rows.append((asker, f"questions.{fact}.unknown", voice.say(f"questions.{fact}.unknown")))
        for section in VOICED_SECTIONS:
            for path, municipality in _paths(data[section], section):
                key = f"{path}@{municipality}" if municipality else path
                rows.append((asker, key, voice.say(path, municipality)))
    return rows


def _asked(path: str) -> bool:
    """A question put to the asker (citizen or staff wording), not a line about the person."""
    return path.startswith("questions.") and path.endswith((".citizen", ".staff"))


def test_each_asker_gets_the_right_subject() -> None:
    for asker, facts in ASKERS.items():
        assert wording.subject_key(facts) == EXPECTED_SUBJECT[asker], asker


def test_no_text_puts_du_where_dig_belongs() -> None:
    offenders = [(a, p, t) for a, p, t in rendered() if _OBJECT_DU.search(t)]
    assert offenders == []


def test_no_text_about_someone_else_speaks_of_the_askers_own_doctor_or_home() -> None:
    offenders = [
        (a, p, t)
        for a, p, t in rendered()
        if EXPECTED_SUBJECT[a] != "self" and not _asked(p) and _ASKERS_OWN.search(t)
    ]
    assert offenders == []


# "du" takes the reflexive "dig", never "sig" ("Kan du selv træne sig tilbage?" was published).
_DU_SIG = re.compile(r"\bdu\b[^.?!,]*\bsig\b", re.IGNORECASE)


def test_du_takes_dig_not_sig() -> None:
    offenders = [(a, p, t) for a, p, t in rendered() if EXPECTED_SUBJECT[a] == "self" and _DU_SIG.search(t)]
    assert offenders == []


def test_no_placeholder_is_left_unfilled() -> None:
    assert [(a, p, t) for a, p, t in rendered() if "{" in t or "}" in t] == []


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("Har sygehuset lavet en genoptræningsplan til du?", True),
        ("Hvad passer bedst på du?", True),
        ("Træning, der skal hjælpe du med at bevare", True),
        ("Har sygehuset lavet en genoptræningsplan til dig?", False),
        ("Du kan altid søge kommunen.", False),
    ],
)
def test_the_forbidden_forms_catch_what_was_published(text: str, bad: bool) -> None:
    """The checks catch the sentences the review found on the old main."""
    assert bool(_OBJECT_DU.search(text)) is bad


def test_rendered_copy_matches_the_reviewed_golden_file() -> None:
    lines = [f"{asker} | {path} | {text}" for asker, path, text in rendered()]
    body = "\n".join(lines) + "\n"
    if os.environ.get("TRAENINGSGUIDEN_UPDATE_GOLDEN"):
        GOLDEN.write_text(body, encoding="utf-8")
    assert GOLDEN.read_text(encoding="utf-8") == body, (
        "copy changed: review tests/bot/golden/copy_rendered.txt, regenerate with TRAENINGSGUIDEN_UPDATE_GOLDEN=1"
    )
