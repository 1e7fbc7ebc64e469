"""bot/drafts/render.py: the draft's view (what to attach, where to send, labels) and its JSON."""

from __future__ import annotations

import json

import pytest

from bot.drafts.render import draft_view, render_json
from bot.drafts.store import DraftStore
from bot.drafts.texts import text as draft_text
from bot.errors import DataFileError
from tests.drafts.helpers import CHILD_FACTS, HOSTILE_NAME, NOW, stored_draft


def test_what_to_attach_and_where_to_send_depend_on_the_offer(sqlite_store: DraftStore) -> None:
    home = draft_view(
        stored_draft(
            sqlite_store, offer="home_training", municipality="aarhus", training_method="ABM-metoden"
        )
    )
    assert any("tids- og faseplan" in item for item in home.attach)
    assert any("ugeskema" in item for item in home.attach)
    assert "Handicapcentret for Børn" in home.contact and "Telefon: 89 40 14 41" in home.contact
    physio = draft_view(stored_draft(sqlite_store, offer="free_physiotherapy", municipality=None))
    assert "resumé" in physio.send and "lægens henvisning" in physio.send and "ansøgningen" in physio.send
    assert physio.contact[0] == "Din kommunes børne- og handicapområde"


def test_every_answer_in_the_draft_has_a_danish_label(sqlite_store: DraftStore) -> None:
    """The draft dialogue's 'may the municipality obtain' answer was shown as its raw fact name."""
    facts = {**CHILD_FACTS, "municipality_may_obtain": "yes"}
    view = draft_view(stored_draft(sqlite_store, facts=facts))
    answers = {row.label: row.value for row in view.sections[-1].rows}
    assert answers[draft_text("fields.municipality_may_obtain")] == "Ja"
    assert not set(answers) & set(facts)  # no raw fact name as a label


def test_an_answer_without_a_label_is_an_error_not_its_fact_name(sqlite_store: DraftStore) -> None:
    with pytest.raises(DataFileError, match="no_such_fact"):
        draft_view(stored_draft(sqlite_store, facts={**CHILD_FACTS, "no_such_fact": "yes"}))


def test_json_render_is_the_export(sqlite_store: DraftStore) -> None:
    draft = stored_draft(sqlite_store, person_name=HOSTILE_NAME)
    data = json.loads(render_json(draft))
    assert data["person"]["name"] == HOSTILE_NAME
    assert data["schema"] == "traeningsguiden.draft.v1"
    assert data == sqlite_store.export(draft.reference, now=NOW)
