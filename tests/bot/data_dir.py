"""A copy of `bot/data/` in a temporary directory that the whole `bot` package reads instead.

For the gap tests: add a municipality profile or a question to the copy, or take a label out of
it, and see what the code and the suite's checks make of it. Every cached loader in `bot` is
cleared on the way in and on the way out, so nothing read from the copy leaks into other tests.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import yaml

import bot.datafiles


def _clear_caches() -> None:
    for name, module in list(sys.modules.items()):
        if name != "bot" and not name.startswith("bot."):
            continue
        for value in list(vars(module).values()):
            clear = getattr(value, "cache_clear", None)
            if callable(clear) and getattr(value, "__module__", None) == name:
                clear()


class DataDir:
    """The copy. `edit(relative, change)` loads one YAML file, lets `change` alter it in place and
    writes it back; `write(relative, data)` writes a new one."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def edit(self, relative: str, change: Callable[[Any], object]) -> None:
        path = self.root / relative
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        change(data)
        self.write(relative, data)

    def write(self, relative: str, data: Any) -> None:
        (self.root / relative).write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        _clear_caches()


def use_data_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DataDir]:
    """The body of a fixture: `bot` reads a fresh copy of bot/data/ until the test ends."""
    original = bot.datafiles.DATA_DIR
    root = tmp_path / "data"
    shutil.copytree(original, root)
    for name, module in list(sys.modules.items()):
        if (name == "bot" or name.startswith("bot.")) and getattr(module, "DATA_DIR", None) == original:
            monkeypatch.setattr(module, "DATA_DIR", root)
    _clear_caches()
    yield DataDir(root)
    monkeypatch.undo()
    _clear_caches()
