"""The action server's CPU cuts (issue 9, bench/action_cpu.py) answer as the code they replaced.

Each cut is checked against the plain version it replaced, kept here as the reference: the
phrase matcher with its per-slot index (`Matcher.find`) against trying every alternative of
every slot from every word, and a list of phrases searched by the index of their first slots
(`Matcher.first`, `Phrases`) against trying each phrase in turn; `fold`'s cache against folding again; the diagnoses compiled once
against compiling them per call; the action's one walk over the events (`slots_of`) and its
base URL against `Settings.from_env`.
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping, Sequence

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rasa_sdk import Tracker

from actions.actions import slots_of
from bot import text as text_module
from bot import vocabulary
from bot.config import BASE_URL_ENV, PORT_ENV, Settings, base_url_from_env
from bot.municipality import profiles
from bot.parse import _municipality_phrases
from bot.state import OLD_SLOT_NAMES, SLOTS
from bot.text import fold
from bot.vocabulary import GAP_WORDS, Match, Matcher, Phrase, Phrases, Slot, Token, parse_phrase, tokens
from tests.properties.strategies import DANISH

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# -- the matcher, as it was: every alternative of every slot tried from every word -------------


def _reference_at(
    matcher: Matcher, slots: Sequence[Slot], words: Sequence[Token], i: int
) -> Iterator[tuple[int, list[int]]]:
    if not slots:
        yield i, []
        return
    slot, rest = slots[0], slots[1:]
    if slot == "gap":
        for skip in range(GAP_WORDS + 1):
            if i + skip > len(words) or any(w.folded in matcher.breakers for w in words[i : i + skip]):
                return
            for end, gaps in _reference_at(matcher, rest, words, i + skip):
                yield end, [*range(i, i + skip), *gaps]
        return
    if i >= len(words):
        return
    token = words[i]
    if slot == "number":
        ok = token.folded.isdigit()
    else:
        ok = any(word.matches(token, matcher.threshold, matcher.min_length) for word in slot)
    if ok:
        yield from _reference_at(matcher, rest, words, i + 1)


def reference_find(matcher: Matcher, phrase: Phrase, words: Sequence[Token]) -> Match | None:
    first: Match | None = None
    for start in range(len(words)):
        for end, gaps in _reference_at(matcher, phrase.slots, words, start):
            negated = any(words[i].folded in matcher.negations for i in gaps) or matcher.negated_before(
                words, start
            )
            match = Match(start, end, negated)
            if not negated:
                return match
            first = first or match
    return first


def reference_first(matcher: Matcher, phrases: Sequence[Phrase], words: Sequence[Token]) -> Match | None:
    """As `bot.parse._find` was: each phrase in order, the first match not negated, else the first."""
    negated: Match | None = None
    for phrase in phrases:
        match = reference_find(matcher, phrase, words)
        if match is not None and not match.negated:
            return match
        negated = negated or match
    return negated


def all_phrases() -> list[Phrase]:
    compiled = vocabulary.compiled()
    found: list[Phrase] = [*compiled.diagnoses()]
    for fact, options in compiled.data.choices.items():
        for value in options:
            found += compiled.phrases(fact, value, answer=True)
    for name, _ in compiled.data.statements:
        found += compiled.statement(name)
    return found


# The vocabulary's phrases, and a few that start with a number or a prefix, or have a gap.
PHRASES = [
    *all_phrases(),
    *map(parse_phrase, ["<tal> år", "<tal> ... gammel", "indlæg* ... sygehus*", "ikke|aldrig ... selv"]),
]
# Words a citizen might write: the vocabulary's own (from its phrases' texts), negations, clause
# breakers, numbers, and some that are in no phrase.
VOCABULARY_WORDS = sorted(
    {w.strip("*") for p in PHRASES for part in p.text.split() for w in part.split("|") if w != "..."}
    - {"<tal>"}
)
FILLER = ["ikke", "ingen", "aldrig", "men", "fordi", ",", ".", "og", "jeg", "har", "8", "84", "min", "en"]


@st.composite
def typed(draw: st.DrawFn) -> str:
    """One word as typed: a vocabulary word (maybe inflected, misspelt, capitalised) or filler."""
    word = draw(st.sampled_from(VOCABULARY_WORDS) | st.sampled_from(FILLER))
    change = draw(st.sampled_from(["as is", "suffix", "typo", "insert", "drop", "upper"]))
    if change == "suffix":
        word += draw(st.sampled_from(["en", "et", "s", "erne", "e", "t"]))
    elif change == "typo" and len(word) > 2:
        i = draw(st.integers(1, len(word) - 1))
        word = word[:i] + draw(st.sampled_from("aeiouykst")) + word[i + 1 :]
    elif change == "insert" and len(word) > 2:
        i = draw(st.integers(1, len(word) - 1))
        word = word[:i] + draw(st.sampled_from("aeiouykst")) + word[i:]
    elif change == "drop" and len(word) > 4:
        i = draw(st.integers(1, len(word) - 1))
        word = word[:i] + word[i + 1 :]
    elif change == "upper":
        word = word.upper()
    return word


messages = st.lists(typed(), min_size=0, max_size=12).map(" ".join)


@PROPERTY
@given(message=messages, phrases=st.lists(st.sampled_from(PHRASES), min_size=1, max_size=25))
def test_the_indexed_matcher_finds_what_trying_every_alternative_finds(
    message: str, phrases: list[Phrase]
) -> None:
    matcher = vocabulary.compiled().matcher
    words = tokens(message)
    for phrase in phrases:
        assert matcher.find(phrase, words) == reference_find(matcher, phrase, words)


@PROPERTY
@given(message=messages)
def test_every_phrase_of_the_vocabulary_matches_as_before(message: str) -> None:
    matcher = vocabulary.compiled().matcher
    words = tokens(message)
    found = [matcher.find(p, words) for p in PHRASES]
    assert found == [reference_find(matcher, p, words) for p in PHRASES]


@PROPERTY
@given(message=messages, phrases=st.lists(st.sampled_from(PHRASES), max_size=30))
def test_the_first_of_a_list_of_phrases_is_found_as_by_trying_each_phrase(
    message: str, phrases: list[Phrase]
) -> None:
    matcher = vocabulary.compiled().matcher
    words = tokens(message)
    expected = reference_first(matcher, phrases, words)
    assert matcher.first(Phrases(phrases), words) == expected  # by the index of the first slots
    assert matcher.first(tuple(phrases), words) == expected  # a plain tuple: phrase by phrase


def vocabulary_lists() -> list[Phrases]:
    """Every list of phrases the parsers try: options, statements, diagnoses, municipalities."""
    compiled = vocabulary.compiled()
    lists = [compiled.diagnoses(type=t, child=c) for t in (None, "progressive") for c in (None, True)]
    lists += [compiled.statement(name) for name, _ in compiled.data.statements]
    lists += [
        compiled.phrases(fact, value, answer=answer)
        for fact, options in compiled.data.choices.items()
        for value in options
        for answer in (False, True)
    ]
    return lists + [_municipality_phrases(m) for m in profiles()]


@PROPERTY
@given(message=messages)
def test_every_list_of_the_vocabulary_is_searched_as_before(message: str) -> None:
    matcher = vocabulary.compiled().matcher
    words = tokens(message)
    for phrases in vocabulary_lists():
        assert isinstance(phrases, Phrases)
        assert matcher.first(phrases, words) == reference_first(matcher, phrases, words)


def test_each_phrase_said_as_written_is_found_as_before() -> None:
    """Every phrase in the vocabulary, written out (gaps and numbers filled), alone and negated."""
    matcher = vocabulary.compiled().matcher
    for phrase in PHRASES:
        for wording in vocabulary.expand(phrase.text.replace("...", "meget").replace("<tal>", "8"))[:4]:
            for message in (wording, f"ikke {wording}", f"jeg {wording}, men"):
                words = tokens(message.replace("*", "er"))
                assert matcher.find(phrase, words) == reference_find(matcher, phrase, words), message


def test_a_five_letter_word_with_a_letter_more_is_a_typo_as_before() -> None:
    """The shortest words that match with a typo (`fuzzy.min_length`), at the threshold's edge."""
    matcher = vocabulary.compiled().matcher
    short = [p for p in PHRASES if any(len(w) == matcher.min_length for w in p.text.split())]
    assert short
    for phrase in short:
        for word in (w for w in phrase.text.split() if len(w) == matcher.min_length and w.isalpha()):
            for message in (word[:2] + "y" + word[2:], word[:3] + "k" + word[3:]):
                words = tokens(message)
                assert matcher.find(phrase, words) == reference_find(matcher, phrase, words), message


def test_a_phrase_keeps_its_index_and_compares_by_its_text_and_slots() -> None:
    phrase = parse_phrase("min|vores søn|datter ... indlæg*")
    again = parse_phrase("min|vores søn|datter ... indlæg*")
    assert phrase == again and hash(phrase) == hash(again)
    assert [a is None for a in phrase.alternatives] == [False, False, True, False]
    assert phrase.alternatives[3] is not None and phrase.alternatives[3].prefixes == ("indleg",)


# -- fold: remembered for short texts, as folded again --------------------------------------------


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=80) | st.sampled_from(DANISH) | st.text(min_size=490, max_size=520))
def test_fold_remembered_is_fold_again(message: str) -> None:
    uncached = text_module._fold.__wrapped__
    assert fold(message) == uncached(message)
    assert fold(message) == uncached(message)  # the second call comes from the cache


def test_fold_of_a_long_text_is_not_kept() -> None:
    text_module._fold.cache_clear()
    long = "Æbler og ØL " * 100
    assert fold(long) == text_module._fold.__wrapped__(long)
    assert text_module._fold.cache_info().currsize == 0


# -- the diagnoses, compiled once ------------------------------------------------------------------


def test_the_diagnoses_compiled_once_are_those_compiled_per_call() -> None:
    compiled = vocabulary.compiled()
    data = compiled.data
    for type_ in (None, "progressive", "severe_physical", "nonsense"):
        for child in (None, True, False):
            fresh = tuple(
                parse_phrase(name)
                for d in data.diagnoses
                if (type_ is None or d.type == type_) and (child is None or d.child == child)
                for name in d.names
            )
            assert compiled.diagnoses(type=type_, child=child) == fresh
            assert compiled.diagnoses(type=type_, child=child) is compiled.diagnoses(type=type_, child=child)


# -- the action: one walk over the events, the base URL alone -------------------------------------


def reference_slots_of(tracker: Tracker) -> dict[str, Any]:
    old: dict[str, Any] = {}
    for event in tracker.events:
        kind, name = event.get("event"), event.get("name")
        if kind in ("restart", "session_started"):
            old.clear()
        elif kind == "slot" and name in OLD_SLOT_NAMES:
            old[name] = event.get("value")
        elif kind == "slot" and name in OLD_SLOT_NAMES.values():
            old = {k: v for k, v in old.items() if OLD_SLOT_NAMES[k] != name}
    return {**old, **{name: tracker.get_slot(name) for name in SLOTS}}


slot_names = st.sampled_from([*OLD_SLOT_NAMES, *SLOTS, "handled_as", None])
events = st.lists(
    st.one_of(
        st.fixed_dictionaries(
            {"event": st.just("slot"), "name": slot_names, "value": st.integers(0, 3) | st.none()}
        ),
        st.fixed_dictionaries({"event": st.sampled_from(["restart", "session_started", "user", "bot"])}),
        st.just({}),
    ),
    max_size=30,
)


@PROPERTY
@given(events=events, slots=st.dictionaries(st.sampled_from(SLOTS), st.integers(0, 3), max_size=4))
def test_slots_of_reads_the_events_as_before(events: list[dict[str, Any]], slots: dict[str, Any]) -> None:
    tracker = Tracker("s", slots, {}, events, False, None, {}, "action_listen")
    assert slots_of(tracker) == reference_slots_of(tracker)


@given(
    env=st.fixed_dictionaries(
        {},
        optional={
            BASE_URL_ENV: st.sampled_from(["https://traeningsguiden.example", "http://x:1", ""]),
            PORT_ENV: st.sampled_from(["8080", "9000"]),
        },
    )
)
def test_the_base_url_alone_is_the_settings_base_url(env: Mapping[str, str]) -> None:
    assert base_url_from_env(env) == Settings.from_env(env).base_url
