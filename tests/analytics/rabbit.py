"""The analytics consumer in a background thread, and a RabbitMQ restart, for tests."""

from __future__ import annotations

import asyncio
import subprocess
import threading
import time
from typing import Any, Callable

import aio_pika

from bot.analytics.consumer import Consumer, consume, dead_letter_queue
from bot.analytics.store import AnalyticsStore

AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"


class ConsumerThread:
    """`bot.analytics.consumer.consume` on its own event loop, stopped by `stop()`."""

    def __init__(self, store: AnalyticsStore, queue: str, exchange: str, **consumer: Any) -> None:
        self.consumer = Consumer(store, **consumer)
        self.queue, self.exchange = queue, exchange
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def main() -> None:
            self._stop = asyncio.Event()
            self._ready.set()
            await consume(
                AMQP_URL,
                self.queue,
                self.consumer.store,
                stop=self._stop,
                exchange_name=self.exchange,
                consumer=self.consumer,
            )

        try:
            self._loop.run_until_complete(main())
        except BaseException as e:  # surfaced by the test
            self.error = e
            self._ready.set()
        finally:
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()

    def start(self) -> ConsumerThread:
        self._thread.start()
        self._ready.wait(30)
        return self

    def stop(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)


def restart_rabbitmq() -> None:
    """Stop and start the RabbitMQ application (the node stays up; durable queues survive)."""
    subprocess.run(["rabbitmqctl", "stop_app"], check=True, capture_output=True, timeout=120)
    time.sleep(2)
    subprocess.run(["rabbitmqctl", "start_app"], check=True, capture_output=True, timeout=120)
    subprocess.run(["rabbitmqctl", "await_startup"], check=True, capture_output=True, timeout=120)


def queue_depth(queue: str) -> int:
    """Messages ready or unacknowledged in a queue (management-free: passive declare)."""

    async def depth() -> int:
        connection = await aio_pika.connect(AMQP_URL)
        async with connection:
            channel = await connection.channel()
            declared = await channel.declare_queue(queue, passive=True)
            return int(declared.declaration_result.message_count or 0)

    return asyncio.run(depth())


def wait_until(condition: Callable[[], bool], *, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


def delete_queue_and_exchange(queue: str, exchange: str) -> None:
    async def delete() -> None:
        connection = await aio_pika.connect(AMQP_URL)
        async with connection:
            channel = await connection.channel()
            await channel.queue_delete(queue)
            await channel.queue_delete(dead_letter_queue(queue))
            await channel.exchange_delete(exchange)

    asyncio.run(delete())


def publish(queue: str, exchange: str, bodies: list[bytes], *, headers: dict[str, Any] | None = None) -> None:
    """Publish raw bodies to a fanout exchange bound to a durable queue, declared as Rasa declares them."""

    async def send() -> None:
        connection = await aio_pika.connect(AMQP_URL)
        async with connection:
            channel = await connection.channel()
            declared = await channel.declare_exchange(exchange, aio_pika.ExchangeType.FANOUT)
            bound = await channel.declare_queue(queue, durable=True)
            await bound.bind(declared, "")
            for body in bodies:
                await declared.publish(
                    aio_pika.Message(body, headers=headers or {}, content_type="application/json"), ""
                )

    asyncio.run(send())


def take(queue: str) -> list[aio_pika.abc.AbstractIncomingMessage]:
    """Every message waiting in a queue, removed from it."""

    async def get() -> list[aio_pika.abc.AbstractIncomingMessage]:
        connection = await aio_pika.connect(AMQP_URL)
        async with connection:
            channel = await connection.channel()
            declared = await channel.declare_queue(queue, passive=True)
            taken = []
            while (message := await declared.get(no_ack=True, fail=False)) is not None:
                taken.append(message)
            return taken

    return asyncio.run(get())


__all__ = [
    "AMQP_URL",
    "ConsumerThread",
    "delete_queue_and_exchange",
    "publish",
    "queue_depth",
    "restart_rabbitmq",
    "take",
    "wait_until",
]
