"""Danish copy for drafts (`bot/data/copy_drafts_da.yml`)."""

from __future__ import annotations

from typing import Any, Mapping

from bot.datafiles import load_yaml
from bot.errors import DataFileError

COPY_FILE = "copy_drafts_da.yml"


def _node(path: str) -> Any:
    node: Any = load_yaml(COPY_FILE)
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise DataFileError(f"{COPY_FILE} has no {path!r}")
        node = node[part]
    return node


def text(path: str, **values: object) -> str:
    """The copy at a dotted path, formatted with `values`."""
    node = _node(path)
    if not isinstance(node, str):
        raise DataFileError(f"{COPY_FILE} {path!r} is not a text")
    return node.format(**values) if values else node


def texts(path: str) -> list[str]:
    """A list of texts at a dotted path."""
    node = _node(path)
    if not isinstance(node, list) or not all(isinstance(item, str) for item in node):
        raise DataFileError(f"{COPY_FILE} {path!r} is not a list of texts")
    return list(node)
