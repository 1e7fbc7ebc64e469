"""Danish copy (`bot/data/copy_da.yml`) rendered for questions, outcomes and contacts."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Literal, Mapping

from bot.complaints import complaint_for
from bot.datafiles import Copy
from bot.errors import DataFileError
from bot.legal import pension_age
from bot.municipality import WEEKDAYS, Contact, profile
from bot.questions import OTHER_MUNICIPALITY, Answer, question
from bot.rules import OFFERS, Outcome, age_group

COPY_FILE = "copy_da.yml"
COPY = Copy(COPY_FILE)
text = COPY.text


Subject = Literal["self", "child", "other"]
SUBJECTS: tuple[Subject, ...] = ("self", "child", "other")


@dataclasses.dataclass(frozen=True)
class Voice:
    """Whom the copy speaks about, with the Danish forms for it (`grammar:` in copy_da.yml).

    The asker is always addressed as "du"; the person the training is for is the subject:
    {subj} (du / barnet / personen), {obj} (dig / barnet / personen), {refl} (dig / sig), {poss} (din / barnets /
    personens), {poss_n} (dit ...), {poss_pl} (dine ...), capitalised as {Subj}, {Obj}, {Poss}.
    A text can also differ by subject: a mapping with keys self / child / other / default.
    """

    subject: Subject

    def forms(self) -> dict[str, str]:
        forms = {str(k): str(v) for k, v in COPY.node(f"grammar.{self.subject}").items()}
        return {**forms, **{k[:1].upper() + k[1:]: v[:1].upper() + v[1:] for k, v in forms.items()}}

    def say(self, path: str, municipality: str | None = None, **values: object) -> str:
        """The copy at `path` for this subject (and municipality, where the text has variants)."""
        node = COPY.node(path)
        if isinstance(node, Mapping) and "default" in node and not _subject_keyed(node):
            node = node.get(municipality) if municipality in node else node["default"]
        if isinstance(node, Mapping) and _subject_keyed(node):
            node = node.get(self.subject, node.get("default"))
        if not isinstance(node, str):
            raise DataFileError(f"{COPY_FILE} {path!r} has no text for {self.subject!r}")
        return node.format(**self.forms(), **values)


def _subject_keyed(node: Mapping[str, Any]) -> bool:
    return any(key in node for key in SUBJECTS)


def subject_key(facts: Mapping[str, Answer], topic: str | None = None) -> Subject:
    """'self', 'child' or 'other': whom the questions speak about (home training is for children)."""
    age = facts.get("age")
    if age is not None and age_group(age) == "child":
        return "child"
    if age is None and (facts.get("who") == "parent" or topic == "home_training"):
        return "child"
    return "self" if facts.get("who") == "self" else "other"


def voice(facts: Mapping[str, Answer], topic: str | None = None) -> Voice:
    return Voice(subject_key(facts, topic))


def option_label(fact: str, value: str) -> str:
    if fact == "municipality":
        return text("options.other_municipality") if value == OTHER_MUNICIPALITY else profile(value).short_name
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
    wording = voice(facts, topic).say(f"questions.{fact}.{'staff' if staff else 'citizen'}")
    options = tuple((value, option_label(fact, value)) for value in spec.options)
    return QuestionMessage(fact=fact, kind=spec.kind, text=wording, options=options)


def why_question(fact: str) -> str:
    return text(f"questions.{fact}.why")


def _clock(hhmm: str) -> str:
    """'08:00' -> '8.00' (Danish clock times)."""
    hours, minutes = hhmm.split(":")
    return f"{int(hours)}.{minutes}"


def format_hours(contact: Contact) -> str | None:
    """The hours in Danish, consecutive days with the same hours together:
    'mandag-fredag kl. 8.00-9.00'; 'mandag-torsdag kl. 8.00-9.00 og 10.00-14.00, fredag ...'."""
    if contact.hours is None:
        return None
    groups: list[tuple[list[str], tuple[str, ...]]] = []  # (days, spans)
    previous: str | None = None
    for day in WEEKDAYS:
        spans = tuple(contact.hours.get(day) or ())
        if spans and groups and previous is not None and groups[-1][1] == spans:
            groups[-1][0].append(day)
        elif spans:
            groups.append(([day], spans))
        previous = day if spans else None
    parts = []
    for days, spans in groups:
        first = text(f"contact.weekdays.{days[0]}")
        label = first if len(days) == 1 else f"{first}-{text(f'contact.weekdays.{days[-1]}')}"
        times = text("contact.span_separator").join(
            f"{_clock(start)}-{_clock(end)}" for start, end in (span.split("-") for span in spans)
        )
        parts.append(f"{label} {text('contact.time_spans', spans=times)}")
    return ", ".join(parts)


def contact_lines(contact: Contact, now: dt.datetime | None) -> list[str]:
    """The contact as Danish lines. Phone hours say "Telefontid", opening hours "Åbningstider";
    `now` adds whether it is open (None for a document, where "lige nu" means nothing). A contact
    the seed does not give for this service ends with the "not confirmed" hint."""
    lines = [contact.name]
    if contact.address:
        lines.append(text("contact.address", address=contact.address))
    lines.append(text("contact.phone", phone=contact.phone) if contact.phone else text("contact.no_phone"))
    if contact.email:
        lines.append(text("contact.email", email=contact.email))
    hours = format_hours(contact)
    kind = contact.hours_kind
    if hours is None or kind is None:
        lines.append(text("contact.hours_unknown"))
    elif now is not None and not contact.is_open(now) and kind == "telefontid":
        # "Telefonen er lukket lige nu. Telefontiden er ...": names the hours once, not twice.
        lines.append(text(f"contact.closed_now.{kind}", hours=hours))
    else:
        lines.append(text(f"contact.hours_line.{kind}", hours=hours))
        if now is not None:
            state = "open_now" if contact.is_open(now) else "closed_now"
            lines.append(text(f"contact.{state}.{kind}", hours=hours))
    if contact.inferred:
        lines.append(text("contact.inferred"))
    return lines


def contact_payload(contact: Contact, now: dt.datetime) -> dict[str, Any]:
    """`custom.outcome.contact` / `custom.handoff`: the contact with its Danish labels and hints."""
    hours = format_hours(contact)
    kind = contact.hours_kind
    open_now = contact.is_open(now)
    open_text = None
    if hours is not None and kind is not None and open_now is not None:
        open_text = text(f"contact.{'open_now' if open_now else 'closed_now'}.{kind}", hours=hours)
    return {
        "name": contact.name,
        "address": contact.address,
        "phone": contact.phone,
        "email": contact.email,
        "hours": hours,
        "hours_kind": kind,
        "hours_label": text(f"contact.hours_label.{kind}") if kind else None,
        "open_now": open_now,
        "open_text": open_text,
        "inferred": contact.inferred,
        "inferred_note": text("contact.inferred") if contact.inferred else None,
        "source": contact.source,
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
    title = v.say(f"offers.{outcome.offer}.title")
    description = v.say(f"offers.{outcome.offer}.description")
    reasons = [v.say(f"reasons.{code}") for code in outcome.reasons]
    why_not = {
        offer: v.say(f"why_not.{offer}.{code}")
        for offer in OFFERS
        if (code := outcome.why_not.get(offer)) is not None
    }
    unknowns = [v.say(f"questions.{fact}.unknown") for fact in outcome.unknowns]
    steps = [v.say(f"steps.{code}", muni) for code in outcome.next_steps]
    citations = [ref.cite() for ref in outcome.legal_basis]
    complaint = complaint_for(outcome.provision, area=_complaint_area(outcome), on=now.date())
    lines = [title, description, "", text("headings.why"), *(f"• {r}" for r in reasons)]
    if unknowns:
        lines += ["", text("headings.unknowns"), *(f"• {u}" for u in unknowns)]
    lines += ["", text("headings.why_not"), *(f"• {w}" for w in why_not.values())]
    if citations:
        lines += ["", text("headings.legal"), *(f"• {c}" for c in citations)]
        if any(ref.needs_confirmation for ref in outcome.legal_basis):
            lines.append(text("headings.needs_confirmation"))
    lines += ["", text("headings.next"), *(f"{i}. {s}" for i, s in enumerate(steps, 1))]
    if complaint is not None:
        lines += ["", text("headings.complaint"), *complaint.lines]
    lines += ["", text("headings.contact"), *contact_lines(contact, now)]
    lines += ["", text("headings.decides")]
    payload = {
        "offer": outcome.offer,
        "title": title,
        "description": description,
        "variant": outcome.variant,
        "legal_basis": [ref.payload() for ref in outcome.legal_basis],
        "municipality": muni,
        "reasons": [{"code": c, "text": t} for c, t in zip(outcome.reasons, reasons, strict=True)],
        "criteria": [{"id": c.id, "status": c.status} for c in outcome.criteria],
        "unknowns": [{"fact": f, "text": t} for f, t in zip(outcome.unknowns, unknowns, strict=True)],
        "why_not": [
            {"offer": o, "code": outcome.why_not[o], "text": t} for o, t in why_not.items()
        ],
        "next_steps": [{"code": c, "text": t} for c, t in zip(outcome.next_steps, steps, strict=True)],
        "complaint": complaint.payload() if complaint is not None else None,
        "contact": contact_payload(contact, now),
    }
    return OutcomeMessage(text="\n".join(lines), payload=payload)


def _complaint_area(outcome: Outcome) -> str:
    return "children" if outcome.age_group == "child" else "adults"


def handoff_message(municipality: str | None, area: str, now: dt.datetime) -> OutcomeMessage:
    contact = profile(municipality).contact(area)  # type: ignore[arg-type]
    lines = [text("contact.handoff_intro"), *contact_lines(contact, now)]
    return OutcomeMessage(text="\n".join(lines), payload=contact_payload(contact, now))


def option_help(fact: str) -> list[str]:
    """One line per option of a choice question, 'Label: what it means' (`option_help:` in copy_da.yml),
    for the re-ask after an answer that was not understood; [] for a question without them."""
    try:
        helps = COPY.node(f"option_help.{fact}")
    except DataFileError:
        return []
    return [
        f"{option_label(fact, value)}: {helps[value]}" for value in question(fact).options if value in helps
    ]
