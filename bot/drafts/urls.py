"""The web addresses of a draft (served by `bot.web`)."""

from __future__ import annotations

import dataclasses

PREFIX = "/udkast"


@dataclasses.dataclass(frozen=True)
class DraftLinks:
    """URLs shown on the web page (relative or absolute)."""

    pdf: str
    json: str
    delete: str


def draft_path(token: str) -> str:
    return f"{PREFIX}/{token}"


def draft_url(base_url: str, token: str) -> str:
    """The address to show the citizen, e.g. 'https://kommune.dk/udkast/<token>'."""
    return base_url.rstrip("/") + draft_path(token)


def draft_links(base_url: str, token: str) -> DraftLinks:
    """The PDF, JSON and delete addresses for the page (relative when `base_url` is '')."""
    page = draft_url(base_url, token)
    return DraftLinks(pdf=f"{page}.pdf", json=f"{page}.json", delete=f"{page}/slet")
