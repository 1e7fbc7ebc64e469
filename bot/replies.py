"""What the bot says: a text, its buttons and machine-readable `custom` data."""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping


@dataclasses.dataclass(frozen=True)
class Button:
    """A button: its label and the intent with entities it sends."""

    label: str
    intent: str
    entities: Mapping[str, str]


@dataclasses.dataclass(frozen=True)
class Reply:
    text: str
    buttons: tuple[Button, ...] = ()
    custom: Mapping[str, Any] | None = None

