"""Overview, funnel, "not understood" groups and filters over hand-made records."""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import random

import pytest

from bot.analytics.queries import (
    Filters,
    funnel,
    is_junk,
    normalise,
    not_understood,
    overview,
    parse_since,
    select,
)
from bot.analytics.records import ConversationRecord, NotUnderstood

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)


def record(sender: str, **changes: object) -> ConversationRecord:
    base = ConversationRecord(
        sender_id=sender,
        municipality="ballerup",
        channel="citizen",
        started=T0,
        last_event=T0,
        duration_seconds=60.0,
        turns=4,
        questions_answered=3,
        questions_reached=("age", "hospital_stay"),
        outcome=None,
        fallbacks=0,
        handoff_requested=False,
        draft_created=False,
        draft_references=(),
        last_question="hospital_stay",
        not_understood=(),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


RECORDS = [
    record("a", outcome="rehabilitation", last_question=None, turns=2, duration_seconds=30.0),
    record("b", outcome="none", last_question=None, turns=6, handoff_requested=True),
    record(
        "c",
        draft_created=True,
        draft_references=("TG-2026-000001",),
        outcome="home_training",
        last_question=None,
        channel="staff",
        turns=10,
        duration_seconds=300.0,
    ),
    record("d", municipality="aarhus", started=T0 + dt.timedelta(days=3)),
    record("e", turns=0),  # opened, nothing written: not a conversation
]


def test_overview_counts_rates_and_medians() -> None:
    figures = overview(select(RECORDS, Filters()))
    assert figures.conversations == 4 and figures.completed == 3
    assert figures.completion_rate == pytest.approx(0.75)
    assert figures.handoffs == 1 and figures.handoff_rate == pytest.approx(0.25)
    assert figures.drafts_created == 1
    assert figures.outcomes["unfinished"] == 1 and figures.outcomes["rehabilitation"] == 1
    assert figures.outcomes["maintenance_training"] == 0
    assert figures.median_turns == 5.0 and figures.median_duration_seconds == 60.0
    assert figures.channels == {"citizen": 3, "staff": 1}


def test_empty_overview_has_no_rates() -> None:
    figures = overview([])
    assert figures.conversations == 0 and figures.completion_rate is None and figures.median_turns is None


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (Filters(municipality="aarhus"), ["d"]),
        (Filters(channel="staff"), ["c"]),
        (Filters(outcome="unfinished"), ["d"]),
        (Filters(outcome="none"), ["b"]),
        (Filters(handoff=True), ["b"]),
        (Filters(draft=True), ["c"]),
        (Filters(draft=False, handoff=False), ["d", "a"]),
        (Filters(since=T0 + dt.timedelta(days=1)), ["d"]),
        (Filters(until=T0 + dt.timedelta(days=1)), ["c", "b", "a"]),
    ],
)
def test_filters(filters: Filters, expected: list[str]) -> None:
    assert [r.sender_id for r in select(RECORDS, filters)] == expected


def test_funnel_counts_reached_and_left_in_question_order() -> None:
    steps = funnel(select(RECORDS, Filters()))
    assert [(s.question, s.reached, s.left) for s in steps] == [("age", 4, 0), ("hospital_stay", 4, 1)]
    assert steps[1].left_rate == pytest.approx(0.25)


def test_not_understood_groups_near_duplicates_and_counts() -> None:
    def nu(*texts: str) -> tuple[NotUnderstood, ...]:
        return tuple(NotUnderstood(t, "out_of_scope", None) for t in texts)

    records = [
        record("a", not_understood=nu("Hvornår bliver skraldet hentet?", "ssss")),
        record("b", not_understood=nu("hvornår bliver skraldet hentet", "sssss")),
        record("c", not_understood=nu("hvornaar bliver skraldet hentet ?", "Hvad koster en bus?")),
    ]
    groups = not_understood(records)
    assert [(g.count, len(g.conversations), g.junk) for g in groups] == [
        (3, 3, False),
        (1, 1, False),
        (2, 2, True),
    ]
    assert normalise(groups[0].text) == "hvornaar bliver skraldet hentet"
    assert len(groups[0].variants) == 2
    assert groups[1].text == "Hvad koster en bus?", "a real message ranks above a larger junk group"


@pytest.mark.parametrize(
    "text", ["ssss", "S s s!", "🙂🙂", "?!?!", "...", "1234", "", "sdfghj", "xkcd", "ßßß"]
)
def test_junk_has_no_words(text: str) -> None:
    assert is_junk(text)


@pytest.mark.parametrize(
    "text",
    ["Hvad koster en bus?", "ok", "ja", "på", "Øl", "hy", "Tak 🙂", "مرحبا", "你好", "Genoptræning"],
)
def test_a_message_with_a_word_is_not_junk(text: str) -> None:
    assert not is_junk(text)


def test_parse_since() -> None:
    now = dt.datetime(2026, 3, 10, 12, tzinfo=dt.timezone.utc)
    assert parse_since("7d", now) == now - dt.timedelta(days=7)
    assert parse_since("24h", now) == now - dt.timedelta(hours=24)
    assert parse_since("2026-03-01", now) == dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)
    with pytest.raises(ValueError, match="not a period"):
        parse_since("last week", now)


class CountingMatcher(difflib.SequenceMatcher):  # type: ignore[type-arg]
    """The real difflib matcher, counted: how many pairs of messages were compared in full."""

    made = 0

    def __init__(self, *args: object, **kwargs: object) -> None:
        CountingMatcher.made += 1
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]


def test_not_understood_at_fuzz_scale_groups_right_and_compares_each_message_a_bounded_number_of_times(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """About 700 conversations, 2,000 distinct messages: the fuzz run's "Ikke forstået" page.

    Grouping compared every new wording with every group in full (difflib, pure Python), so
    this page did not answer within 120 s after a 10,000-message fuzz run (bench/README.md).
    """
    rng = random.Random(10)
    letters = "abcdefghijklmnopqrstuvwxyzæøå      "
    noise = {"".join(rng.choice(letters) for _ in range(rng.randint(20, 120))).strip() for _ in range(2000)}
    families = {
        sentence: [sentence, f"{sentence.capitalize()}?", sentence[:-3] + sentence[-2:]]  # a typo: fuzzy
        for sentence in (
            "hvornår åbner svømmehallen i weekenden",
            "kan min hund komme med på holdet",
            "jeg vil klage over min læge",
            "hvad koster en buskort for pensionister",
            "må jeg parkere ved sundhedshuset",
        )
    }
    texts = [*noise] + [variant for variants in families.values() for variant in variants * 4]
    rng.shuffle(texts)
    nu = [NotUnderstood(t, "fallback", None) for t in texts]
    records = [record(f"s{i:03}", not_understood=tuple(nu[i::700])) for i in range(700)]
    monkeypatch.setattr(difflib, "SequenceMatcher", CountingMatcher)
    CountingMatcher.made = 0

    groups = not_understood(records)

    assert [(normalise(g.text), g.count) for g in groups[: len(families)]] == sorted(
        (normalise(key), 12) for key in families
    )
    assert {w for g in groups[: len(families)] for w in (g.text, *g.variants)} == {
        w for variants in families.values() for w in variants
    }
    assert sum(g.count for g in groups) == len(texts)
    assert len(groups) == len(families) + len({normalise(t) for t in noise})  # random text: no near twins
    assert CountingMatcher.made <= len(texts), "each wording is compared in full with a few groups at most"
