"""Hand-made Rasa event dicts, shaped as the tracker store writes them (see a live run), and a
count of the events an analytics store holds."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from bot.analytics.store import AnalyticsStore

OLD_SLOT_NAMES = {"order": "answer_order", "pending": "pending_question", "misses": "fallback_count"}
"""State slots under the names they had before they matched `bot.state.State` (stored conversations)."""


def event_count(store: AnalyticsStore, sender_id: str | None = None) -> int:
    """How many events the store holds (for one conversation, given its sender id)."""
    query = sa.select(sa.func.count()).select_from(store.events)
    if sender_id is not None:
        query = query.where(store.events.c.sender_id == sender_id)
    with store.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


class Conversation:
    """Builds one conversation's events with increasing timestamps.

    `old_slot_names`: the state slots as an action server before the rename wrote them.
    Each reply is one bot event with its text and custom data; `one_message=False` writes
    them as conversations stored before issue 11 have them: the text, then the custom data
    in a bot event of its own.
    """

    def __init__(
        self,
        start: float = 1_800_000_000.0,
        *,
        channel: str | None = None,
        municipality: str | None = None,
        old_slot_names: bool = False,
        one_message: bool = True,
    ):
        self.names = OLD_SLOT_NAMES if old_slot_names else {}
        self.one_message = one_message
        self.t = start
        self.events: list[dict[str, Any]] = []
        self.metadata = {k: v for k, v in (("channel", channel), ("municipality", municipality)) if v}
        self._add({"event": "action", "name": "action_session_start"})
        self._add({"event": "session_started"})
        self._add({"event": "action", "name": "action_listen"})

    def _add(self, event: dict[str, Any], step: float = 1.0) -> None:
        self.t += step
        self.events.append({**event, "timestamp": self.t})

    def user(self, text: str, intent: str = "inform", *, after: float = 5.0) -> Conversation:
        self._add(
            {
                "event": "user",
                "text": text,
                "metadata": dict(self.metadata),
                "parse_data": {"intent": {"name": intent, "confidence": 0.9}, "text": text},
            },
            after,
        )
        return self

    def action(self, name: str) -> Conversation:
        self._add({"event": "action", "name": name}, 0.01)
        return self

    def bot(self, text: str | None = None, *, after: float = 0.01, **custom: Any) -> Conversation:
        """One bot event as written, whatever the shape."""
        self._add({"event": "bot", "text": text, "data": {"custom": custom or None}}, after)
        return self

    def reply(self, text: str, **custom: Any) -> Conversation:
        """One reply: one bot event, or (old shape) its text and then its custom data."""
        if self.one_message or not custom:
            return self.bot(text, **custom)
        return self.bot(text).bot(None, **custom)

    def slot(self, name: str, value: Any) -> Conversation:
        self._add({"event": "slot", "name": name, "value": value}, 0.001)
        return self

    def slots(
        self,
        *,
        pending: str | None = None,
        order: list[str] | None = None,
        misses: int = 0,
        draft: dict[str, Any] | None = None,
        facts: dict[str, Any] | None = None,
    ) -> Conversation:
        self.slot("facts", facts or {})
        self.slot(self.names.get("order", "order"), order or [])
        self.slot(self.names.get("pending", "pending"), pending)
        self.slot(self.names.get("misses", "misses"), float(misses))
        self.slot("draft", draft or {})
        return self.action("action_listen")

    def ask(self, fact: str, text: str = "Spørgsmål?") -> Conversation:
        return self.reply(text, question={"fact": fact, "kind": "yes_no", "options": []})

    def outcome(self, offer: str, municipality: str = "ballerup") -> Conversation:
        return self.reply("Resultat", outcome={"offer": offer, "municipality": municipality, "legal_basis": []})
