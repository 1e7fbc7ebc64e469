"""Danish copy (`bot/data/copy_da.yml`) rendered for questions, outcomes and contacts."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Mapping

from bot.datafiles import lookup, lookup_text
from bot.legal import pension_age
from bot.municipality import WEEKDAYS, Contact, profile
from bot.questions import Answer, question
from bot.rules import OFFERS, Outcome, age_group

COPY_FILE = "copy_da.yml"


def text(path: str, **values: object) -> str:
    """The copy at a dotted path, formatted with `values`."""
    return lookup_text(COPY_FILE, path, **values)


def local_text(path: str, municipality: str | None, **values: object) -> str:
    """Per-municipality wording with the default as fallback."""
    key = municipality if municipality in lookup(COPY_FILE, path) else "default"
    return text(f"{path}.{key}", **values)


def subject_key(facts: Mapping[str, Answer], topic: str | None = None) -> str:
    """'self', 'child' or 'other': whom the questions speak about (home training is for children)."""
    age = facts.get("age")
    if age is not None and age_group(age) == "child":
        return "child"
    if age is None and (facts.get("who") == "parent" or topic == "home_training"):
        return "child"
    return "self" if facts.get("who") == "self" else "other"


def voice(facts: Mapping[str, Answer], topic: str | None = None) -> dict[str, str]:
    key = subject_key(facts, topic)
    subj = text(f"subjects.{key}")
    return {
        "subj": subj,
        "Subj": subj[:1].upper() + subj[1:],
        "subj_possessive": text(f"subj_possessive.{key}"),
    }


def option_label(fact: str, value: str) -> str:
    if fact == "municipality" and value == "other":
        return text("options.other_municipality")
    return text(f"options.{value}", pension_age=pension_age(), last_adult_age=pension_age() - 1)


def answer_label(fact: str, value: Answer) -> str:
    """How an answer reads back in 'Dine svar'."""
    if isinstance(value, int):
        return f"{value} år"
    return option_label(fact, value)


@dataclasses.dataclass(frozen=True)
class QuestionMessage:
    fact: str
    kind: str
    text: str
    options: tuple[tuple[str, str], ...]  # (value, Danish label)

    def payload(self) -> dict[str, Any]:
        """`custom.question` as the web page, staff mode and tests read it."""
        return {
            "fact": self.fact,
            "kind": self.kind,
            "options": [{"value": v, "label": label} for v, label in self.options],
        }


def question_message(
    fact: str, facts: Mapping[str, Answer], *, staff: bool = False, topic: str | None = None
) -> QuestionMessage:
    spec = question(fact)
    wording = text(f"questions.{fact}.{'staff' if staff else 'citizen'}", **voice(facts, topic))
    options = tuple((value, option_label(fact, value)) for value in spec.options)
    return QuestionMessage(fact=fact, kind=spec.kind, text=wording, options=options)


def why_question(fact: str) -> str:
    return text(f"questions.{fact}.why")


def format_hours(contact: Contact) -> str | None:
    if contact.hours is None:
        return None
    parts = []
    for day in WEEKDAYS:
        spans = contact.hours.get(day)
        if spans:
            label = text(f"contact.weekdays.{day}")
            parts.append(f"{label} {', '.join(s.replace(':', '.') for s in spans)}")
    return "; ".join(parts)


def contact_lines(contact: Contact, now: dt.datetime) -> list[str]:
    lines = [contact.name]
    if contact.address:
        lines.append(text("contact.address", address=contact.address))
    lines.append(text("contact.phone", phone=contact.phone) if contact.phone else text("contact.no_phone"))
    if contact.email:
        lines.append(text("contact.email", email=contact.email))
    hours = format_hours(contact)
    if hours is None:
        lines.append(text("contact.hours_unknown"))
    else:
        lines.append(text("contact.hours", hours=hours))
        lines.append(text("contact.open_now" if contact.is_open(now) else "contact.closed_now"))
    return lines


def contact_payload(contact: Contact, now: dt.datetime) -> dict[str, Any]:
    return {
        "name": contact.name,
        "address": contact.address,
        "phone": contact.phone,
        "email": contact.email,
        "hours": format_hours(contact),
        "open_now": contact.is_open(now),
    }


@dataclasses.dataclass(frozen=True)
class OutcomeMessage:
    text: str
    payload: dict[str, Any]


def outcome_message(outcome: Outcome, facts: Mapping[str, Answer], now: dt.datetime) -> OutcomeMessage:
    """The outcome in plain Danish plus `custom.outcome`."""
    v = voice(facts)
    muni = outcome.municipality
    contact = profile(muni).contact(outcome.contact_area)
    reasons = [text(f"reasons.{code}", **v) for code in outcome.reasons]
    why_not = [
        text(f"why_not.{offer}.{code}", **v)
        for offer in OFFERS
        if (code := outcome.why_not.get(offer)) is not None
    ]
    steps = [local_text(f"steps.{code}", muni, **v) for code in outcome.next_steps]
    citations = [ref.cite() for ref in outcome.legal_basis]
    lines = [
        text(f"offers.{outcome.offer}.title"),
        text(f"offers.{outcome.offer}.description", **v),
        "",
        text("headings.why"),
        *(f"• {r}" for r in reasons),
        "",
        text("headings.why_not"),
        *(f"• {w}" for w in why_not),
    ]
    if citations:
        lines += ["", text("headings.legal"), *(f"• {c}" for c in citations)]
        if any(ref.needs_confirmation for ref in outcome.legal_basis):
            lines.append(text("headings.needs_confirmation"))
    lines += ["", text("headings.next"), *(f"{i}. {s}" for i, s in enumerate(steps, 1))]
    lines += ["", text("headings.contact"), *contact_lines(contact, now)]
    lines += ["", text("headings.decides")]
    payload = {
        "offer": outcome.offer,
        "title": text(f"offers.{outcome.offer}.title"),
        "variant": outcome.variant,
        "legal_basis": [ref.payload() for ref in outcome.legal_basis],
        "municipality": muni,
        "reasons": [{"code": c, "text": t} for c, t in zip(outcome.reasons, reasons, strict=True)],
        "criteria": [{"id": c.id, "status": c.status} for c in outcome.criteria],
        "why_not": [
            {"offer": o, "code": c, "text": text(f"why_not.{o}.{c}", **v)} for o, c in outcome.why_not.items()
        ],
        "next_steps": [{"code": c, "text": t} for c, t in zip(outcome.next_steps, steps, strict=True)],
        "contact": contact_payload(contact, now),
    }
    return OutcomeMessage(text="\n".join(lines), payload=payload)


def handoff_message(municipality: str | None, area: str, now: dt.datetime) -> OutcomeMessage:
    contact = profile(municipality).contact(area)  # type: ignore[arg-type]
    lines = [text("contact.handoff_intro"), *contact_lines(contact, now)]
    return OutcomeMessage(text="\n".join(lines), payload=contact_payload(contact, now))
