"""Analytics settings: the web app's `WebConfig` (databases, retention) plus RabbitMQ."""

from __future__ import annotations

import dataclasses
import os
from typing import Mapping

from bot.analytics.retention import Stores
from bot.analytics.store import AnalyticsStore, TrackerEvents
from bot.drafts.store import DraftStore
from bot.web.app import WebConfig

AMQP_URL_ENV = "TRAENINGSGUIDEN_AMQP_URL"
QUEUE_ENV = "TRAENINGSGUIDEN_ANALYTICS_QUEUE"
MAX_ATTEMPTS_ENV = "TRAENINGSGUIDEN_ANALYTICS_MAX_ATTEMPTS"
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_QUEUE = "traeningsguiden_analytics"  # the queue in endpoints.scale.yml
DEFAULT_MAX_ATTEMPTS = 3  # failed tries before the consumer dead-letters an event


@dataclasses.dataclass(frozen=True)
class AnalyticsConfig:
    web: WebConfig
    amqp_url: str = DEFAULT_AMQP_URL
    queue: str = DEFAULT_QUEUE
    max_attempts: int = DEFAULT_MAX_ATTEMPTS

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AnalyticsConfig:
        env = os.environ if environ is None else environ
        return cls(
            web=WebConfig.from_env(env),
            amqp_url=env.get(AMQP_URL_ENV, DEFAULT_AMQP_URL),
            queue=env.get(QUEUE_ENV, DEFAULT_QUEUE),
            max_attempts=_positive(env.get(MAX_ATTEMPTS_ENV), MAX_ATTEMPTS_ENV, DEFAULT_MAX_ATTEMPTS),
        )


def _positive(value: str | None, name: str, default: int) -> int:
    if value is None or not value.strip():
        return default
    try:
        number = int(value)
    except ValueError as e:
        raise ValueError(f"{name} must be a whole number, not {value!r}") from e
    if number < 1:
        raise ValueError(f"{name} must be at least 1, not {number}")
    return number


def open_stores(config: WebConfig, *, drafts: bool = True) -> Stores:
    """The tracker store, the consumer's tables (if configured) and the drafts (needs the draft key)."""
    url = config.analytics_database_url
    draft_store = (
        DraftStore(
            config.database_url,
            key=config.key,
            retention_days=config.retention_days,
            table_prefix=config.table_prefix,
        )
        if drafts
        else None
    )
    return Stores(
        TrackerEvents(config.tracker_database_url), AnalyticsStore(url) if url else None, draft_store
    )
