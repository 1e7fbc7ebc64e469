"""The analytics consumer: Rasa's events from RabbitMQ into the analytics tables.

Rasa's `PikaEventBroker` (endpoints.scale.yml) publishes every new event of a
conversation, already CPR-masked by our tracker store, to a fanout exchange
bound to a durable queue. This consumer (aio-pika, robust connection) reads the
queue one message at a time and acknowledges a message only after the database
transaction that stored it has committed. A message that was stored but not
acknowledged (the broker restarted in between) comes back and is recognised by
its event key (`AnalyticsStore.ingest`), so nothing is lost or counted twice.

    python -m bot consume     # TRAENINGSGUIDEN_AMQP_URL, _ANALYTICS_QUEUE, _ANALYTICS_DATABASE_URL
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
from typing import Any, Awaitable

import aio_pika
from aio_pika.abc import AbstractIncomingMessage

from bot.analytics.store import AnalyticsStore

log = logging.getLogger(__name__)

RASA_EXCHANGE = "rasa-exchange"  # rasa.core.brokers.pika.RABBITMQ_EXCHANGE
DEFAULT_ANALYTICS_DATABASE_URL = "sqlite:///var/analytics.db"
RETRY_SECONDS = 2.0


class Consumer:
    """Store each message, then ack; duplicates are acked without a change."""

    def __init__(self, store: AnalyticsStore) -> None:
        self.store = store
        self.stored = 0
        self.duplicates = 0
        self._lock = asyncio.Lock()  # one message at a time, in delivery order

    async def handle(self, message: AbstractIncomingMessage) -> None:
        try:
            await self._handle(message)
        except asyncio.CancelledError:
            # aio-pika cancels handlers when the channel closes (broker restart); the broker
            # redelivers the unacknowledged message and its key makes that harmless.
            log.info("a message was interrupted by a closing channel; it will be redelivered")

    async def _handle(self, message: AbstractIncomingMessage) -> None:
        async with self._lock:
            try:
                body = json.loads(message.body)
                if not isinstance(body, dict):
                    raise ValueError("not a JSON object")
            except ValueError:
                log.error("dropping a message that is not a Rasa event (%d bytes)", len(message.body))
                await self._settle(message.reject(requeue=False))
                return
            try:
                new = await asyncio.to_thread(self.store.ingest, body)
            except ValueError:
                log.error("dropping an event without a sender id")
                await self._settle(message.reject(requeue=False))
                return
            except Exception:
                log.exception("storing an event failed; it goes back to the queue")
                await asyncio.sleep(RETRY_SECONDS)
                await self._settle(message.nack(requeue=True))
                return
            if new:
                self.stored += 1
            else:
                self.duplicates += 1
                log.info("event already stored (redelivered: %s); acknowledged again", message.redelivered)
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
        await queue.consume(consumer.handle)
        log.info("consuming Rasa events from queue %s", queue_name)
        await stop.wait()
    finally:
        with contextlib.suppress(Exception):
            await connection.close()
    log.info("stopped: %d events stored, %d duplicates", consumer.stored, consumer.duplicates)
    return consumer


async def run(url: str, queue_name: str, database_url: str) -> None:
    """`python -m bot consume`: until SIGINT or SIGTERM."""
    store = await asyncio.to_thread(AnalyticsStore, database_url or DEFAULT_ANALYTICS_DATABASE_URL)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await consume(url, queue_name, store, stop=stop)
    finally:
        store.close()
