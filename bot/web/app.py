"""The web app factory: middlewares, security headers, the routes of each part, their clean-up contexts.

The parts: the citizen and staff chat (`bot.web.chat`), logins (`bot.web.auth`),
the analyst pages (`bot.web.analyst`) and the draft pages (`bot.web.drafts`).
Nothing is opened at import time; each part opens what it needs on start-up.
Every response carries the security headers; unknown paths get the Danish 404
page, failures the Danish 500 page.
"""

from __future__ import annotations

import logging
from pathlib import Path

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.typedefs import Handler
from aiohttp_remotes import XForwardedStrict

from bot.config import Settings
from bot.drafts.urls import PREFIX
from bot.web import analyst, auth, chat, drafts
from bot.web.drafts import redact
from bot.web.pages import error_page, not_found_page, page_not_found, style_csp_source

log = logging.getLogger(__name__)


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


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Danish pages for 404 and 500; other HTTP errors pass through."""
    try:
        return await handler(request)
    except web.HTTPNotFound:  # a draft address gets the draft's 404, any other the site's
        return not_found_page() if request.path.startswith(f"{PREFIX}/") else page_not_found()
    except web.HTTPException:
        raise
    except Exception:
        log.exception("page failed: %s %s", request.method, redact(request.path))
        return error_page()


@web.middleware
async def _refuse_unread_bodies(request: web.Request, handler: Handler) -> web.StreamResponse:
    """415 for a compressed body or a multipart form, before anything reads it.

    aiohttp 3.9.5 (Rasa 3.6 holds it there) inflates a compressed body before the size limit
    applies and reads multipart forms without one (security/advisories.yml). Our pages send
    neither: JSON and url-encoded forms only. The app also never inflates (`auto_decompress`).
    """
    encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding not in ("", "identity") or request.content_type.startswith("multipart/"):
        return chat.error_answer(chat.text("errors.unsupported_body"), status=415)
    return await handler(request)


def create_app(settings: Settings) -> web.Application:
    """The whole web app; databases are opened on start-up and closed on clean-up.

    With `trusted_proxies` the app is reached only through those proxies (anything else gets
    400) and sees the client's address from X-Forwarded-For, which the proxy must set (not
    append to) to the client's address: one hop, checked by aio-libs' aiohttp-remotes.
    """
    middlewares: list[Handler] = [_refuse_unread_bodies, _errors]  # type: ignore[list-item]  # aiohttp 3.9's middleware typing
    if settings.trusted_proxies:
        middlewares.insert(0, XForwardedStrict([settings.trusted_proxies]).middleware)  # type: ignore[arg-type]
    app = web.Application(
        middlewares=middlewares,  # type: ignore[arg-type]
        client_max_size=chat.MAX_BODY_BYTES,
        handler_args={"auto_decompress": False},
    )
    app.on_response_prepare.append(_add_security_headers)  # type: ignore[arg-type]  # aiohttp 3.9's Signal typing
    drafts.setup(app, settings)
    auth.setup(
        app,
        accounts_file=Path(settings.accounts_file),
        session_key=settings.session_key,
        secure=settings.base_url.startswith("https://"),
    )
    chat.setup(app, settings)
    analyst.setup(app, settings)
    return app


class RedactingAccessLogger(AbstractAccessLogger):
    """aiohttp's access log without tokens, query strings or client addresses."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info("%s %s %s %.3fs", request.method, redact(request.path), response.status, time)
