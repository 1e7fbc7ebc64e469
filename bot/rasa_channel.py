"""Rasa's REST channel with a Danish answer when the bot would say nothing.

When the action server is down, Rasa logs "Bot will continue, but the actions
events are lost" and answers the citizen with an empty list. This channel keeps
Rasa's REST contract and URL (/webhooks/rest/webhook) but never answers with
silence. The only module in `bot/` that imports Rasa.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint

from bot.wording import text as copy_text


class SafeRestInput(RestInput):
    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        async def never_silent(message: UserMessage) -> None:
            try:
                await on_new_message(message)
            finally:
                out = message.output_channel
                if isinstance(out, CollectingOutputChannel) and not out.messages:
                    await out.send_text_message(message.sender_id, copy_text("errors.technical"))

        return super().blueprint(never_silent)
