"""Danish copy for drafts (`bot/data/copy_drafts_da.yml`)."""

from __future__ import annotations

from bot.datafiles import Copy

COPY = Copy("copy_drafts_da.yml")
text = COPY.text
texts = COPY.texts
