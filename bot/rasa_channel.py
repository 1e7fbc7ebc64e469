"""Rasa's REST channel with a Danish answer when the bot would say nothing.

When the action server is down, Rasa logs "Bot will continue, but the actions
events are lost" and answers the citizen with an empty list. This channel keeps
Rasa's REST contract and URL (/webhooks/rest/webhook) but never answers with
silence. It also reads at most `MAX_MESSAGE` + 1 characters of a message: Rasa itself takes any
size, and one 100 KB message made its NLU use 12 GB until the kernel killed it (`make fuzz`).
The only module in `bot/` that imports Rasa.
"""

from __future__ import annotations

import re
from typing import Any, Awaitable, Callable

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint
from sanic.request import Request

from bot.parse import MAX_MESSAGE
from bot.wording import text as copy_text

_CUT_NUMBER = re.compile(r"[\d\s-]+$")


def cut(message: str) -> str:
    """At most MAX_MESSAGE + 1 characters (the core then says the message was too long); a number
    cut in two is dropped, so no half CPR number is kept."""
    if len(message) <= MAX_MESSAGE + 1:
        return message
    return _CUT_NUMBER.sub("", message[: MAX_MESSAGE + 1])


class SafeRestInput(RestInput):
    @classmethod
    def name(cls) -> str:
        return "rest"

    def _extract_message(self, req: Request) -> str | None:
        message = super()._extract_message(req)
        return cut(message) if isinstance(message, str) else message

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        async def never_silent(message: UserMessage) -> None:
            try:
                await on_new_message(message)
            finally:
                out = message.output_channel
                if isinstance(out, CollectingOutputChannel) and not out.messages:
                    await out.send_text_message(message.sender_id, copy_text("errors.technical"))

        return super().blueprint(never_silent)
