"""Draft applications: validation, encrypted storage, rendering (HTML, PDF, JSON).

The conversation layer calls, in order:

1. `check_field(name, raw, today=...)` for each typed answer (CPR masked, Danish error or value);
2. `prepare(DraftInput(...), today)` for the whole draft (errors by field, `cpr_removed`);
3. `DraftStore(url).create(draft_input, idempotency_key(conversation_id, outcome), now)`
   -> `(reference, token)`, and shows `draft_url(base_url, token)`.
"""

from __future__ import annotations

from bot.drafts.model import (
    DRAFT_OFFERS,
    Draft,
    DraftInput,
    DraftValidationError,
    FieldCheck,
    Prepared,
    check_field,
    clean_text,
    draft_export,
    prepare,
    validate_date_of_birth,
    validate_description,
    validate_email,
    validate_name,
    validate_phone,
)
from bot.drafts.render import DraftLinks, render_html, render_json, render_pdf
from bot.drafts.store import CreatedDraft, DraftKeyError, DraftNotFoundError, DraftStore, idempotency_key
from bot.drafts.urls import draft_links, draft_url

__all__ = [
    "DRAFT_OFFERS",
    "CreatedDraft",
    "Draft",
    "DraftInput",
    "DraftKeyError",
    "DraftLinks",
    "DraftNotFoundError",
    "DraftStore",
    "DraftValidationError",
    "FieldCheck",
    "Prepared",
    "check_field",
    "clean_text",
    "draft_export",
    "draft_links",
    "draft_url",
    "idempotency_key",
    "prepare",
    "render_html",
    "render_json",
    "render_pdf",
    "validate_date_of_birth",
    "validate_description",
    "validate_email",
    "validate_name",
    "validate_phone",
]
