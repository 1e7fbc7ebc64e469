"""bot/drafts/pdf.py: every field of the view as text in the PDF, with and without DejaVu fonts."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.drafts.pdf import FONT_DIR, render_pdf
from bot.drafts.render import draft_view
from bot.drafts.store import DraftStore
from bot.privacy import CPR_MASK
from tests.drafts.helpers import FAKE_CPR, HOSTILE_NAME, pdf_text, stored_draft


def test_pdf_holds_every_field_as_text(sqlite_store: DraftStore) -> None:
    if not (FONT_DIR / "DejaVuSans.ttf").is_file():
        pytest.skip("DejaVu fonts are not installed (the Helvetica fallback is tested below)")
    draft = stored_draft(
        sqlite_store, person_name=HOSTILE_NAME, need_description=f"Går dårligt 😀 💪, cpr {FAKE_CPR}"
    )
    data = render_pdf(draft)
    assert data.startswith(b"%PDF")
    text = pdf_text(data)
    view = draft_view(draft)
    expected = [view.title, view.not_sent, *view.legal, *view.attach, *view.contact]
    for section in view.sections:
        for row in section.rows:
            expected += [row.label, row.value]
    for row in view.meta:
        expected += [row.label, row.value]
    for value in expected:
        value = value.replace("💪", "\ufffd")  # not in DejaVu Sans; 😀 is
        assert " ".join(value.split()) in text, value
    assert HOSTILE_NAME in text
    assert "010116" not in text and CPR_MASK in text


def test_pdf_falls_back_to_helvetica_without_dejavu(sqlite_store: DraftStore, tmp_path: Path) -> None:
    draft = stored_draft(sqlite_store, person_name="Åse Ø 😀 – Test")
    text = pdf_text(render_pdf(draft, font_dir=tmp_path / "no-fonts"))
    assert "Åse Ø ? - Test" in text
    assert "Udkast - ikke sendt" in text and draft.reference in text
