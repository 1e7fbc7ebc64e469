"""The chat pages: citizen (`/`, `/chat`, `/embed.js`) and staff (`/personale`), and their JSON endpoints.

The browser talks only to this app. `POST /api/besked` checks the message and the
conversation id, adds the channel metadata on the server (the browser is never
asked who it is), forwards the message to Rasa with a timeout and returns Rasa's
messages with only the fields the page renders. When Rasa or the action server is
down, the answer is a Danish message with the municipality's phone number, never
silence: the embedding site's municipality, else (Rasa down) the one answered in the
conversation, read from Rasa's tracker store. A per-client sliding-window rate limit guards the public endpoint.
Staff use the same page behind `require_role("staff")`; their endpoint checks the
CSRF header and sends `channel: staff` with the initials of the logged-in user.
A staff conversation's id is made by the server and kept in the login session (the
page's is ignored); "Start forfra" asks `POST /personale/api/ny-samtale` for a new one.

The page itself has no inline script or style: `bot/static/chat.js` reads its
Danish strings and settings from a JSON data block rendered here.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import re
import secrets
import time
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Deque, Mapping

import aiohttp
import aiohttp_session
from aiohttp import web
from markupsafe import Markup

from bot import wording as bot_copy
from bot.analytics.store import TrackerEvents
from bot.config import Settings
from bot.datafiles import Copy
from bot.errors import BotUnavailableError, DataFileError
from bot.municipality import phone_contact, profiles
from bot.parse import MAX_MESSAGE
from bot.state import municipality_from_events
from bot.web import auth
from bot.web.pages import environment

log = logging.getLogger(__name__)

COPY = Copy("copy_web_da.yml")
text = COPY.text
STATIC_DIR = Path(__file__).resolve().parents[1] / "static"
TEMPLATE_DIR = Path(__file__).resolve().parents[1] / "templates"
MAX_BODY_BYTES = 16 * 1024  # every request to this app; a chat message is at most MAX_MESSAGE characters
SENDER = re.compile(r"^[A-Za-z0-9_-]{22,64}$")  # made by the page from 16+ random bytes
ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$")
CITIZEN_CUSTOM = frozenset({"question", "outcome", "draft", "draft_review", "draft_deleted", "handoff", "summary"})
STAFF_CUSTOM = CITIZEN_CUSTOM | {"staff"}
# Rasa's server (Sanic 21.12) closes a connection idle for 5 s (KEEP_ALIVE_TIMEOUT): a pooled
# connection reused just as it closes loses the message. Ours are dropped sooner (aiohttp's 15 s).
RASA_KEEPALIVE_S = 4.0
BROWSER_MARGIN_SECONDS = 5.0  # the page waits this much longer than we wait for Rasa: it gets our answer


# --- rate limit -----------------------------------------------------------------------------


class RateLimiter:
    """At most `limit` hits per `window` seconds per key, in memory (one process).

    Behind a reverse proxy every citizen has the proxy's address: put the limit in
    the proxy there, or give each client its own key.
    """

    def __init__(
        self,
        limit: int,
        *,
        window: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 10_000,
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self.max_keys = max_keys
        self._hits: dict[str, Deque[float]] = {}

    def hit(self, key: str) -> float | None:
        """Count one hit; None when allowed, else the seconds until the next one will be."""
        now = self.clock()
        hits = self._hits.get(key)
        if hits is None:
            if len(self._hits) >= self.max_keys:
                self._forget_idle(now)
            hits = self._hits[key] = collections.deque()
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            return max(hits[0] + self.window - now, 0.0)
        hits.append(now)
        return None

    def _forget_idle(self, now: float) -> None:
        for key in [k for k, hits in self._hits.items() if not hits or hits[-1] <= now - self.window]:
            del self._hits[key]
        while len(self._hits) >= self.max_keys:  # still full: drop the oldest keys
            del self._hits[next(iter(self._hits))]


# --- Rasa -----------------------------------------------------------------------------------


def clean_messages(raw: Any, *, allowed_custom: frozenset[str]) -> list[dict[str, Any]]:
    """Rasa's REST answer with only what the page renders, one message per reply as Rasa sent it:
    its text, buttons and known `custom` keys together."""
    if not isinstance(raw, list):
        raise BotUnavailableError("Rasa's answer is not a list")
    messages: list[dict[str, Any]] = []
    for item in raw:
        if not isinstance(item, dict):
            continue
        message: dict[str, Any] = {}
        if isinstance(item.get("text"), str) and item["text"]:
            message["text"] = item["text"]
        buttons = [
            {"title": b["title"], "payload": b["payload"]}
            for b in item.get("buttons") or []
            if isinstance(b, dict) and isinstance(b.get("title"), str) and isinstance(b.get("payload"), str)
        ]
        if buttons:
            message["buttons"] = buttons
        custom = item.get("custom")
        if isinstance(custom, dict):
            kept = {k: v for k, v in custom.items() if k in allowed_custom}
            if kept:
                message["custom"] = kept
        if message:
            messages.append(message)
    if not messages:
        raise BotUnavailableError("Rasa answered with nothing")
    return messages


class RasaClient:
    """Rasa's REST channel over one aiohttp ClientSession per process."""

    def __init__(self, session: aiohttp.ClientSession, rasa_url: str, timeout: float) -> None:
        self.session = session
        self.url = f"{rasa_url}/webhooks/rest/webhook"
        self.timeout = aiohttp.ClientTimeout(total=timeout)

    async def send(self, sender: str, message: str, metadata: Mapping[str, Any]) -> Any:
        body = {"sender": sender, "message": message, "metadata": dict(metadata)}
        try:
            async with self.session.post(self.url, json=body, timeout=self.timeout) as response:
                if response.status != 200:
                    raise BotUnavailableError(f"Rasa answered HTTP {response.status}")
                return await response.json()
        except (aiohttp.ClientError, asyncio.TimeoutError, json.JSONDecodeError) as e:
            raise BotUnavailableError(f"Rasa did not answer: {type(e).__name__}") from e


# --- settings and copy for the page -----------------------------------------------------------


class ChatSettings:
    """What the chat handlers need from `Settings`, checked once."""

    def __init__(self, config: Settings) -> None:
        bad = [o for o in config.embed_origins if not ORIGIN.match(o)]
        if bad:
            raise DataFileError(f"embed origins must be scheme://host[:port], not {bad}")
        if config.municipality is not None and config.municipality not in profiles():
            raise DataFileError(f"no municipality profile {config.municipality!r}")
        self.embed_origins = config.embed_origins
        self.municipality = config.municipality
        self.browser_timeout_ms = round((config.rasa_timeout_seconds + BROWSER_MARGIN_SECONDS) * 1000)

    def municipality_for(self, requested: str | None) -> str | None:
        """The deployment's municipality, else a known one asked for by the page (`?kommune=`)."""
        if self.municipality is not None:
            return self.municipality
        return requested if requested in profiles() else None


RATE_LIMITER = web.AppKey("chat_rate_limiter", RateLimiter)
RASA = web.AppKey("chat_rasa", RasaClient)
TRACKER = web.AppKey("chat_tracker", TrackerEvents)
CHAT_CONFIG = web.AppKey("chat_config", ChatSettings)


def bot_down_text(municipality: str | None) -> str:
    """Danish 'try again or call' with the municipality's phone number where we have one."""
    contact = phone_contact(municipality)
    if contact is None:
        return text("errors.bot_down_no_phone")
    return text("errors.bot_down", name=contact.name, phone=contact.phone)


def _heading(path: str) -> str:
    return bot_copy.text(path).rstrip(":")


def client_strings(*, staff: bool) -> dict[str, Any]:
    """Every string chat.js shows, from the copy files."""
    strings: dict[str, Any] = dict(COPY.node("client"))
    strings["welcome"] = strings.pop("staff_welcome") if staff else strings["welcome"]
    if staff:
        strings["input_label"] = strings["staff_input_label"]
        strings["you"] = strings["staff_you"]
    strings["headings"] = {
        key: _heading(f"headings.{key}") for key in ("why", "unknowns", "why_not", "legal", "next", "complaint", "contact")
    }
    strings["decides"] = bot_copy.text("headings.decides")
    strings["needs_confirmation_note"] = bot_copy.text("headings.needs_confirmation")
    strings["too_long"] = text("client.too_long", limit=MAX_MESSAGE)
    return strings


def page_csp(frame_ancestors: tuple[str, ...]) -> str:
    """Scripts, styles and requests from this app only; framing by the configured sites only."""
    ancestors = " ".join(frame_ancestors) if frame_ancestors else "'none'"
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
        f"form-action 'self'; base-uri 'none'; frame-ancestors {ancestors}"
    )


def json_block(data: Mapping[str, Any]) -> Markup:
    """JSON safe inside <script type="application/json">: no '<', '>' or '&' left to close the tag."""
    dumped = json.dumps(data, ensure_ascii=False)
    return Markup(dumped.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def render_page(*, staff: bool, settings: Mapping[str, Any], page: Mapping[str, Any]) -> str:
    """The chat page; `settings` go to chat.js as JSON, `page` to the template."""
    strings = client_strings(staff=staff)
    template = environment().get_template("chat.html")
    return template.render(
        staff=staff,
        t=COPY.node("page"),
        c=strings,
        max_length=MAX_MESSAGE,
        client=json_block({**settings, "text": strings}),
        **page,
    )


def html_response(body: str, csp: str) -> web.Response:
    response = web.Response(text=body, content_type="text/html")
    response.headers["Content-Security-Policy"] = csp
    return response


# --- handlers -----------------------------------------------------------------------------


def page_settings(settings: ChatSettings, mode: str, endpoint: str, municipality: str | None) -> dict[str, Any]:
    """What chat.js reads from the page, the same for citizens and staff but for these."""
    return {
        "mode": mode,
        "endpoint": endpoint,
        "kommune": municipality,
        "bot_down": bot_down_text(municipality),
        "max_length": MAX_MESSAGE,
        "timeout_ms": settings.browser_timeout_ms,
    }


async def citizen_page(request: web.Request) -> web.Response:
    settings = request.app[CHAT_CONFIG]
    municipality = settings.municipality_for(request.query.get("kommune"))
    body = render_page(
        staff=False,
        settings=page_settings(settings, "citizen", "/api/besked", municipality),
        page={"embedded": request.path == "/chat"},
    )
    return html_response(body, page_csp(settings.embed_origins))


EMBED_JS = """\
/* Træningsguiden: <script src="ORIGIN/embed.js" data-kommune="aarhus" async></script>
   inserts the chat as an iframe where the script tag is. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) { return; }
  var origin = new URL(script.src).origin;
  var url = new URL("/chat", origin);
  var kommune = script.getAttribute("data-kommune");
  if (kommune) { url.searchParams.set("kommune", kommune); }
  var frame = document.createElement("iframe");
  frame.src = url.href;
  frame.title = TITLE;
  frame.setAttribute("width", "100%");
  frame.setAttribute("height", script.getAttribute("data-height") || "720");
  frame.setAttribute("loading", "lazy");
  frame.setAttribute("referrerpolicy", "no-referrer");
  frame.className = "traeningsguiden-frame";
  script.parentNode.insertBefore(frame, script.nextSibling);
}());
"""


async def embed_js(request: web.Request) -> web.Response:
    """The script a municipal site includes; it may be loaded from any origin."""
    title = json.dumps(text("page.iframe_title"), ensure_ascii=False)
    response = web.Response(text=EMBED_JS.replace("TITLE", title), content_type="application/javascript")
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


def json_answer(messages: list[dict[str, Any]], *, status: int = 200) -> web.Response:
    return web.json_response({"messages": messages}, status=status, dumps=lambda d: json.dumps(d, ensure_ascii=False))


def error_answer(message: str, *, status: int, headers: Mapping[str, str] | None = None) -> web.Response:
    response = json_answer([{"text": message, "error": True}], status=status)
    response.headers.update(headers or {})
    return response


async def read_message(
    request: web.Request, *, with_sender: bool = True
) -> tuple[str, str, str | None] | web.Response:
    """(sender, message, kommune) from the JSON body, or the Danish error answer.

    Without `with_sender` (staff: the server makes their ids) a sender in the body is ignored and "" returned.
    """
    try:
        body = await request.json()
    except web.HTTPRequestEntityTooLarge:
        return error_answer(text("errors.too_large"), status=413)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return error_answer(text("errors.bad_request"), status=400)
    if not isinstance(body, dict):
        return error_answer(text("errors.bad_request"), status=400)
    sender, message, kommune = body.get("sender", ""), body.get("message"), body.get("kommune")
    if not with_sender:
        sender = ""
    elif not isinstance(sender, str) or not SENDER.match(sender):
        return error_answer(text("errors.bad_request"), status=400)
    if not isinstance(message, str) or not message.strip():
        return error_answer(text("client.empty"), status=400)
    if len(message) > MAX_MESSAGE:
        return error_answer(text("client.too_long", limit=MAX_MESSAGE), status=413)
    return sender, message, kommune if isinstance(kommune, str) else None


async def relay(
    request: web.Request,
    *,
    conversation_id: str,
    message: str,
    metadata: Mapping[str, Any],
    municipality: str | None,
    allowed_custom: frozenset[str],
) -> web.Response:
    """Send one message to Rasa; its cleaned messages, or the Danish 'ring til ...' answer."""
    try:
        raw = await request.app[RASA].send(conversation_id, message, metadata)
        return json_answer(clean_messages(raw, allowed_custom=allowed_custom))
    except BotUnavailableError as e:
        log.warning("chat: the bot is unavailable: %s", e)  # never the message or the id
        if municipality is None:
            municipality = await answered_municipality(request.app, conversation_id)
        return error_answer(bot_down_text(municipality), status=503)


async def answered_municipality(app: web.Application, conversation_id: str) -> str | None:
    """The municipality answered in the conversation, from Rasa's tracker store; None if unknown
    or the store cannot be read (then the answer says where to find the number)."""
    try:
        events = await asyncio.to_thread(app[TRACKER].events, conversation_id)
    except Exception as e:  # the database may be what is down: answer all the same
        log.warning("chat: no municipality from the tracker store: %s", type(e).__name__)
        return None
    return municipality_from_events(events)  # `phone_contact` answers None for an id it does not know


async def citizen_message(request: web.Request) -> web.Response:
    retry_after = request.app[RATE_LIMITER].hit(request.remote or "unknown")
    if retry_after is not None:
        seconds = max(1, int(retry_after + 0.999))
        return error_answer(
            text("errors.rate_limited", seconds=seconds), status=429, headers={"Retry-After": str(seconds)}
        )
    read = await read_message(request)
    if isinstance(read, web.Response):
        return read
    sender, message, kommune = read
    municipality = request.app[CHAT_CONFIG].municipality_for(kommune)
    metadata: dict[str, Any] = {"channel": "citizen"}
    if municipality is not None:
        metadata["municipality"] = municipality
    return await relay(
        request,
        conversation_id=f"web-{sender}",  # staff conversations have their own prefix
        message=message,
        metadata=metadata,
        municipality=municipality,
        allowed_custom=CITIZEN_CUSTOM,
    )


# --- staff ----------------------------------------------------------------------------------

_STAFF_CONVERSATION = "staff_conversation"


async def staff_conversation(request: web.Request, *, new: bool = False) -> str:
    """The login session's staff conversation id, made here (never by the page) on first use or when `new`.

    A new login is a new session (`auth.login`), so it starts a new conversation.
    """
    session = await aiohttp_session.get_session(request)
    conversation = session.get(_STAFF_CONVERSATION)
    if new or not isinstance(conversation, str):
        conversation = f"staff-{secrets.token_hex(16)}"
        session[_STAFF_CONVERSATION] = conversation
    return conversation


@auth.require_role("staff")
async def staff_page(request: web.Request) -> web.Response:
    """The same chat for phone staff, with the side panel; never framed."""
    account = await auth.current_user(request)
    assert account is not None  # require_role
    settings = request.app[CHAT_CONFIG]
    municipality = settings.municipality_for(request.query.get("kommune"))
    token = await auth.csrf_token(request)
    body = render_page(
        staff=True,
        settings={
            **page_settings(settings, "staff", "/personale/api/besked", municipality),
            "login_needed": auth.text("errors.login_needed"),
            "csrf_failed": auth.text("errors.csrf"),
            "restart_endpoint": "/personale/api/ny-samtale",
        },
        page={
            "embedded": False,
            "csrf_token": token,
            "signed_in_as": text("page.signed_in_as", name=account.name, initials=account.initials),
        },
    )
    return html_response(body, page_csp(()))


@auth.require_role("staff")  # also checks the CSRF header
async def staff_message(request: web.Request) -> web.Response:
    account = await auth.current_user(request)
    assert account is not None  # require_role
    read = await read_message(request, with_sender=False)
    if isinstance(read, web.Response):
        return read
    _, message, kommune = read
    municipality = request.app[CHAT_CONFIG].municipality_for(kommune)
    metadata: dict[str, Any] = {"channel": "staff", "staff_initials": account.initials}
    if municipality is not None:
        metadata["municipality"] = municipality
    return await relay(
        request,
        conversation_id=await staff_conversation(request),
        message=message,
        metadata=metadata,
        municipality=municipality,
        allowed_custom=STAFF_CUSTOM,
    )


@auth.require_role("staff")  # also checks the CSRF header
async def staff_new_conversation(request: web.Request) -> web.Response:
    """The staff page's "Start forfra": the next message starts a new conversation."""
    await staff_conversation(request, new=True)
    return web.json_response({})


# --- wiring ---------------------------------------------------------------------------------


def _rasa_context(config: Settings) -> Callable[[web.Application], AsyncIterator[None]]:
    async def context(app: web.Application) -> AsyncIterator[None]:
        tracker = TrackerEvents(config.tracker_database_url)
        try:
            connector = aiohttp.TCPConnector(keepalive_timeout=RASA_KEEPALIVE_S)
            async with aiohttp.ClientSession(connector=connector) as session:
                app[RASA] = RasaClient(session, config.rasa_url, config.rasa_timeout_seconds)
                app[TRACKER] = tracker
                yield
        finally:
            tracker.close()

    return context


def setup(app: web.Application, config: Settings) -> None:
    """Add the citizen and staff chat routes, the static files and the Rasa client (after `auth.setup`)."""
    app[CHAT_CONFIG] = ChatSettings(config)
    app[RATE_LIMITER] = RateLimiter(config.rate_limit_per_minute)
    app.cleanup_ctx.append(_rasa_context(config))
    app.router.add_get("/", citizen_page)
    app.router.add_get("/chat", citizen_page)
    app.router.add_get("/embed.js", embed_js)
    app.router.add_post("/api/besked", citizen_message)
    app.router.add_get("/personale", staff_page)
    app.router.add_post("/personale/api/besked", staff_message)
    app.router.add_post("/personale/api/ny-samtale", staff_new_conversation)
    app.router.add_static("/static/", STATIC_DIR)
