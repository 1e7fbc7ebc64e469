"""The summary as text or CSV: `python -m bot report`, and the CSV exports of the pages."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Sequence

from bot.analytics.queries import FunnelStep, NotUnderstoodGroup, Overview
from bot.analytics.records import ConversationRecord
from bot.analytics.texts import (
    duration,
    municipality_name,
    number,
    outcome_label,
    percent,
    question_label,
    text,
)

TOP = 5


def _csv(rows: Sequence[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in rows:
        writer.writerow(["" if v is None else _safe_cell(v) for v in row])
    return buffer.getvalue()


def _safe_cell(value: object) -> object:
    """No spreadsheet formulas from citizens' text (CSV injection), no NUL (CSV cannot hold one), and
    line breaks as "\n" (a lone "\r" is not quoted by the writer and would start a new row)."""
    if not isinstance(value, str):
        return value
    value = value.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n")
    if value[:1] in ("=", "+", "-", "@", "\t"):
        return "'" + value
    return value


def overview_rows(figures: Overview) -> list[tuple[str, object]]:
    """Metric name and value, machine-readable (rates as fractions, durations in seconds)."""
    rows: list[tuple[str, object]] = [
        ("conversations", figures.conversations),
        ("completed", figures.completed),
        ("completion_rate", _round(figures.completion_rate)),
        ("handoffs", figures.handoffs),
        ("handoff_rate", _round(figures.handoff_rate)),
        ("drafts_created", figures.drafts_created),
        ("with_fallback", figures.with_fallback),
        ("median_turns", figures.median_turns),
        ("median_duration_seconds", figures.median_duration_seconds),
    ]
    rows += [(f"channel_{c}", n) for c, n in figures.channels.items()]
    rows += [(f"outcome_{o}", n) for o, n in figures.outcomes.items()]
    return rows


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def overview_csv(figures: Overview) -> str:
    return _csv([("metric", "value"), *overview_rows(figures)])


def funnel_csv(steps: Sequence[FunnelStep]) -> str:
    return _csv(
        [("question", "label", "reached", "left", "left_rate")]
        + [(s.question, question_label(s.question), s.reached, s.left, _round(s.left_rate)) for s in steps]
    )


def not_understood_csv(groups: Sequence[NotUnderstoodGroup]) -> str:
    """Ready to become NLU examples: text, count, a blank intent to fill in, then the variants."""
    return _csv(
        [("text", "count", "suggested_intent", "kinds", "variants", "junk")]
        + [
            (
                g.text,
                g.count,
                "",
                " ".join(f"{k}:{n}" for k, n in sorted(g.kinds.items())),
                " | ".join(g.variants),
                "yes" if g.junk else "no",
            )
            for g in groups
        ]
    )


def conversations_csv(records: Sequence[ConversationRecord]) -> str:
    header = (
        "conversation_id",
        "started",
        "municipality",
        "channel",
        "turns",
        "duration_seconds",
        "questions_answered",
        "outcome",
        "fallbacks",
        "handoff_requested",
        "draft_created",
        "last_question",
    )
    return _csv(
        [header]
        + [
            (
                r.sender_id,
                r.started.isoformat(timespec="seconds"),
                r.municipality,
                r.channel,
                r.turns,
                r.duration_seconds,
                r.questions_answered,
                r.outcome or "unfinished",
                r.fallbacks,
                int(r.handoff_requested),
                int(r.draft_created),
                r.last_question,
            )
            for r in records
        ]
    )


def report_text(
    figures: Overview,
    steps: Sequence[FunnelStep],
    groups: Sequence[NotUnderstoodGroup],
    *,
    since: dt.datetime,
    until: dt.datetime,
    municipality: str | None,
) -> str:
    """The overview for a terminal, in Danish."""
    o = "overview"
    lines = [text("report.title", since=f"{since:%Y-%m-%d %H:%M}", until=f"{until:%Y-%m-%d %H:%M}")]
    if municipality:
        lines.append(text("report.municipality", municipality=municipality_name(municipality)))
    lines.append("")
    figure_rows = [
        (text(f"{o}.conversations"), str(figures.conversations)),
        (text(f"{o}.completed"), f"{figures.completed} ({percent(figures.completion_rate)})"),
        (text(f"{o}.handoffs"), f"{figures.handoffs} ({percent(figures.handoff_rate)})"),
        (text(f"{o}.drafts_created"), str(figures.drafts_created)),
        (text(f"{o}.with_fallback"), str(figures.with_fallback)),
        (text(f"{o}.median_turns"), number(figures.median_turns)),
        (text(f"{o}.median_duration"), duration(figures.median_duration_seconds)),
    ]
    figure_rows += [(text(f"channels.{c}"), str(n)) for c, n in figures.channels.items()]
    width = max(len(label) for label, _ in figure_rows)
    lines += [f"{label:<{width}}  {value}" for label, value in figure_rows]
    lines += ["", text(f"{o}.outcomes")]
    lines += [f"  {outcome_label(k):<{width - 2}}  {n}" for k, n in figures.outcomes.items()]
    left = sorted((s for s in steps if s.left), key=lambda s: -s.left)[:TOP]
    if left:
        lines += ["", text("report.top_left")]
        lines += [f"  {question_label(s.question):<{width - 2}}  {s.left} / {s.reached}" for s in left]
    if groups:
        lines += ["", text("report.top_not_understood")]
        lines += [f"  {g.count:>4}  {g.text}" for g in groups[:TOP]]
    return "\n".join(lines) + "\n"
