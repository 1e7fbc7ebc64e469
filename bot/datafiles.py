"""Loading the YAML data files shipped in `bot/data/`."""

from __future__ import annotations

import dataclasses
from functools import cache
from pathlib import Path
from typing import Any, Mapping

import yaml

from bot.errors import DataFileError

DATA_DIR = Path(__file__).parent / "data"


@cache
def load_yaml(relative: str) -> Any:
    """Read one YAML file under `bot/data/`, cached for the process."""
    path = DATA_DIR / relative
    try:
        with path.open(encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except (OSError, yaml.YAMLError) as e:
        raise DataFileError(f"cannot read {path}: {e}") from e


def lookup(relative: str, path: str) -> Any:
    """The value at a dotted `path` inside one YAML file, e.g. lookup("copy_da.yml", "offers.none.title")."""
    node: Any = load_yaml(relative)
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise DataFileError(f"{relative} has no {path!r}")
        node = node[part]
    return node


def lookup_text(relative: str, path: str, **values: object) -> str:
    """The text at a dotted `path`, formatted with `values`."""
    node = lookup(relative, path)
    if not isinstance(node, str):
        raise DataFileError(f"{relative} {path!r} is not a text")
    return node.format(**values) if values else node


@dataclasses.dataclass(frozen=True)
class Copy:
    """The Danish copy in one YAML file under `bot/data/`, read by dotted path.

    The one way to read copy: `Copy("copy_drafts_da.yml").text("dialogue.saved", reference=...)`.
    A missing path or a path that is not a text raises `DataFileError`; there is no fallback.
    """

    file: str

    def text(self, path: str, **values: object) -> str:
        """The text at a dotted `path`, formatted with `values`."""
        return lookup_text(self.file, path, **values)

    def texts(self, path: str) -> list[str]:
        """The list of texts at a dotted `path`."""
        node = lookup(self.file, path)
        if not isinstance(node, list) or not all(isinstance(item, str) for item in node):
            raise DataFileError(f"{self.file} {path!r} is not a list of texts")
        return list(node)

    def node(self, path: str) -> Any:
        """Whatever is at a dotted `path` (a mapping of texts, a list, a text)."""
        return lookup(self.file, path)
