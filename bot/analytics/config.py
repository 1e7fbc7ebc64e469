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
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_QUEUE = "traeningsguiden_analytics"  # the queue in endpoints.scale.yml


@dataclasses.dataclass(frozen=True)
class AnalyticsConfig:
    web: WebConfig
    amqp_url: str = DEFAULT_AMQP_URL
    queue: str = DEFAULT_QUEUE

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AnalyticsConfig:
        env = os.environ if environ is None else environ
        return cls(
            web=WebConfig.from_env(env),
            amqp_url=env.get(AMQP_URL_ENV, DEFAULT_AMQP_URL),
            queue=env.get(QUEUE_ENV, DEFAULT_QUEUE),
        )


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
