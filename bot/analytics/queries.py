"""Figures over conversation records: overview, funnel, "not understood", filtered lists.

Plain functions over `ConversationRecord`s, the same whichever store they came
from (Rasa's tracker store or the analytics consumer's table).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import re
import statistics
from typing import TYPE_CHECKING, Iterable, Sequence

from rapidfuzz import fuzz, process

from bot.analytics.records import Channel, ConversationRecord, NotUnderstoodKind
from bot.drafts.dialogue import STEPS
from bot.questions import questions
from bot.rules import OFFERS
from bot.text import fold

if TYPE_CHECKING:  # the store needs SQLAlchemy; these functions do not
    from bot.analytics.store import AnalyticsStore

UNFINISHED = "unfinished"
OUTCOME_KEYS: tuple[str, ...] = (*OFFERS, UNFINISHED)
_PUNCTUATION = re.compile(r"[^\w\s\[\]]+")
SIMILARITY = 0.8  # difflib ratio of folded texts at or above which two messages are one group


@dataclasses.dataclass(frozen=True)
class Filters:
    """What a list or a figure is restricted to; None means any."""

    since: dt.datetime | None = None
    until: dt.datetime | None = None
    municipality: str | None = None
    channel: Channel | None = None
    outcome: str | None = None  # an offer or "unfinished"
    handoff: bool | None = None
    fallback: bool | None = None
    draft: bool | None = None

    def accepts(self, record: ConversationRecord) -> bool:
        checks = (
            self.since is None or record.started >= self.since,
            self.until is None or record.started < self.until,
            self.municipality is None or record.municipality == self.municipality,
            self.channel is None or record.channel == self.channel,
            self.outcome is None or (record.outcome or UNFINISHED) == self.outcome,
            self.handoff is None or record.handoff_requested == self.handoff,
            self.fallback is None or (record.fallbacks > 0) == self.fallback,
            self.draft is None or record.draft_created == self.draft,
        )
        return all(checks)


def select(records: Iterable[ConversationRecord], filters: Filters) -> list[ConversationRecord]:
    """Conversations with at least one message that pass `filters`, newest first."""
    chosen = [r for r in records if r.turns > 0 and filters.accepts(r)]
    return sorted(chosen, key=lambda r: (r.started, r.sender_id), reverse=True)


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _median(values: Sequence[float]) -> float | None:
    return float(statistics.median(values)) if values else None


@dataclasses.dataclass(frozen=True)
class Overview:
    conversations: int
    completed: int
    completion_rate: float | None
    outcomes: dict[str, int]  # every offer and "unfinished", in OUTCOME_KEYS order
    handoffs: int
    handoff_rate: float | None
    drafts_created: int
    with_fallback: int
    channels: dict[str, int]
    median_turns: float | None
    median_duration_seconds: float | None


def overview(records: Sequence[ConversationRecord]) -> Overview:
    """The overview figures of already selected records."""
    total = len(records)
    completed = sum(1 for r in records if r.completed)
    handoffs = sum(1 for r in records if r.handoff_requested)
    outcomes = {key: 0 for key in OUTCOME_KEYS}
    for record in records:
        key = record.outcome if record.outcome in outcomes else UNFINISHED
        outcomes[key or UNFINISHED] += 1
    return Overview(
        conversations=total,
        completed=completed,
        completion_rate=_rate(completed, total),
        outcomes=outcomes,
        handoffs=handoffs,
        handoff_rate=_rate(handoffs, total),
        drafts_created=sum(len(r.draft_references) for r in records),
        with_fallback=sum(1 for r in records if r.fallbacks),
        channels={c: sum(1 for r in records if r.channel == c) for c in ("citizen", "staff")},
        median_turns=_median([r.turns for r in records]),
        median_duration_seconds=_median([r.duration_seconds for r in records]),
    )


@dataclasses.dataclass(frozen=True)
class FunnelStep:
    question: str
    reached: int  # conversations in which the bot asked it
    left: int  # conversations that stopped with it unanswered

    @property
    def left_rate(self) -> float | None:
        return _rate(self.left, self.reached)


def question_order() -> tuple[str, ...]:
    """Questionnaire questions in their file order, then the draft steps."""
    return (*questions(), *(s.name for s in STEPS))


def funnel(records: Sequence[ConversationRecord]) -> list[FunnelStep]:
    """For each question asked at least once: how many reached it and how many left there."""
    order = list(question_order())
    for record in records:
        for fact in (*record.questions_reached, record.last_question):
            if fact and fact not in order:
                order.append(fact)
    steps = [
        FunnelStep(
            question=fact,
            reached=sum(1 for r in records if fact in r.questions_reached),
            left=sum(1 for r in records if r.last_question == fact),
        )
        for fact in order
    ]
    return [s for s in steps if s.reached or s.left]


@dataclasses.dataclass(frozen=True)
class NotUnderstoodGroup:
    text: str  # the most frequent wording in the group (masked)
    count: int
    kinds: dict[str, int]
    variants: tuple[str, ...]  # other wordings, most frequent first
    conversations: tuple[str, ...]
    junk: bool = False  # `is_junk(text)`: shown apart, below the real groups


_VOWELS = frozenset("aeiouy")


def is_junk(text: str) -> bool:
    """Whether a message has no words in it: noise, not something to train the bot on.

    Junk when, after folding (lower case, æ/ø/å as ae/oe/aa, accents dropped):
    - it has no letters at all ("🙂🙂", "?!?!", "1234"), or
    - all its letters are one character repeated ("ssss", "s s s!"), or
    - it has Latin letters only and no vowel among them (a e i o u y, æ ø å fold to them):
      keyboard mashing such as "sdfghj" or "xkcd". Text in another script (Arabic,
      Chinese, ...) is not judged by vowels, so it is never junk for having none.
    """
    letters = [c for c in fold(text) if c.isalpha()]
    if len(set(letters)) <= 1:
        return True
    if all(c.isascii() for c in letters):
        return not _VOWELS.intersection(letters)
    return False


def normalise(text: str) -> str:
    """Folded, punctuation dropped, digits kept (the key two messages are compared by)."""
    return " ".join(_PUNCTUATION.sub(" ", fold(text)).split())


def _similar(a: str, b: str) -> bool:
    if a == b:
        return True
    if set(a.split()) == set(b.split()):
        return True
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio() >= SIMILARITY


class _Grouping:
    """The groups made so far, and the first one a key is `_similar` to, without trying every group.

    Same word sets are looked up in a dict. For the rest, rapidfuzz's Indel ratio (C++, groups of
    another length skipped unread) picks the candidates: it is 2·LCS/(|a|+|b|) and difflib's
    matching blocks are a common subsequence, so it is never below difflib's ratio and every
    group `_similar` to the key is among them. difflib then confirms them in group order.
    Before, every key was compared with difflib to every group: over 9,779 fuzz messages the
    page did not answer in 120 s (bench/README.md, "Analyst pages at volume").
    """

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.items: list[list[tuple[str, NotUnderstoodKind, str]]] = []
        self._by_words: dict[frozenset[str], int] = {}

    def home(self, key: str) -> int | None:
        found = self._by_words.get(frozenset(key.split()))
        candidates = process.extract(
            key, self.keys, scorer=fuzz.ratio, score_cutoff=100 * SIMILARITY - 0.01, limit=None
        )
        for _, _, index in sorted(candidates, key=lambda c: c[2]):
            if found is not None and index >= found:
                break
            if difflib.SequenceMatcher(None, self.keys[index], key, autojunk=False).ratio() >= SIMILARITY:
                return int(index)
        return found

    def add(self, key: str, items: list[tuple[str, NotUnderstoodKind, str]]) -> None:
        home = self.home(key)
        if home is not None:
            self.items[home].extend(items)
            return
        self._by_words.setdefault(frozenset(key.split()), len(self.keys))
        self.keys.append(key)
        self.items.append(list(items))


def not_understood(records: Sequence[ConversationRecord]) -> list[NotUnderstoodGroup]:
    """Fallback and out-of-scope messages grouped by similar text, largest group first.

    Real groups come before junk groups (`is_junk`), each part largest first.
    """
    by_key: dict[str, list[tuple[str, NotUnderstoodKind, str]]] = {}
    for record in records:
        for item in record.not_understood:
            key = normalise(item.text)
            by_key.setdefault(key, []).append((item.text, item.kind, record.sender_id))
    # Greedy grouping: the most frequent keys become groups first; the rest join the first similar one.
    grouping = _Grouping()
    for key in sorted(by_key, key=lambda k: (-len(by_key[k]), k)):
        grouping.add(key, by_key[key])
    groups = list(zip(grouping.keys, grouping.items, strict=True))
    result = []
    for _, items in groups:
        wordings: dict[str, int] = {}
        kinds: dict[str, int] = {}
        conversations: list[str] = []
        for text, kind, sender in items:
            wordings[text] = wordings.get(text, 0) + 1
            kinds[kind] = kinds.get(kind, 0) + 1
            if sender not in conversations:
                conversations.append(sender)
        ranked = sorted(wordings, key=lambda w: (-wordings[w], w))
        result.append(
            NotUnderstoodGroup(
                text=ranked[0],
                count=len(items),
                kinds=kinds,
                variants=tuple(ranked[1:]),
                conversations=tuple(conversations),
                junk=is_junk(ranked[0]),
            )
        )
    return sorted(result, key=lambda g: (g.junk, -g.count, normalise(g.text)))


_SINCE = re.compile(r"^(\d{1,4})([dh])$")


def parse_since(value: str, now: dt.datetime) -> dt.datetime:
    """'7d', '24h' or an ISO date ('2026-01-31') as an aware UTC moment."""
    match = _SINCE.match(value.strip())
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        return now - (dt.timedelta(days=amount) if unit == "d" else dt.timedelta(hours=amount))
    try:
        day = dt.date.fromisoformat(value.strip())
    except ValueError as e:
        raise ValueError(f"not a period ('7d', '24h') or a date (YYYY-MM-DD): {value!r}") from e
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.timezone.utc)


def dead_lettered(
    analytics: AnalyticsStore | None, *, since: dt.datetime | None = None, until: dt.datetime | None = None
) -> int:
    """Events the analytics consumer gave up on in [since, until), for the overview.

    0 without the consumer's tables (the embedded profile reads Rasa's tracker store,
    which has no queue and nothing to dead-letter). Call it from a thread in async code.
    """
    if analytics is None:
        return 0
    return analytics.dead_letter_count(since=since, until=until)
