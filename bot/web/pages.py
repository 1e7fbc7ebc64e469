"""Server-rendered pages: the Jinja2 templates (`bot/templates`, autoescaped) and the site stylesheet.

Every page on `base.html` (login, analyst pages, drafts, short messages) carries
`site.css` inline; the Content-Security-Policy allows exactly that stylesheet by
its hash (`style_csp_source`). The chat page has its own files in `bot/static/`.
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web
from markupsafe import Markup

from bot.drafts.texts import text

TEMPLATE_DIR = Path(__file__).resolve().parents[1] / "templates"
STYLESHEET = TEMPLATE_DIR / "site.css"


@cache
def environment() -> jinja2.Environment:
    """The Jinja2 environment of every page (`bot/templates`, autoescaped, strict)."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@cache
def stylesheet() -> str:
    return STYLESHEET.read_text(encoding="utf-8")


def style_csp_source() -> str:
    """The CSP source that allows exactly the inline stylesheet ('sha256-...')."""
    digest = hashlib.sha256(stylesheet().encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def render_page(template: str, **context: Any) -> str:
    """Any page on `base.html` with the shared inline stylesheet (which the CSP allows by hash)."""
    return environment().get_template(template).render(css=Markup(stylesheet()), **context)


def render_message(title: str, *paragraphs: str, link: tuple[str, str] | None = None) -> str:
    """A short page (not found, deleted, error), optionally with one link (href, label)."""
    context_link = {"href": link[0], "label": link[1]} if link else None
    return render_page("message.html", title=title, paragraphs=paragraphs, link=context_link)


def message_page(
    title: str, *paragraphs: str, status: int = 200, link: tuple[str, str] | None = None
) -> web.Response:
    return web.Response(
        text=render_message(title, *paragraphs, link=link), status=status, content_type="text/html"
    )


def not_found_page() -> web.Response:
    """The draft 404: an unknown, expired, deleted or malformed draft token, all alike (leaks nothing)."""
    return message_page(
        text("pages.not_found.title"), text("pages.not_found.text"), text("pages.not_found.hint"), status=404
    )


def page_not_found() -> web.Response:
    """The 404 of any other address: "Siden findes ikke" and a link to the chat."""
    return message_page(
        text("pages.page_not_found.title"),
        text("pages.page_not_found.text"),
        status=404,
        link=("/", text("pages.page_not_found.link")),
    )


def error_page() -> web.Response:
    return message_page(text("pages.error.title"), text("pages.error.text"), status=500)
