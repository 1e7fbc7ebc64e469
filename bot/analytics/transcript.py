"""A conversation as analysts read it: turns, the bot's questions and the outcome payload.

Private by design: CPR numbers masked, draft links without their token, answers
typed into a draft's personal fields hidden, the draft review (which repeats
them) hidden, and any value of those fields removed wherever else it appears.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Iterable, Literal, Mapping, Sequence

from bot.analytics.records import HIDDEN, PRIVATE_STEPS, Event, Walker, clean, clean_text, moment

Speaker = Literal["user", "bot"]
REMOVED = "[skjult]"
_MIN_PRIVATE_LENGTH = 3


@dataclasses.dataclass
class Line:
    at: dt.datetime
    speaker: Speaker
    text: str = ""
    question: str | None = None
    outcome: Mapping[str, Any] | None = None
    notes: list[str] = dataclasses.field(default_factory=list)  # not_understood, out_of_scope, handoff, draft
    draft_reference: str | None = None
    hidden_review: bool = False


def _private_values(events: Iterable[Event]) -> list[str]:
    """Every value typed into a private draft field in this conversation, longest first."""
    values: set[str] = set()
    for event in events:
        if (
            event.get("event") == "slot"
            and event.get("name") == "draft"
            and isinstance(event.get("value"), dict)
        ):
            fields = event["value"].get("fields") or {}
            for name, value in fields.items():
                if name in PRIVATE_STEPS and isinstance(value, str) and len(value) >= _MIN_PRIVATE_LENGTH:
                    values.add(value)
    return sorted(values, key=len, reverse=True)


def _custom(event: Event) -> Mapping[str, Any]:
    data = event.get("data") or {}
    custom = data.get("custom") if isinstance(data, Mapping) else None
    return custom if isinstance(custom, Mapping) else {}


def transcript(events: Sequence[Event]) -> list[Line]:
    """The lines of one conversation, in order."""
    private = _private_values(events)

    def safe(text: str) -> str:
        cleaned = clean_text(text)
        for value in private:
            cleaned = cleaned.replace(clean_text(value), REMOVED)
        return cleaned

    summary = Walker("")
    lines: list[Line] = []
    last_user: Line | None = None
    ordered = sorted(events, key=lambda e: float(e.get("timestamp") or 0.0))
    for index, event in enumerate(ordered):
        kind = event.get("event")
        timestamp = float(event.get("timestamp") or 0.0)
        missed_before, handoff_before = len(summary.not_understood), summary.handoff
        hidden_answer = kind == "user" and summary.draft_step in PRIVATE_STEPS
        summary.feed(event)
        if len(summary.not_understood) > missed_before and last_user is not None:
            last_user.notes.append(summary.not_understood[-1].kind)
        if kind == "user":
            last_user = Line(
                moment(timestamp), "user", HIDDEN if hidden_answer else safe(str(event.get("text") or ""))
            )
            lines.append(last_user)
        elif kind == "action" and summary.handoff and not handoff_before and last_user is not None:
            last_user.notes.append("handoff")
        elif kind == "bot":
            custom = _custom(event)
            line = Line(moment(timestamp), "bot", safe(str(event.get("text") or "")))
            following = ordered[index + 1] if index + 1 < len(ordered) else {}
            if following.get("event") == "bot" and "draft_review" in _custom(following):
                line.text, line.hidden_review = "", True
            question = custom.get("question")
            if isinstance(question, Mapping) and question.get("fact"):
                line.question = str(question["fact"])
            if isinstance(custom.get("outcome"), Mapping):
                line.outcome = clean(dict(custom["outcome"]))
            draft = custom.get("draft")
            if isinstance(draft, Mapping) and draft.get("reference"):
                line.draft_reference = str(draft["reference"])
            if not (line.text or line.question or line.outcome or line.draft_reference or line.hidden_review):
                continue  # staff panel, handoff payload (its text is the line before), empty events
            lines.append(line)
    return _merged(lines)


def _merged(lines: list[Line]) -> list[Line]:
    """A bot's text and the custom payload right after it (same action) shown as one line."""
    merged: list[Line] = []
    for line in lines:
        previous = merged[-1] if merged else None
        if (
            previous is not None
            and line.speaker == previous.speaker == "bot"
            and not line.text
            and not line.hidden_review
            and previous.question is None
            and previous.outcome is None
            and (line.at - previous.at).total_seconds() < 1
        ):
            previous.question = previous.question or line.question
            previous.outcome = previous.outcome or line.outcome
            previous.draft_reference = previous.draft_reference or line.draft_reference
            continue
        merged.append(line)
    return [m for m in merged if m.text or m.question or m.outcome or m.draft_reference or m.hidden_review]
