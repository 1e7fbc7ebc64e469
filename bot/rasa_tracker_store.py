"""Rasa's SQL tracker store with CPR numbers masked before anything is persisted.

Masking happens here, at the store, so no channel can bypass it: every event is
masked before it is written (and before it is streamed to an event broker).
The in-memory tracker of the running turn is not changed. Imports Rasa, like
bot/rasa_channel.py; the masking itself is `bot.privacy.mask_cpr`.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker

from bot.privacy import mask_cpr


def mask_json(value: Any) -> Any:
    """Every string inside a JSON-like value with CPR numbers masked: keys too (REST metadata is the
    sender's), and a number that is a CPR number (`/inform{"choice": 3112901234}`) becomes the mask."""
    if isinstance(value, str):
        return mask_cpr(value)[0]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        masked, found = mask_cpr(json.dumps(value))
        return masked if found else value
    if isinstance(value, list):
        return [mask_json(v) for v in value]
    if isinstance(value, dict):
        return {mask_json(k) if isinstance(k, str) else k: mask_json(v) for k, v in value.items()}
    return value


def masked_tracker(tracker: DialogueStateTracker) -> DialogueStateTracker:
    events = [event.as_dict() for event in tracker.events]
    if not mask_cpr(json.dumps(events, ensure_ascii=False))[1]:
        return tracker
    return DialogueStateTracker.from_dict(
        tracker.sender_id, mask_json(events), list(tracker.slots.values()), tracker._max_event_history
    )


class WithholdBrokerEvents(logging.Filter):
    """Rasa's Pika broker logs a failed event in full at ERROR (text, metadata): keep only that it failed.

    Installed on the `rasa.core.brokers.pika` logger by `MaskingSQLTrackerStore`, so a
    RabbitMQ outage does not copy citizens' messages into the logs.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if "rasa_event" in str(record.msg):
            failed = "publish.failed" in str(record.msg)
            record.msg = (
                "pika.events.publish.failed: an event could not be published yet; Rasa keeps it and "
                "retries on reconnect (event withheld from the log: it may hold a citizen's text)"
                if failed
                else "pika.events.publish: event withheld from the log"
            )
            record.args = ()
        return True


_BROKER_LOGGER = "rasa.core.brokers.pika"


def withhold_broker_events() -> None:
    """Install `WithholdBrokerEvents` once on Rasa's Pika broker logger."""
    broker_log = logging.getLogger(_BROKER_LOGGER)
    if not any(isinstance(f, WithholdBrokerEvents) for f in broker_log.filters):
        broker_log.addFilter(WithholdBrokerEvents())


class MaskingSQLTrackerStore(SQLTrackerStore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        withhold_broker_events()
        super().__init__(*args, **kwargs)

    async def save(self, tracker: DialogueStateTracker) -> None:
        await super().save(masked_tracker(tracker))
