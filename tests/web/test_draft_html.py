"""bot/web/drafts.py render_html: the draft page's HTML is Danish, accessible and escaped."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Iterator

import pytest
from cryptography.fernet import Fernet

from bot.drafts.store import DraftStore
from bot.web.drafts import render_html
from tests.drafts.helpers import HOSTILE_NAME, stored_draft


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[DraftStore]:
    made = DraftStore(f"sqlite:///{tmp_path / 'render.db'}", key=Fernet.generate_key())
    yield made
    made.close()


def test_html_is_danish_accessible_and_escaped(sqlite_store: DraftStore) -> None:
    draft = stored_draft(sqlite_store, person_name=HOSTILE_NAME)
    html = render_html(draft)
    assert html.startswith("<!DOCTYPE html>") and '<html lang="da">' in html
    assert "<h1>" in html and "<h2>" in html and "<dl>" in html
    assert "<script" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; O&#39;Brien &amp; &#34;Søn&#34;" in html
    assert "Udkast – ikke sendt" in html and draft.reference in html
    for value in (
        "1. februar 2016",
        "12 34 56 78",
        "foraelder@eksempel.dk",
        "Cerebral parese (spastisk diplegi)",
        "Almindelig 4. klasse, ingen træning i skolen",
        "Nej, skolen træner ikke",
        "Forælder",
        "Vedligeholdende træning",
        "Hjørring Kommune",
        "Barnets lov § 90, nr. 3",
        "Træningsenheden",
        "72 33 58 50",
        "traeningsenhed@hjoerring.dk",
        "Hvor gammel er barnet?",
        "10 år",
        "der træffer afgørelsen",
    ):
        assert value in html, value
    assert "Slet udkastet nu" not in html  # no links without a token


def test_html_with_links_has_a_delete_form_and_downloads(sqlite_store: DraftStore) -> None:
    from bot.drafts.urls import draft_links

    draft = stored_draft(sqlite_store)
    html = render_html(draft, links=draft_links("", "tok_en-123"))
    assert '<form method="post" action="/udkast/tok_en-123/slet">' in html
    assert 'href="/udkast/tok_en-123.pdf"' in html and 'href="/udkast/tok_en-123.json"' in html


def test_confirmation_needed_is_shown_beside_the_citation(sqlite_store: DraftStore) -> None:
    ref = {"law": "Ældreloven", "citation": "Ældreloven", "needs_confirmation": True}
    draft = stored_draft(sqlite_store, legal_basis=[ref], date_of_birth=dt.date(1940, 5, 5), facts={})
    assert "Ældreloven (skal bekræftes af kommunen)" in render_html(draft)
