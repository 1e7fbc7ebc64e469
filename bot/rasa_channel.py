"""Rasa's REST channel with one message per reply, and a Danish answer when the bot would say nothing.

Rasa's own REST output (`CollectingOutputChannel`) splits a text at blank lines into
several messages and sends `custom` as a message of its own, so a reply's text, buttons
and custom data arrive apart. `OneMessageOutput` keeps each bot message (one
`dispatcher.utter_message`) as one dict: `recipient_id`, `text` (whole), `buttons`,
`custom` (and `image`, `attachment` if ever sent), as Rasa's REST contract names them.

When the action server is down, Rasa logs "Bot will continue, but the actions events
are lost" and answers the citizen with an empty list. This channel keeps Rasa's REST
contract and URL (/webhooks/rest/webhook) but never answers with silence. The only
module in `bot/` that imports Rasa.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Dict

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint

from bot.wording import text as copy_text


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


def one_message_per_reply(
    on_new_message: Callable[[UserMessage], Awaitable[Any]],
) -> Callable[[UserMessage], Awaitable[None]]:
    """Rasa's message handler answering through `OneMessageOutput`, never with nothing."""

    async def handle(message: UserMessage) -> None:
        out = OneMessageOutput(message.output_channel)
        message.output_channel = out
        try:
            await on_new_message(message)
        finally:
            if not out.messages:
                await out.send_text_message(message.sender_id, copy_text("errors.technical"))

    return handle


class SafeRestInput(RestInput):
    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        return super().blueprint(one_message_per_reply(on_new_message))
