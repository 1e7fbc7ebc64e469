"""The draft pages: HTML, PDF and JSON by token, and deletion. aiohttp, no Rasa.

Nothing is created at import time: the store (engine, key) is opened in the
app's cleanup context, with the job that deletes expired drafts
(`bot.web.background`). Database calls and PDF rendering run in a thread so the
event loop is never blocked. An unknown, expired or deleted token gets the same
short Danish 404 page as any unknown path.
"""

from __future__ import annotations

import asyncio
import functools
import re
from typing import AsyncIterator, Callable

from aiohttp import web
from markupsafe import Markup

from bot.config import Settings
from bot.drafts.model import Draft
from bot.drafts.pdf import render_pdf
from bot.drafts.render import draft_view, render_json
from bot.drafts.store import DraftStore
from bot.drafts.texts import text
from bot.drafts.urls import PREFIX, DraftLinks, draft_links
from bot.web.background import delete_expired_drafts, repeating
from bot.web.pages import environment, message_page, not_found_page, stylesheet

TOKEN_PATTERN = "[A-Za-z0-9_-]{20,128}"
_TOKEN_IN_PATH = re.compile(rf"^{PREFIX}/[^/]+")

SETTINGS = web.AppKey("draft_settings", Settings)
STORE = web.AppKey("draft_store", DraftStore)


def render_html(draft: Draft, *, links: DraftLinks | None = None) -> str:
    """The printable draft page; with `links`, also download links and the delete button."""
    view = draft_view(draft)
    template = environment().get_template("draft.html")
    return template.render(title=view.title, css=Markup(stylesheet()), view=view, links=links)


async def _find(request: web.Request) -> Draft | None:
    store, clock = request.app[STORE], request.app[SETTINGS].clock
    return await asyncio.to_thread(store.get_by_token, request.match_info["token"], clock())


def _attachment(body: bytes, content_type: str, filename: str) -> web.Response:
    response = web.Response(body=body, content_type=content_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


async def show_html(request: web.Request) -> web.Response:
    draft = await _find(request)
    if draft is None:
        return not_found_page()
    links = draft_links("", request.match_info["token"])
    return web.Response(text=render_html(draft, links=links), content_type="text/html")


async def show_pdf(request: web.Request) -> web.Response:
    draft = await _find(request)
    if draft is None:
        return not_found_page()
    body = await asyncio.to_thread(render_pdf, draft)
    return _attachment(body, "application/pdf", f"{draft.reference}.pdf")


async def show_json(request: web.Request) -> web.Response:
    draft = await _find(request)
    if draft is None:
        return not_found_page()
    response = _attachment(render_json(draft).encode("utf-8"), "application/json", f"{draft.reference}.json")
    response.charset = "utf-8"
    return response


async def delete(request: web.Request) -> web.Response:
    draft = await _find(request)
    if draft is None or not await asyncio.to_thread(request.app[STORE].delete, request.match_info["token"]):
        return not_found_page()
    return message_page(text("pages.deleted.title"), text("pages.deleted.text", reference=draft.reference))


def _store_context(settings: Settings) -> Callable[[web.Application], AsyncIterator[None]]:
    async def context(app: web.Application) -> AsyncIterator[None]:
        store = await asyncio.to_thread(
            DraftStore,
            settings.database_url,
            key=settings.key,
            retention_days=settings.retention_days,
            table_prefix=settings.table_prefix,
        )
        app[STORE] = store
        job = functools.partial(delete_expired_drafts, store, settings)
        try:
            async with repeating(job, every=settings.purge_interval_seconds, what="deleting expired drafts"):
                yield
        finally:
            store.close()

    return context


def setup(app: web.Application, settings: Settings) -> None:
    """The draft routes under /udkast; the store is opened on start-up and closed on clean-up."""
    app[SETTINGS] = settings
    app.cleanup_ctx.append(_store_context(settings))
    token = f"{{token:{TOKEN_PATTERN}}}"
    app.router.add_get(f"{PREFIX}/{token}", show_html)
    app.router.add_get(f"{PREFIX}/{token}.pdf", show_pdf)
    app.router.add_get(f"{PREFIX}/{token}.json", show_json)
    app.router.add_post(f"{PREFIX}/{token}/slet", delete)


def redact(path: str) -> str:
    """A request path with the draft token hidden (tokens never reach the logs)."""
    return _TOKEN_IN_PATH.sub(f"{PREFIX}/[token]", path)
