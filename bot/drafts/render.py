"""A draft's texts in Danish (`DraftView`) and the draft as JSON.

The HTML page (`bot.web.drafts.render_html`) and the PDF (`bot.drafts.pdf.render_pdf`)
are both built from one `DraftView`, so they hold the same fields.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any, Mapping

from bot import wording as bot_copy
from bot.drafts.model import Draft, DraftInput, FactValue, contact_area, draft_export
from bot.drafts.texts import text, texts
from bot.errors import TraeningsguidenError
from bot.municipality import TIMEZONE, Contact, Profile, profile
from bot.questions import questions


@dataclasses.dataclass(frozen=True)
class Row:
    label: str
    value: str


@dataclasses.dataclass(frozen=True)
class Section:
    heading: str
    rows: tuple[Row, ...]


@dataclasses.dataclass(frozen=True)
class DraftView:
    """Every text of a rendered draft, in reading order."""

    title: str
    not_sent: str
    not_sent_detail: str
    meta: tuple[Row, ...]
    sections: tuple[Section, ...]
    legal_heading: str
    legal: tuple[str, ...]
    attach_heading: str
    attach: tuple[str, ...]
    send_heading: str
    send: str
    contact_heading: str
    contact: tuple[str, ...]
    decides: str
    downloads: str
    download_pdf: str
    download_json: str
    print_hint: str
    delete_heading: str
    delete_text: str
    delete_button: str


# --- formatting -------------------------------------------------------------------


def danish_date(day: dt.date) -> str:
    """'1. februar 2016'."""
    return f"{day.day}. {texts('months')[day.month - 1]} {day.year}"


def danish_datetime(moment: dt.datetime) -> str:
    local = moment.astimezone(TIMEZONE)
    return f"{danish_date(local.date())} kl. {local:%H.%M}"


def _value(value: str | None) -> str:
    return value if value else text("values.not_given")


def _yes_no(value: bool) -> str:
    return text("values.yes" if value else "values.no")


def _profile(municipality: str | None) -> Profile:
    try:
        return profile(municipality)
    except TraeningsguidenError:
        return profile(None)


def _fact_row(fact: str, value: FactValue, facts: Mapping[str, int | str]) -> Row:
    # A questionnaire answer is labelled by its question, a draft step's answer kept among the facts
    # (municipality_may_obtain) by its field; a fact with neither is a DataFileError, never its raw name.
    label = bot_copy.question_message(fact, facts).text if fact in questions() else text(f"fields.{fact}")
    if isinstance(value, bool) or value is None:
        return Row(label, _yes_no(value) if isinstance(value, bool) else text("values.not_given"))
    try:
        shown = bot_copy.answer_label(fact, value)
    except (TraeningsguidenError, KeyError, ValueError, TypeError, IndexError):
        shown = str(value)
    return Row(label, shown)


def _contact_lines(contact: Contact) -> tuple[str, ...]:
    """The contact as the chat shows it, without "lige nu" (a document is read later)."""
    return tuple(bot_copy.contact_lines(contact, None))


def _citation(ref: Mapping[str, Any]) -> str:
    citation = str(ref.get("citation") or ref.get("law") or "")
    if ref.get("needs_confirmation"):
        citation += f" ({text('draft.needs_confirmation')})"
    return citation


# --- the view -----------------------------------------------------------------------


def draft_view(draft: Draft) -> DraftView:
    """Every text shown for a draft, in Danish."""
    d: DraftInput = draft.input
    created = draft.created_at.astimezone(TIMEZONE).date()
    offer_title = bot_copy.text(f"offers.{d.offer}.title")
    muni = _profile(d.municipality)
    f = "fields"
    application = [
        Row(text(f"{f}.offer"), offer_title),
        Row(
            text(f"{f}.municipality"),
            muni.name if d.municipality not in (None, "other") else text("values.not_given"),
        ),
        Row(text(f"{f}.applicant_relation"), text(f"relations.{d.applicant_relation}")),
    ]
    if d.created_by_staff_initials:
        application.append(Row(text(f"{f}.created_by_staff_initials"), d.created_by_staff_initials))
    need = [
        Row(text(f"{f}.need_description"), _value(d.need_description)),
        Row(text(f"{f}.diagnoses"), _value(d.diagnoses)),
        Row(text(f"{f}.current_care"), _value(d.current_care)),
    ]
    if d.offer == "home_training" or d.training_method:
        need.append(Row(text(f"{f}.training_method"), _value(d.training_method)))
    if d.offer == "maintenance_training" or d.school_trains_today:
        need.append(Row(text(f"{f}.school_trains_today"), _value(d.school_trains_today)))
    need.append(Row(text(f"{f}.consent_health_info"), _yes_no(d.consent_health_info)))
    voice_facts = {k: v for k, v in d.facts.items() if isinstance(v, int | str) and not isinstance(v, bool)}
    answers = tuple(_fact_row(fact, value, voice_facts) for fact, value in d.facts.items())
    sections = (
        Section(text("draft.headings.application"), tuple(application)),
        Section(
            text("draft.headings.person"),
            (
                Row(text(f"{f}.person_name"), d.person_name),
                Row(text(f"{f}.date_of_birth"), danish_date(d.date_of_birth)),
            ),
        ),
        Section(
            text("draft.headings.contact_details"),
            (Row(text(f"{f}.phone"), _value(d.phone)), Row(text(f"{f}.email"), _value(d.email))),
        ),
        Section(text("draft.headings.need"), tuple(need)),
        Section(text("draft.headings.answers"), answers or (Row(text("draft.no_answers"), ""),)),
    )
    legal = tuple(_citation(ref) for ref in d.legal_basis) or (text("draft.no_legal_basis"),)
    delete_date = danish_date(draft.delete_after.astimezone(TIMEZONE).date())
    return DraftView(
        title=text("draft.title", offer=offer_title),
        not_sent=text("draft.not_sent"),
        not_sent_detail=text("draft.not_sent_detail"),
        meta=(
            Row(text("draft.reference"), draft.reference),
            Row(text("draft.created"), danish_datetime(draft.created_at)),
            Row(text("draft.delete_after"), delete_date),
        ),
        sections=sections,
        legal_heading=text("draft.headings.legal"),
        legal=legal,
        attach_heading=text("draft.headings.attach"),
        attach=tuple(texts(f"draft.attach.{d.offer}")),
        send_heading=text("draft.headings.send"),
        send=text(f"draft.send.{d.offer}"),
        contact_heading=text("draft.headings.contact"),
        contact=_contact_lines(muni.contact(contact_area(d, created))),
        decides=text("draft.decides"),
        downloads=text("draft.downloads"),
        download_pdf=text("draft.download_pdf"),
        download_json=text("draft.download_json"),
        print_hint=text("draft.print_hint"),
        delete_heading=text("draft.headings.delete"),
        delete_text=text("draft.delete_text", date=delete_date),
        delete_button=text("draft.delete_button"),
    )


# --- JSON ---------------------------------------------------------------------------


def render_json(draft: Draft) -> str:
    """The export for a caseworker's system, as UTF-8 JSON text."""
    return json.dumps(draft_export(draft), ensure_ascii=False, indent=2)
