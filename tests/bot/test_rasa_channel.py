"""Our REST channel: one dict per bot message (text, buttons and custom together), never silent.

Each bot message reaches the channel as in a live turn: Rasa's `MessageProcessor._send_bot_messages`
calls `output_channel.send_response(sender_id, bot_uttered.message())` for each `BotUttered`
(rasa/core/processor.py; not imported here: it loads TensorFlow).
"""

from __future__ import annotations

import asyncio
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, OutputChannel, UserMessage
from rasa.shared.core.events import BotUttered

from bot.rasa_channel import OneMessageOutput, one_message_per_reply
from bot.rasa_tracker_store import TrackerStoreUnavailable
from bot.wording import text as copy_text

OUTCOME_TEXT = "Genoptræning\nDu kan få genoptræning.\n\nHvorfor:\n• Du har været indlagt"
BUTTONS = [{"title": "Ja", "payload": '/inform{"fact": "age", "choice": "yes"}'}]


def uttered(text: str | None, **data: Any) -> BotUttered:
    """What Rasa makes of one `dispatcher.utter_message(text=..., buttons=..., json_message=...)`."""
    return BotUttered(
        text, data={"elements": None, "quick_replies": None, "image": None, "attachment": None, **data}
    )


async def send_bot_messages(sender_id: str, events: list[BotUttered], out: OutputChannel) -> None:
    """What `MessageProcessor._send_bot_messages` does with a turn's bot events."""
    for event in events:
        await out.send_response(sender_id, event.message())


def deliver(out: CollectingOutputChannel, *events: BotUttered) -> None:
    asyncio.run(send_bot_messages("sender-1", list(events), out))


def test_text_buttons_and_custom_stay_one_message_and_blank_lines_stay_in_the_text() -> None:
    out = OneMessageOutput()
    deliver(
        out,
        uttered(OUTCOME_TEXT, buttons=BUTTONS, custom={"outcome": {"offer": "rehabilitation"}}),
        uttered("Hvor gammel er du?", custom={"question": {"fact": "age"}}),
    )
    assert out.messages == [
        {
            "recipient_id": "sender-1",
            "text": OUTCOME_TEXT,
            "buttons": BUTTONS,
            "custom": {"outcome": {"offer": "rehabilitation"}},
        },
        {"recipient_id": "sender-1", "text": "Hvor gammel er du?", "custom": {"question": {"fact": "age"}}},
    ]


def test_rasas_collector_splits_the_same_reply_in_three() -> None:
    """Why we have our own: Rasa's collector splits at blank lines and sends custom on its own."""
    out = CollectingOutputChannel()
    deliver(out, uttered(OUTCOME_TEXT, custom={"outcome": {"offer": "rehabilitation"}}))
    assert len(out.messages) == 3


def test_custom_only_and_empty_messages() -> None:
    out = OneMessageOutput()
    deliver(out, uttered(None, custom={"staff": {"facts": []}}), uttered(""))
    assert out.messages == [{"recipient_id": "sender-1", "custom": {"staff": {"facts": []}}}]


def test_messages_also_reach_rasas_own_collector() -> None:
    """Rasa's REST route answers with the collector it made (or streams its queue): ours fills it."""
    rasa_collector = CollectingOutputChannel()
    out = OneMessageOutput(rasa_collector)
    deliver(out, uttered("Hej\n\nmed dig", buttons=BUTTONS))
    assert (
        rasa_collector.messages
        == out.messages
        == [{"recipient_id": "sender-1", "text": "Hej\n\nmed dig", "buttons": BUTTONS}]
    )


def test_the_handler_answers_through_one_message_output() -> None:
    rasa_collector = CollectingOutputChannel()

    async def turn(message: UserMessage) -> None:
        events = [uttered("A\n\nB", custom={"question": {"fact": "age"}})]
        await send_bot_messages(message.sender_id or "", events, message.output_channel)

    message = UserMessage("hej", rasa_collector, "sender-2")
    asyncio.run(one_message_per_reply(turn)(message))
    assert rasa_collector.messages == [
        {"recipient_id": "sender-2", "text": "A\n\nB", "custom": {"question": {"fact": "age"}}}
    ]


def test_never_silent_when_the_turn_says_nothing_or_fails() -> None:
    async def silent(message: UserMessage) -> None:
        return None

    async def failing(message: UserMessage) -> None:
        raise RuntimeError("the action server is down")

    technical = [{"recipient_id": "sender-3", "text": copy_text("errors.technical")}]
    quiet = CollectingOutputChannel()
    asyncio.run(one_message_per_reply(silent)(UserMessage("hej", quiet, "sender-3")))
    assert quiet.messages == technical
    broken = CollectingOutputChannel()  # answered here, not raised: Rasa's route would log the text
    asyncio.run(one_message_per_reply(failing)(UserMessage("hej", broken, "sender-3")))
    assert broken.messages == technical


def test_a_failed_turn_gives_the_number_of_the_municipality_in_the_metadata() -> None:
    async def failing(message: UserMessage) -> None:
        raise RuntimeError("the lock store is down")

    out = CollectingOutputChannel()
    message = UserMessage("hej", out, "sender-4", metadata={"municipality": "broenderslev"})
    asyncio.run(one_message_per_reply(failing)(message))
    assert [m["text"] for m in out.messages] == [
        "Beklager, der skete en teknisk fejl, så jeg kunne ikke svare. Prøv igen om lidt, "
        "eller ring til Visitationen – Ældre og Hjælpemidler på 99 45 44 20."
    ]
    unknown = CollectingOutputChannel()
    asyncio.run(
        one_message_per_reply(failing)(UserMessage("hej", unknown, "s", metadata={"municipality": "x"}))
    )
    assert [m["text"] for m in unknown.messages] == [copy_text("errors.technical")]


def test_a_failed_tracker_store_drops_what_the_turn_said() -> None:
    async def said_then_store_failed(message: UserMessage) -> None:
        await message.output_channel.send_text_message(message.sender_id, "Velkommen! Hvor gammel er du?")
        raise TrackerStoreUnavailable("tracker store save failed: OperationalError")

    out = CollectingOutputChannel()
    asyncio.run(one_message_per_reply(said_then_store_failed)(UserMessage("hej", out, "sender-5")))
    assert [m["text"] for m in out.messages] == [copy_text("errors.store_down")]


def test_the_technical_error_names_the_embedding_municipalitys_phone_number() -> None:
    """The web app's metadata says which municipality: the citizen is told whom to call, and on which number
    (the live test, tests/conversation/test_faults.py, covers the municipality answered in the conversation)."""

    async def silent(message: UserMessage) -> None:
        return None

    out = CollectingOutputChannel()
    message = UserMessage("hej", out, "sender-4", metadata={"municipality": "ballerup"})
    asyncio.run(one_message_per_reply(silent)(message))
    [said] = out.messages
    assert (
        "teknisk fejl" in said["text"] and "ring til Visitation til træning på 44 77 31 17." in said["text"]
    )
    unknown = CollectingOutputChannel()
    asyncio.run(
        one_message_per_reply(silent)(UserMessage("hej", unknown, "sender-4", metadata={"municipality": "x"}))
    )
    assert unknown.messages == [{"recipient_id": "sender-4", "text": copy_text("errors.technical")}]
