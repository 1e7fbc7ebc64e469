"""Danish copy of the analyst pages and the report (`bot/data/copy_analytics_da.yml`)."""

from __future__ import annotations

from bot.datafiles import Copy
from bot.errors import TraeningsguidenError
from bot.municipality import profile
from bot.questions import questions
from bot.wording import text as question_text

COPY = Copy("copy_analytics_da.yml")
text = COPY.text


def question_label(fact: str | None) -> str:
    """A short Danish name of a question or draft step; a missing one is a DataFileError."""
    if not fact:
        return text("duration.none")
    return question_text(f"questions.{fact}.short") if fact in questions() else text(f"draft_steps.{fact}")


def outcome_label(outcome: str | None) -> str:
    return text(f"outcomes.{outcome or 'unfinished'}")


def municipality_name(municipality: str | None) -> str:
    if not municipality or municipality == "other":
        return text("municipality_unknown")
    try:
        return profile(municipality).name
    except TraeningsguidenError:
        return municipality


def yes_no(value: bool) -> str:
    return text("boolean.yes" if value else "boolean.no")


def duration(seconds: float | None) -> str:
    """'45 sek.' or '3 min. 5 sek.'."""
    if seconds is None:
        return text("duration.none")
    whole = round(seconds)
    if whole < 60:
        return text("duration.seconds", seconds=whole)
    return text("duration.minutes", minutes=whole // 60, seconds=whole % 60)


def percent(rate: float | None) -> str:
    """'42 %' (Danish style, whole percent); '-' when there is nothing to divide."""
    if rate is None:
        return text("duration.none")
    return f"{round(rate * 100)} %"


def number(value: float | None) -> str:
    """A median as '4' or '4,5'."""
    if value is None:
        return text("duration.none")
    return f"{value:g}".replace(".", ",")
