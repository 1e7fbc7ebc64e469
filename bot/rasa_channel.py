"""Rasa's REST channel with one message per reply, and a Danish answer when the bot would say nothing.

Rasa's own REST output (`CollectingOutputChannel`) splits a text at blank lines into
several messages and sends `custom` as a message of its own, so a reply's text, buttons
and custom data arrive apart. `OneMessageOutput` keeps each bot message (one
`dispatcher.utter_message`) as one dict: `recipient_id`, `text` (whole), `buttons`,
`custom` (and `image`, `attachment` if ever sent), as Rasa's REST contract names them.

When the action server is down, Rasa logs "Bot will continue, but the actions events
are lost" and answers the citizen with an empty list. This channel keeps Rasa's REST
contract and URL (/webhooks/rest/webhook) but never answers with silence. It also reads
at most `MAX_MESSAGE` + 1 characters of a message: Rasa itself takes any size, and one
100 KB message made its NLU use 12 GB until the kernel killed it (`make fuzz`).

A turn that says nothing or fails (the action server down, Redis down under the lock
store, the tracker store's database down: `bot.rasa_tracker_store.TrackerStoreUnavailable`)
is answered with the Danish technical-error text and the phone number of the municipality:
the embedding site's, from the message's metadata, else the one answered in the
conversation, read from the tracker store (not when that is what failed). A failure is
logged as one ERROR line without the citizen's text (Rasa's route would log the text at
ERROR). When the tracker store failed, what the turn had collected is dropped: nothing of it
was stored, so the citizen must not see it as said. GET /webhooks/rest/health answers
`{"status": "ok"|"degraded", "tracker_store": {...}}` with this process's count of
tracker-store failures for an operator.
"""

from __future__ import annotations

import contextvars
import logging
import re
from typing import Any, Awaitable, Callable, Dict

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.municipality import phone_contact, profiles
from bot.parse import MAX_MESSAGE
from bot.rasa_tracker_store import STORE_HEALTH, TrackerStoreUnavailable
from bot.state import municipality_in
from bot.wording import text as copy_text

log = logging.getLogger(__name__)
_CUT_NUMBER = re.compile(r"[\d\s-]+$")
_AGENT: contextvars.ContextVar[Any] = contextvars.ContextVar("rest_channel_agent", default=None)


def cut(message: str) -> str:
    """At most MAX_MESSAGE + 1 characters (the core then says the message was too long); a number
    cut in two is dropped, so no half CPR number is kept."""
    if len(message) <= MAX_MESSAGE + 1:
        return message
    return _CUT_NUMBER.sub("", message[: MAX_MESSAGE + 1])


class OneMessageOutput(CollectingOutputChannel):
    """One dict per bot message, text never split; also handed to the collector Rasa's route made.

    Rasa's REST route answers with the `CollectingOutputChannel` it creates (or streams its
    `QueueOutputChannel`); each message persisted here is persisted there too.
    """

    def __init__(self, into: CollectingOutputChannel | None = None) -> None:
        super().__init__()
        self.into = into

    @classmethod
    def name(cls) -> str:
        return "one_message"

    async def _persist_message(self, message: Dict[str, Any]) -> None:
        self.messages.append(message)
        if self.into is not None:
            await self.into._persist_message(message)

    async def send_response(self, recipient_id: str, message: Dict[str, Any]) -> None:
        """`message` is `BotUttered.message()`: text, data (buttons, custom, ...) and metadata in one dict."""
        persisted = self._message(
            recipient_id,
            text=message.get("text") or None,
            image=message.get("image") or None,
            buttons=message.get("buttons") or message.get("quick_replies") or None,
            attachment=message.get("attachment") or None,
            custom=message.get("custom") or None,
        )
        if len(persisted) > 1:  # more than the recipient: Rasa's collector sends nothing for an empty message
            await self._persist_message(persisted)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self._persist_message(self._message(recipient_id, text=text))


async def municipality_of(message: UserMessage, *, ask_store: bool = True) -> str | None:
    """The embedding site's municipality (metadata, if a known id), else the one answered in the
    conversation (read from the tracker store, unless `ask_store` is False because it just failed);
    `phone_contact` answers None for an id it does not know."""
    metadata = message.metadata if isinstance(message.metadata, dict) else {}
    named = metadata.get("municipality")
    if isinstance(named, str) and named in profiles():
        return named
    agent = _AGENT.get()
    if not ask_store or agent is None or agent.tracker_store is None:
        return None
    try:
        tracker = await agent.tracker_store.retrieve(message.sender_id)
    except (Exception, TrackerStoreUnavailable) as e:  # the store is down too: an answer without a number
        log.warning("no municipality for the technical-error answer: %s", type(e).__name__)
        return None
    return municipality_in(tracker.get_slot("facts")) if tracker is not None else None


async def technical_error_text(message: UserMessage, *, store_down: bool = False) -> str:
    """'Something went wrong: try again or call ...', with the municipality's number when known;
    `store_down`: nothing of the message was kept (no "Din besked er modtaget")."""
    contact = phone_contact(await municipality_of(message, ask_store=not store_down))
    if contact is not None and contact.phone:
        return copy_text("errors.technical_phone", name=contact.name, phone=contact.phone)
    return copy_text("errors.store_down" if store_down else "errors.technical")


def one_message_per_reply(
    on_new_message: Callable[[UserMessage], Awaitable[Any]],
) -> Callable[[UserMessage], Awaitable[None]]:
    """Rasa's message handler answering through `OneMessageOutput`, never with nothing, never failing."""

    async def handle(message: UserMessage) -> None:
        out = OneMessageOutput(message.output_channel)
        message.output_channel = out
        store_down = False
        try:
            await on_new_message(message)
        except TrackerStoreUnavailable:  # logged and counted by the store
            store_down = True
            out.messages.clear()
            if out.into is not None:
                out.into.messages.clear()
        except Exception as e:  # Rasa's route would log the citizen's text with it
            log.error("rest.turn.failed: %s (the citizen got the technical-error text)", type(e).__name__)
        if not out.messages:
            await out.send_text_message(
                message.sender_id, await technical_error_text(message, store_down=store_down)
            )

    return handle


async def health(request: Request) -> HTTPResponse:
    """This process's tracker-store failures for an operator; 'degraded' once any happened."""
    status = "degraded" if STORE_HEALTH.errors else "ok"
    return response.json({"status": status, "tracker_store": STORE_HEALTH.as_dict()})


class SafeRestInput(RestInput):
    @classmethod
    def name(cls) -> str:
        return "rest"

    def _extract_message(self, req: Request) -> str | None:
        message = super()._extract_message(req)
        return cut(message) if isinstance(message, str) else message

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        from bot import rasa_speedups  # imports Rasa's actions (and TensorFlow): only in `rasa run`

        rasa_speedups.install()  # Rasa builds this blueprint once, at start-up, in every `rasa run` of ours
        blueprint: Blueprint = super().blueprint(one_message_per_reply(on_new_message))
        blueprint.add_route(health, "/health", methods=["GET"])

        @blueprint.middleware("request")  # type: ignore[untyped-decorator]
        async def remember_agent(request: Request) -> None:
            """The agent (its tracker store) for `municipality_of`, in the request's own context."""
            _AGENT.set(getattr(request.app.ctx, "agent", None))

        return blueprint
