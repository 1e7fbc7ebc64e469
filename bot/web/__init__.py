"""The web side of Træningsguiden: draft pages (`python -m bot.web`)."""

from __future__ import annotations

from bot.web.app import WebConfig, create_app

__all__ = ["WebConfig", "create_app"]
