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


def create_app(settings: Settings) -> web.Application:
    """The whole web app; databases are opened on start-up and closed on clean-up."""
    app = web.Application(middlewares=[_errors], client_max_size=chat.MAX_BODY_BYTES)
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
