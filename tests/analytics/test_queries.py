"""Overview, funnel, "not understood" groups and filters over hand-made records."""

from __future__ import annotations

import dataclasses
import datetime as dt

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
