"""bot/drafts/render.py, properties: any field content a draft can hold renders as HTML, PDF and JSON.

HTML shows every field escaped (markup typed is text, never markup); JSON parses back to the
export; the PDF is a readable PDF whatever the script (characters the font lacks become U+FFFD).
"""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st
from markupsafe import escape
from pypdf import PdfReader

from bot.drafts.model import (
    LONG_TEXT_FIELDS,
    SINGLE_LINE_FIELDS,
    Draft,
    DraftInput,
    check_field,
    draft_export,
)
from bot.drafts.pdf import render_pdf
from bot.drafts.render import render_json
from bot.questions import question
from bot.web.drafts import render_html
from tests.properties.strategies import hostile_text, messages

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.timezone.utc)
SHOWN = ("person_name", "phone", "email", "need_description", "diagnoses", "current_care", "training_method")
DEFAULTS = {"person_name": "Else Testesen", "need_description": "Jeg skal træne gang."}


@st.composite
def drafts(draw: st.DrawFn) -> Draft:
    """A stored draft whose free-text fields hold whatever their checks let through."""
    values: dict[str, Any] = {}
    for name in (*SINGLE_LINE_FIELDS, *LONG_TEXT_FIELDS):
        raw = draw(
            st.one_of(
                messages, hostile_text, st.sampled_from(["<script>alert(1)</script>", "\"'&<>", "{{ 7*7 }}"])
            )
        )
        checked = check_field(name, raw, today=NOW.date())  # type: ignore[arg-type]
        values[name] = checked.value if checked.error is None else DEFAULTS.get(name)
    values = {k: (v or DEFAULTS.get(k)) for k, v in values.items()}
    offer = draw(
        st.sampled_from(["maintenance_training", "free_physiotherapy", "rehabilitation", "home_training"])
    )
    # the facts a draft holds are the questionnaire's answers, valid by construction (a fact
    # without a label is an error: tests/bot/test_one_place.py); the citizen's text is in the fields
    facts = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "age": st.integers(0, 120),
                "who": st.sampled_from(["self", "parent", "relative", "professional"]),
                "municipality": st.sampled_from(["aarhus", "ballerup", "other"]),
                "goal": st.sampled_from(question("goal").options),
            },
        )
    )
    draft_input = DraftInput(
        offer=offer,
        municipality=draw(st.sampled_from([None, "other", "ballerup", "aarhus"])),
        legal_basis=[{"citation": draw(hostile_text), "needs_confirmation": draw(st.booleans())}],
        facts=facts,
        applicant_relation=draw(st.sampled_from(["self", "parent", "relative", "professional"])),
        date_of_birth=draw(st.dates(dt.date(1900, 1, 1), NOW.date())),
        consent_health_info=True,
        **values,
    )
    return Draft("TG-2026-000001", "draft", NOW, NOW + dt.timedelta(days=30), draft_input)


@given(drafts())
@example(Draft("TG-2026-000001", "draft", NOW, NOW + dt.timedelta(days=30), DraftInput(
    offer="home_training", municipality=None, legal_basis=[{"citation": "</li><script>x</script>"}], facts={"who": "<b>"},
    applicant_relation="parent", person_name="<script>alert(1)</script>", date_of_birth=dt.date(2016, 2, 1),
    phone=None, email=None, need_description="'; DROP TABLE drafts; --\n{{ 7*7 }} {% raw %}",
)))  # fmt: skip
def test_html_shows_every_field_escaped_and_no_markup_from_it(draft: Draft) -> None:
    page = render_html(draft)
    for name in SHOWN:
        value = getattr(draft.input, name)
        if value:
            assert all(str(escape(line)) in page for line in value.split("\n")), name
    assert "<script" not in page.lower()


@given(drafts())
def test_json_parses_back_to_the_export(draft: Draft) -> None:
    exported = json.loads(render_json(draft))
    assert exported == json.loads(json.dumps(draft_export(draft)))
    assert exported["person"]["name"] == draft.input.person_name


@settings(max_examples=30)  # a PDF takes a while
@given(drafts())
def test_pdf_is_a_readable_pdf_for_any_content(draft: Draft) -> None:
    pdf = render_pdf(draft)
    assert pdf.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 1
    assert "TG-2026-000001" in "".join(page.extract_text() for page in reader.pages)
