"""Shared by the draft tests: an invented family's draft built from a real outcome, and readers.

Every person here is invented; 010116-1234 is a fake CPR number in the real format.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import uuid
from typing import Any

import sqlalchemy as sa
from pypdf import PdfReader

from bot.drafts.model import DraftInput
from bot.drafts.store import DraftStore
from bot.rules import Outcome, decide
from bot.wording import outcome_message

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.timezone.utc)  # Monday 10:00 in Denmark
TODAY = NOW.date()
FAKE_CPR = "010116-1234"
POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
CHILD_FACTS: dict[str, Any] = {
    "who": "parent",
    "age": 10,
    "hospital_stay": "no",
    "child_disability": "yes",
    "special_training_need": "yes",
    "school_trains": "no",
    "already_free_physio": "no",
    "municipality": "hjoerring",
}


def child_decision() -> Outcome:
    decision = decide(CHILD_FACTS, today=TODAY)
    assert isinstance(decision, Outcome), decision
    return decision


def child_outcome() -> dict[str, Any]:
    return outcome_message(child_decision(), CHILD_FACTS, NOW).payload


def sample_input(**changes: Any) -> DraftInput:
    """A child's maintenance training draft built from a real outcome (invented family)."""
    outcome = child_outcome()
    draft = DraftInput(
        offer=outcome["offer"],
        municipality=outcome["municipality"],
        legal_basis=outcome["legal_basis"],
        facts=dict(CHILD_FACTS),
        applicant_relation="parent",
        person_name="Åse Prøvebarn Æbelø",
        date_of_birth=dt.date(2016, 2, 1),
        phone="+45 12 34 56 78",
        email="foraelder@eksempel.dk",
        need_description="Cerebral parese; hun går dårligere efter væksten. Fysioterapeuten anbefaler træning.",
        diagnoses="Cerebral parese (spastisk diplegi)",
        current_care="Almindelig 4. klasse, ingen træning i skolen",
        consent_health_info=True,
        school_trains_today="Nej, skolen træner ikke",
        created_by_staff_initials=None,
    )
    return dataclasses.replace(draft, **changes)


def raw_rows(store: DraftStore) -> list[str]:
    """Every row of the drafts table as one text, read with plain SQL."""
    with store.engine.connect() as conn:
        rows = conn.execute(sa.text(f"SELECT * FROM {store.table.name}")).fetchall()
    return [" ".join(str(value) for value in row) for row in rows]


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def stored_draft(store: DraftStore, **changes: Any) -> Any:
    created = store.create(sample_input(**changes), uuid.uuid4().hex, NOW)
    draft = store.get_by_token(created.token, NOW)
    assert draft is not None
    return draft


HOSTILE_NAME = 'Ida <script>alert("x")</script> O\'Brien & "Søn"'


def filled_fields(*, applicant_relation: str | None) -> dict[str, Any]:
    """An older citizen's draft fields as the dialogue has them after its last question (invented).

    The relation is asked only when the questionnaire did not learn who applies (no `who`
    fact); None leaves it out.
    """
    relation = {} if applicant_relation is None else {"applicant_relation": applicant_relation}
    return {
        **relation,
        "person_name": "Else Hansen",
        "date_of_birth": "1946-02-01",
        "phone": "12345678",
        "email": None,
        "need_description": "Træning efter et fald",
        "diagnoses": None,
        "current_care": None,
        "municipality_may_obtain": "yes",
    }
