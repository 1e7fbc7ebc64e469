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
    """The lines of one conversation, in the order Rasa wrote its events: one line per bot message.

    Each reply is one bot event with its text and custom data. Conversations stored before
    that (issue 11) have the text and then its custom data in a bot event of its own: such a
    custom-only event joins the bot line before it in the same turn (`_attach`).
    """
    private = _private_values(events)

    def safe(text: str) -> str:
        cleaned = clean_text(text)
        for value in private:
            cleaned = cleaned.replace(clean_text(value), REMOVED)
        return cleaned

    summary = Walker("")
    lines: list[Line] = []
    last_user: Line | None = None
    for event in events:
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
            line = Line(moment(timestamp), "bot", safe(str(event.get("text") or "")))
            _read_custom(line, _custom(event))
            previous = lines[-1] if lines else None
            if not line.text and previous is not None and previous.speaker == "bot":
                _attach(previous, line)
            elif line.text or line.question or line.outcome or line.draft_reference or line.hidden_review:
                lines.append(line)  # else: a staff panel or handoff payload alone, an empty event
    return lines


def _read_custom(line: Line, custom: Mapping[str, Any]) -> None:
    """The question, outcome, draft reference and draft review of a bot message's custom data."""
    question = custom.get("question")
    if isinstance(question, Mapping) and question.get("fact"):
        line.question = str(question["fact"])
    if isinstance(custom.get("outcome"), Mapping):
        line.outcome = clean(dict(custom["outcome"]))
    draft = custom.get("draft")
    if isinstance(draft, Mapping) and draft.get("reference"):
        line.draft_reference = str(draft["reference"])
    if "draft_review" in custom:  # the review repeats the draft's private answers
        line.text, line.hidden_review = "", True


def _attach(line: Line, custom_only: Line) -> None:
    """A custom-only bot event stored before issue 11 completes the text line before it."""
    line.question = line.question or custom_only.question
    line.outcome = line.outcome or custom_only.outcome
    line.draft_reference = line.draft_reference or custom_only.draft_reference
    if custom_only.hidden_review:
        line.text, line.hidden_review = "", True
