"""Where analytics reads from, from the environment (the rest is `bot.web.app.WebConfig`)."""

from __future__ import annotations

import dataclasses
import os
from typing import Mapping

from bot.analytics.retention import Stores
from bot.analytics.store import AnalyticsStore, TrackerEvents
from bot.drafts.store import DraftStore
from bot.web.app import WebConfig

ANALYTICS_DATABASE_URL_ENV = "TRAENINGSGUIDEN_ANALYTICS_DATABASE_URL"
AMQP_URL_ENV = "TRAENINGSGUIDEN_AMQP_URL"
QUEUE_ENV = "TRAENINGSGUIDEN_ANALYTICS_QUEUE"
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_QUEUE = "traeningsguiden_analytics"  # the queue in endpoints.scale.yml


@dataclasses.dataclass(frozen=True)
class AnalyticsConfig:
    web: WebConfig
    analytics_database_url: str | None = None  # the consumer's tables; None: read Rasa's tracker store
    amqp_url: str = DEFAULT_AMQP_URL
    queue: str = DEFAULT_QUEUE

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AnalyticsConfig:
        env = os.environ if environ is None else environ
        return cls(
            web=WebConfig.from_env(env),
            analytics_database_url=env.get(ANALYTICS_DATABASE_URL_ENV) or None,
            amqp_url=env.get(AMQP_URL_ENV, DEFAULT_AMQP_URL),
            queue=env.get(QUEUE_ENV, DEFAULT_QUEUE),
        )


def open_stores(config: AnalyticsConfig, *, drafts: bool = True) -> Stores:
    """The tracker store, the consumer's tables (if configured) and the drafts (needs the draft key)."""
    analytics = (
        AnalyticsStore(config.analytics_database_url) if config.analytics_database_url is not None else None
    )
    draft_store = (
        DraftStore(
            config.web.database_url,
            key=config.web.key,
            retention_days=config.web.retention_days,
            table_prefix=config.web.table_prefix,
        )
        if drafts
        else None
    )
    return Stores(TrackerEvents(config.web.tracker_database_url), analytics, draft_store)
