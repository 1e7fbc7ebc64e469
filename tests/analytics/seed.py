"""Generated conversations through the real bot, and what a citizen saw in each (counted independently).

The expected figures come from the bot's replies over REST (custom payloads and the
Danish fallback texts), never from the tracker store or `bot.analytics`.
"""

from __future__ import annotations

import dataclasses
import socket
import uuid
from pathlib import Path
from typing import Any

from bot.wording import text as copy_text
from tests.analytics.events import event_count
from tests.analytics.rabbit import ConsumerThread, queue_depth, restart_rabbitmq, wait_until
from tests.conversation.test_live import DRAFT_ANSWERS, ROUTES
from tests.live import Servers

CPR_TYPED = ("010116-1234", "0202161234", "010150-1234", "311299-4321")
NOT_UNDERSTOOD_REPLIES = (
    "fallback.first",
    "fallback.second",
    "fallback.second_answer",
    "navigation.out_of_scope",
    "turn.not_understood",
    "invalid_answer.yes_no",
    "invalid_answer.choice",
    "invalid_answer.number",
    "invalid_answer.number_range",
)


@dataclasses.dataclass
class Observed:
    """One seeded conversation as the citizen saw it."""

    sender: str
    channel: str
    municipality: str | None
    turns: int = 0
    outcome: str | None = None
    handoff_requested: bool = False
    drafts: list[str] = dataclasses.field(default_factory=list)
    not_understood: list[str] = dataclasses.field(default_factory=list)
    questions: list[str] = dataclasses.field(default_factory=list)
    last_question: str | None = None


def _custom(messages: list[dict[str, Any]], key: str) -> list[Any]:
    return [m["custom"][key] for m in messages if key in (m.get("custom") or {})]


class Seeder:
    def __init__(self, servers: Servers) -> None:
        self.servers = servers
        self.observed: list[Observed] = []
        self._fallback_texts = {copy_text(path) for path in NOT_UNDERSTOOD_REPLIES}

    def start(self, channel: str = "citizen", municipality: str | None = None) -> Observed:
        seen = Observed(f"seed-{uuid.uuid4().hex[:12]}", channel, municipality)
        self.observed.append(seen)
        return seen

    def send(self, seen: Observed, message: str, *, handoff: bool = False) -> list[dict[str, Any]]:
        metadata: dict[str, Any] = {"channel": seen.channel}
        if seen.channel == "staff":
            metadata["staff_initials"] = "LH"
        if seen.municipality and seen.channel == "staff":
            metadata["municipality"] = seen.municipality
        replies = self.servers.send(seen.sender, message, metadata)
        seen.turns += 1
        texts = [m.get("text") for m in replies if m.get("text")]
        paragraphs = [p for t in texts for p in t.split("\n\n")]  # one message per reply, paragraphs in it
        if any(p in self._fallback_texts for p in paragraphs):  # after a notice too (e.g. a CPR number masked)
            seen.not_understood.append(message)
        if handoff and (_custom(replies, "handoff") or any("medarbejder" in t for t in texts)):
            seen.handoff_requested = True
        for message_ in replies:
            custom = message_.get("custom") or {}
            if "question" in custom:
                fact = custom["question"]["fact"]
                if fact not in seen.questions:
                    seen.questions.append(fact)
                seen.last_question = fact
            if "outcome" in custom:
                seen.outcome = custom["outcome"]["offer"]
                seen.municipality = custom["outcome"]["municipality"]
                seen.last_question = None
            if "draft" in custom:
                seen.drafts.append(custom["draft"]["reference"])
                seen.last_question = None
        return replies

    def route(self, first: str, answers: dict[str, str], seen: Observed) -> list[dict[str, Any]]:
        replies = self.send(seen, first)
        for _ in range(20):
            if _custom(replies, "outcome"):
                return replies
            question = _custom(replies, "question")
            assert question, replies
            replies = self.send(seen, answers[question[-1]["fact"]])
        raise AssertionError("no outcome")

    def draft(self, seen: Observed) -> None:
        replies = self.send(seen, DRAFT_ANSWERS["draft_offer"])
        for _ in range(20):
            if _custom(replies, "draft"):
                return
            replies = self.send(seen, DRAFT_ANSWERS[_custom(replies, "question")[-1]["fact"]])
        raise AssertionError("no draft")


def seed(seeder: Seeder, *, restart_midway: bool) -> None:
    """About 20 conversations: every outcome, drafts, handoffs, fallbacks, CPR numbers, staff."""
    for i, (first, answers, _offer) in enumerate(ROUTES):
        seen = seeder.start("staff" if i in (1, 4) else "citizen", "ballerup" if i == 1 else None)
        seeder.route(first, answers, seen)
        if i in (0, 3):
            seeder.draft(seen)  # need_description carries a CPR number
    if restart_midway:
        restart_rabbitmq()  # Rasa's broker and our consumer reconnect; nothing lost, nothing twice
    for _ in range(2):
        seen = seeder.start(municipality="ballerup")
        seeder.send(seen, "hej")
        seeder.send(seen, "jeg vil tale med en medarbejder", handoff=True)
        seeder.send(seen, "Ballerup")
    for question in (
        "hvornår bliver skraldet hentet?",
        "Hvornår bliver skraldet hentet",
        "hvad med skraldet",
    ):
        seen = seeder.start()
        seeder.send(seen, "min mor på 84 bliver dårligere gående")
        seeder.send(seen, question)
    for cpr in CPR_TYPED[:2]:
        seen = seeder.start()
        seeder.send(seen, f"min søn er 8 år, cpr {cpr}")
    seen = seeder.start()
    seeder.send(seen, "?")
    seeder.send(seen, "ssss")
    seen = seeder.start()
    seeder.send(seen, "sss")
    seen = seeder.start("staff", "aarhus")
    seeder.route("vi vil gerne hjemmetræne vores datter", dict(ROUTES[4][1]), seen)
    seen = seeder.start()
    seeder.send(seen, "jeg er 80 og lige kommet hjem fra sygehuset")
    seeder.send(seen, f"mit cpr er {CPR_TYPED[3]}")


def reachable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


@dataclasses.dataclass
class Seed:
    servers: Servers
    observed: list[Observed]
    workdir: Path
    consumer: ConsumerThread | None
    queue: str | None


def add_event_broker(servers: Servers, queue: str, exchange: str) -> None:
    """Rasa's own Pika event broker in the test's endpoints file."""
    with servers.endpoints.open("a", encoding="utf-8") as handle:
        handle.write(
            "event_broker:\n  type: pika\n  url: 127.0.0.1\n  port: 5672\n  username: guest\n"
            f"  password: guest\n  exchange_name: {exchange}\n  queues:\n    - {queue}\n"
        )


def drain(seed_: Seed, expected_events: int) -> None:
    assert seed_.consumer is not None and seed_.queue is not None
    store = seed_.consumer.consumer.store
    wait_until(lambda: event_count(store) >= expected_events, seconds=120, what="the consumer caught up")
    wait_until(lambda: queue_depth(str(seed_.queue)) == 0, seconds=60, what="the queue drained")
