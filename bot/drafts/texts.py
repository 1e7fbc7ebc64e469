"""Danish copy for drafts (`bot/data/copy_drafts_da.yml`)."""

from __future__ import annotations

from bot.datafiles import lookup, lookup_text
from bot.errors import DataFileError

COPY_FILE = "copy_drafts_da.yml"


def text(path: str, **values: object) -> str:
    """The copy at a dotted path, formatted with `values`."""
    return lookup_text(COPY_FILE, path, **values)


def texts(path: str) -> list[str]:
    """A list of texts at a dotted path."""
    node = lookup(COPY_FILE, path)
    if not isinstance(node, list) or not all(isinstance(item, str) for item in node):
        raise DataFileError(f"{COPY_FILE} {path!r} is not a list of texts")
    return list(node)
