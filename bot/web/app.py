"""The draft pages: HTML, PDF and JSON by token, and deletion. aiohttp, no Rasa.

Nothing is created at import time: the store (engine, key) is made in the
app's cleanup context, with a task that deletes expired drafts. Database
calls and PDF rendering run in a thread so the event loop is never blocked.
Every response carries the security headers; an unknown, expired or deleted
token gets the same short Danish 404 page.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from pathlib import Path
from typing import AsyncIterator, Callable

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.typedefs import Handler

from bot.config import Settings
from bot.drafts.model import Draft
from bot.drafts.render import render_html, render_json, render_message, render_pdf, style_csp_source
from bot.drafts.store import DraftStore
from bot.drafts.texts import text
from bot.drafts.urls import PREFIX, draft_links
from bot.web import analyst, auth, chat
from bot.web.background import repeating

log = logging.getLogger(__name__)

TOKEN_PATTERN = "[A-Za-z0-9_-]{20,128}"
_TOKEN_IN_PATH = re.compile(rf"^{PREFIX}/[^/]+")


CONFIG = web.AppKey("draft_web_config", Settings)
STORE = web.AppKey("draft_store", DraftStore)


def security_headers() -> dict[str, str]:
    return {
        "Content-Security-Policy": (
            f"default-src 'none'; style-src {style_csp_source()}; form-action 'self'; "
            "base-uri 'none'; frame-ancestors 'none'"
        ),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
        "X-Frame-Options": "DENY",
        "X-Robots-Tag": "noindex, nofollow",
        "Cross-Origin-Resource-Policy": "same-origin",
    }


async def _add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """The defaults, except where a handler set its own (the chat pages set their CSP).

    A page that may be framed by the configured municipal sites says so with CSP
    `frame-ancestors`; X-Frame-Options cannot name several origins, so it is left out there.
    """
    for name, value in security_headers().items():
        if name not in response.headers:
            response.headers[name] = value
    if "frame-ancestors 'none'" not in response.headers["Content-Security-Policy"]:
        response.headers.popall("X-Frame-Options", None)


def _page(title: str, *paragraphs: str, status: int = 200) -> web.Response:
    return web.Response(text=render_message(title, *paragraphs), status=status, content_type="text/html")


def not_found_page() -> web.Response:
    return _page(
        text("pages.not_found.title"), text("pages.not_found.text"), text("pages.not_found.hint"), status=404
    )


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Danish pages for 404 and 500; other HTTP errors pass through."""
    try:
        return await handler(request)
    except web.HTTPNotFound:
        return not_found_page()
    except web.HTTPException:
        raise
    except Exception:
        log.exception("draft page failed: %s %s", request.method, redact(request.path))
        return _page(text("pages.error.title"), text("pages.error.text"), status=500)


async def _find(request: web.Request) -> Draft | None:
    store, clock = request.app[STORE], request.app[CONFIG].clock
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
    return _page(text("pages.deleted.title"), text("pages.deleted.text", reference=draft.reference))


def _delete_expired_drafts(store: DraftStore, config: Settings) -> None:
    deleted = store.delete_expired(config.clock())
    if deleted:
        log.info("deleted %d expired drafts", deleted)


def _store_context(config: Settings) -> Callable[[web.Application], AsyncIterator[None]]:
    async def context(app: web.Application) -> AsyncIterator[None]:
        store = await asyncio.to_thread(
            DraftStore,
            config.database_url,
            key=config.key,
            retention_days=config.retention_days,
            table_prefix=config.table_prefix,
        )
        app[STORE] = store
        job = functools.partial(_delete_expired_drafts, store, config)
        try:
            async with repeating(job, every=config.purge_interval_seconds, what="deleting expired drafts"):
                yield
        finally:
            store.close()

    return context


def create_app(config: Settings) -> web.Application:
    """The draft web app; the store is opened on start-up and closed on clean-up."""
    app = web.Application(middlewares=[_errors], client_max_size=chat.MAX_BODY_BYTES)
    app[CONFIG] = config
    app.cleanup_ctx.append(_store_context(config))
    app.on_response_prepare.append(_add_security_headers)  # type: ignore[arg-type]  # aiohttp 3.9's Signal typing
    token = f"{{token:{TOKEN_PATTERN}}}"
    app.router.add_get(f"{PREFIX}/{token}", show_html)
    app.router.add_get(f"{PREFIX}/{token}.pdf", show_pdf)
    app.router.add_get(f"{PREFIX}/{token}.json", show_json)
    app.router.add_post(f"{PREFIX}/{token}/slet", delete)
    auth.setup(
        app,
        accounts_file=Path(config.accounts_file),
        session_key=config.session_key,
        secure=config.base_url.startswith("https://"),
    )
    chat.setup(app, config)
    analyst.setup(app, config)
    return app


def redact(path: str) -> str:
    """A request path with the draft token hidden (tokens never reach the logs)."""
    return _TOKEN_IN_PATH.sub(f"{PREFIX}/[token]", path)


class RedactingAccessLogger(AbstractAccessLogger):
    """aiohttp's access log without tokens, query strings or client addresses."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info("%s %s %s %.3fs", request.method, redact(request.path), response.status, time)
