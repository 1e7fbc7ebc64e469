"""The analytics consumer: Rasa's events from RabbitMQ into the analytics tables.

Rasa's `PikaEventBroker` (endpoints.scale.yml) publishes every new event of a
conversation, already CPR-masked by our tracker store, to a fanout exchange
bound to a durable queue. This consumer (aio-pika, robust connection) reads the
queue one message at a time and acknowledges a message only after the database
transaction that stored it has committed. A message that was stored but not
acknowledged (the broker restarted in between) comes back and is recognised by
its event key (`AnalyticsStore.ingest`), so nothing is lost or counted twice.

A message that cannot be stored is not retried forever (a poison message would
loop): it goes back to the queue after a growing pause, and after `max_attempts`
failed tries against a database that answers, it is published unchanged to the
dead-letter queue `<queue>.dead` (its headers plus `x-error`, `x-attempts`,
`x-message-key`), noted in `AnalyticsStore.dead_letters` (no content) and
acknowledged. A message that is not a Rasa event at all is dead-lettered at once.
While the database does not answer (`AnalyticsStore.reachable`) failures are not
counted against the message: an outage never dead-letters a good event.

    python -m bot consume     # TRAENINGSGUIDEN_AMQP_URL, _ANALYTICS_QUEUE, _ANALYTICS_DATABASE_URL,
                              # _ANALYTICS_MAX_ATTEMPTS
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import hashlib
import json
import logging
import signal
from typing import Any, Awaitable

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage

from bot.analytics.store import AnalyticsStore
from bot.config import DEFAULT_ANALYTICS_MAX_ATTEMPTS as DEFAULT_MAX_ATTEMPTS

log = logging.getLogger(__name__)

RASA_EXCHANGE = "rasa-exchange"  # rasa.core.brokers.pika.RABBITMQ_EXCHANGE
DEFAULT_ANALYTICS_DATABASE_URL = "sqlite:///var/analytics.db"
RETRY_SECONDS = 2.0  # the first pause before a failed message is tried again; doubles per try
MAX_RETRY_SECONDS = 60.0
DEAD_LETTER_SUFFIX = ".dead"
REMEMBERED_MESSAGES = 10_000  # failing messages whose tries are counted (oldest forgotten first)


def dead_letter_queue(queue_name: str) -> str:
    return f"{queue_name}{DEAD_LETTER_SUFFIX}"


def message_key(body: bytes) -> str:
    """SHA-256 of the raw body: the same message redelivered has the same key."""
    return hashlib.sha256(body).hexdigest()


class Attempts:
    """Failed tries per message key, in memory, at most `limit` keys (least recent forgotten)."""

    def __init__(self, limit: int = REMEMBERED_MESSAGES) -> None:
        self.limit = limit
        self._counts: collections.OrderedDict[str, int] = collections.OrderedDict()

    def failed(self, key: str) -> int:
        """Count one more failed try; the tries so far."""
        count = self._counts.pop(key, 0) + 1
        self._counts[key] = count
        while len(self._counts) > self.limit:
            self._counts.popitem(last=False)
        return count

    def forget(self, key: str) -> None:
        self._counts.pop(key, None)

    def __len__(self) -> int:
        return len(self._counts)


class NotARasaEvent(ValueError):
    """The body is not a JSON object with a sender id: no retry can store it."""


class Consumer:
    """Store each message, then ack; duplicates are acked without a change; poison is dead-lettered."""

    def __init__(
        self,
        store: AnalyticsStore,
        *,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        retry_seconds: float = RETRY_SECONDS,
        max_retry_seconds: float = MAX_RETRY_SECONDS,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts is at least 1")
        self.store = store
        self.max_attempts = max_attempts
        self.retry_seconds = retry_seconds
        self.max_retry_seconds = max_retry_seconds
        self.stored = 0
        self.duplicates = 0
        self.dead_lettered = 0
        self.attempts = Attempts()
        self._outage = 0  # failed tries in a row while the database did not answer
        self._channel: AbstractChannel | None = None
        self._dead_letter_queue = ""
        self._lock = asyncio.Lock()  # one message at a time, in delivery order

    def attach(self, channel: AbstractChannel, dead_letter_queue_name: str) -> None:
        """Where dead letters are published (the default exchange, routed by queue name)."""
        self._channel = channel
        self._dead_letter_queue = dead_letter_queue_name

    def pause(self, tries: int) -> float:
        """Seconds to wait before a message fails for the `tries`-th time goes back to the queue."""
        return float(min(self.max_retry_seconds, self.retry_seconds * 2 ** max(tries - 1, 0)))

    async def handle(self, message: AbstractIncomingMessage) -> None:
        try:
            await self._handle(message)
        except asyncio.CancelledError:
            # aio-pika cancels handlers when the channel closes (broker restart); the broker
            # redelivers the unacknowledged message and its key makes that harmless.
            log.info("a message was interrupted by a closing channel; it will be redelivered")

    async def _handle(self, message: AbstractIncomingMessage) -> None:
        async with self._lock:
            key = message_key(message.body)
            try:
                body = json.loads(message.body)
                if not isinstance(body, dict):
                    raise NotARasaEvent("not a JSON object")
            except ValueError as e:
                log.error("a message that is not a Rasa event (%d bytes) is dead-lettered", len(message.body))
                await self._dead_letter(message, key, error=type(e).__name__, attempts=1)
                return
            try:
                new = await asyncio.to_thread(self.store.ingest, body)
            except ValueError as e:  # no sender id, or a value no retry can read
                log.error("an event that cannot be read (%s) is dead-lettered", type(e).__name__)
                await self._dead_letter(message, key, error=type(e).__name__, attempts=1)
                return
            except Exception as e:
                await self._failed(message, key, e)
                return
            self.attempts.forget(key)
            self._outage = 0
            if new:
                self.stored += 1
            else:
                self.duplicates += 1
                log.info("event already stored (redelivered: %s); acknowledged again", message.redelivered)
            await self._settle(message.ack())

    async def _failed(self, message: AbstractIncomingMessage, key: str, error: Exception) -> None:
        """Back to the queue after a pause, or to the dead-letter queue after `max_attempts` tries."""
        if not await asyncio.to_thread(self.store.reachable):
            self._outage += 1
            pause = self.pause(self._outage)
            log.warning(
                "the analytics database does not answer (%s); the event goes back to the queue in %.1f s "
                "and the try is not counted",
                type(error).__name__,
                pause,
            )
            await asyncio.sleep(pause)
            await self._settle(message.nack(requeue=True))
            return
        self._outage = 0
        tries = self.attempts.failed(key)
        if tries >= self.max_attempts:
            log.error(
                "storing an event failed %d times (%s); it is dead-lettered",
                tries,
                type(error).__name__,
                exc_info=error,
            )
            await self._dead_letter(message, key, error=type(error).__name__, attempts=tries)
            return
        pause = self.pause(tries)
        log.warning(
            "storing an event failed (%s, try %d of %d); it goes back to the queue in %.1f s",
            type(error).__name__,
            tries,
            self.max_attempts,
            pause,
        )
        await asyncio.sleep(pause)
        await self._settle(message.nack(requeue=True))

    async def _dead_letter(
        self, message: AbstractIncomingMessage, key: str, *, error: str, attempts: int
    ) -> None:
        """Publish the body unchanged to the dead-letter queue, note it, then ack the original."""
        if self._channel is None:
            raise RuntimeError("Consumer.attach() names the dead-letter queue before consuming")
        headers: dict[str, Any] = dict(message.headers or {})
        headers.update({"x-error": error, "x-attempts": attempts, "x-message-key": key})
        letter = aio_pika.Message(
            message.body,
            headers=headers,
            content_type=message.content_type,
            content_encoding=message.content_encoding,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        try:
            await self._channel.default_exchange.publish(letter, routing_key=self._dead_letter_queue)
        except Exception as e:  # the channel closed under us: the message is redelivered and tried again
            log.warning(
                "could not dead-letter a message (%s); the broker will redeliver it", type(e).__name__
            )
            return
        self.attempts.forget(key)
        self.dead_lettered += 1
        try:
            await asyncio.to_thread(
                self.store.record_dead_letter,
                message_key=key,
                error=error,
                attempts=attempts,
                at=dt.datetime.now(dt.timezone.utc),
            )
        except Exception as e:  # the dead-letter queue holds the message; only the count misses it
            log.warning("could not note a dead letter in the analytics database (%s)", type(e).__name__)
        await self._settle(message.ack())

    @staticmethod
    async def _settle(settling: Awaitable[Any]) -> None:
        """Ack/nack/reject; on a closed channel the broker redelivers the message later."""
        try:
            await settling
        except Exception as e:  # the channel closed under us (broker restart)
            log.warning("could not settle a message (%s); the broker will redeliver it", type(e).__name__)


async def consume(
    url: str,
    queue_name: str,
    store: AnalyticsStore,
    *,
    stop: asyncio.Event,
    exchange_name: str = RASA_EXCHANGE,
    prefetch: int = 50,
    consumer: Consumer | None = None,
) -> Consumer:
    """Consume until `stop` is set; returns the consumer with its counts."""
    consumer = consumer or Consumer(store)
    connection = await aio_pika.connect_robust(url)
    try:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=prefetch)
        exchange = await channel.declare_exchange(exchange_name, aio_pika.ExchangeType.FANOUT)
        queue = await channel.declare_queue(queue_name, durable=True)  # as Rasa declares it
        await queue.bind(exchange, "")
        dead = await channel.declare_queue(dead_letter_queue(queue_name), durable=True)
        consumer.attach(channel, dead.name)
        await queue.consume(consumer.handle)
        log.info("consuming Rasa events from queue %s", queue_name)
        await stop.wait()
    finally:
        with contextlib.suppress(Exception):
            await connection.close()
    log.info(
        "stopped: %d events stored, %d duplicates, %d dead-lettered",
        consumer.stored,
        consumer.duplicates,
        consumer.dead_lettered,
    )
    return consumer


async def run(
    url: str, queue_name: str, database_url: str, *, max_attempts: int = DEFAULT_MAX_ATTEMPTS
) -> None:
    """`python -m bot consume`: until SIGINT or SIGTERM."""
    store = await asyncio.to_thread(AnalyticsStore, database_url or DEFAULT_ANALYTICS_DATABASE_URL)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await consume(url, queue_name, store, stop=stop, consumer=Consumer(store, max_attempts=max_attempts))
    finally:
        store.close()
