"""Every setting of Træningsguiden: the `TRAENINGSGUIDEN_*` environment variables and their defaults.

`Settings.from_env()` reads them once; the web app, the action server and the
analytics commands each take what they need from it. This module imports
nothing of ours (only the standard library), so anything may import it without
pulling in the web app, a database driver or Rasa.

Secrets kept in files are read by `bot.keys.load_key` (draft key, session key)
and by `actions.server.load_token` (the action server's token); their variable
names and default files are here too.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
import os
from pathlib import Path
from typing import Callable, Mapping

PROJECT_DIR = Path(__file__).resolve().parents[1]
VAR_DIR = PROJECT_DIR / "var"

# --- the variables ----------------------------------------------------------------------------

# the web app (`python -m bot.web`)
PORT_ENV = "TRAENINGSGUIDEN_WEB_PORT"
BASE_URL_ENV = "TRAENINGSGUIDEN_BASE_URL"
RASA_URL_ENV = "TRAENINGSGUIDEN_RASA_URL"
RASA_TIMEOUT_ENV = "TRAENINGSGUIDEN_RASA_TIMEOUT_SECONDS"
RATE_LIMIT_ENV = "TRAENINGSGUIDEN_RATE_LIMIT_PER_MINUTE"
EMBED_ORIGINS_ENV = "TRAENINGSGUIDEN_EMBED_ORIGINS"
TRUSTED_PROXIES_ENV = "TRAENINGSGUIDEN_TRUSTED_PROXIES"
MUNICIPALITY_ENV = "TRAENINGSGUIDEN_MUNICIPALITY"
ACCOUNTS_ENV = "TRAENINGSGUIDEN_ACCOUNTS"
SESSION_KEY_ENV = "TRAENINGSGUIDEN_SESSION_KEY"
# drafts (the web app and the action server)
DRAFT_DATABASE_URL_ENV = "TRAENINGSGUIDEN_DRAFT_DATABASE_URL"
DRAFT_RETENTION_ENV = "TRAENINGSGUIDEN_DRAFT_RETENTION_DAYS"
DRAFT_KEY_ENV = "TRAENINGSGUIDEN_DRAFT_KEY"
# conversations and analytics (the web app's analyst pages and `python -m bot`)
TRACKER_DATABASE_URL_ENV = "TRAENINGSGUIDEN_TRACKER_DATABASE_URL"
CONVERSATION_RETENTION_ENV = "TRAENINGSGUIDEN_CONVERSATION_RETENTION_DAYS"
ANALYTICS_DATABASE_URL_ENV = "TRAENINGSGUIDEN_ANALYTICS_DATABASE_URL"
AMQP_URL_ENV = "TRAENINGSGUIDEN_AMQP_URL"
ANALYTICS_QUEUE_ENV = "TRAENINGSGUIDEN_ANALYTICS_QUEUE"
ANALYTICS_MAX_ATTEMPTS_ENV = "TRAENINGSGUIDEN_ANALYTICS_MAX_ATTEMPTS"
AUDIT_RETENTION_ENV = "TRAENINGSGUIDEN_AUDIT_RETENTION_DAYS"
# the action server (`python -m actions.server`); no default: it refuses to start without one
ACTION_TOKEN_ENV = "TRAENINGSGUIDEN_ACTION_TOKEN"

# --- the defaults -----------------------------------------------------------------------------

DEFAULT_PORT = 8080
DEFAULT_RASA_URL = "http://127.0.0.1:5005"
DEFAULT_RASA_TIMEOUT_SECONDS = 30.0
DEFAULT_RATE_LIMIT_PER_MINUTE = 30
DEFAULT_ACCOUNTS_FILE = "var/accounts.yml"
DEFAULT_SESSION_KEY_FILE = VAR_DIR / "session.key"
DEFAULT_DRAFT_DATABASE_URL = f"sqlite:///{VAR_DIR / 'drafts.db'}"
DEFAULT_DRAFT_RETENTION_DAYS = 30
DEFAULT_DRAFT_KEY_FILE = VAR_DIR / "draft.key"
DEFAULT_TRACKER_DATABASE_URL = "sqlite:///var/tracker.db"
DEFAULT_CONVERSATION_RETENTION_DAYS = 90
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_ANALYTICS_QUEUE = "traeningsguiden_analytics"  # the queue in endpoints.scale.yml
DEFAULT_ANALYTICS_MAX_ATTEMPTS = 3  # failed tries before the consumer dead-letters an event
# The audit log of analysts' reads outlives the conversations it points to (90 days), so a
# question about who read a conversation can still be answered after the conversation is gone.
DEFAULT_AUDIT_RETENTION_DAYS = 180


def base_url_from_env(environ: Mapping[str, str] | None = None) -> str:
    """`Settings.base_url` alone: what draft links start with (the action server reads it per call)."""
    env = os.environ if environ is None else environ
    return env.get(BASE_URL_ENV, f"http://127.0.0.1:{env.get(PORT_ENV, str(DEFAULT_PORT))}")


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclasses.dataclass(frozen=True)
class Settings:
    """The settings of one process: web app, action server or analytics command."""

    port: int = DEFAULT_PORT  # the web app listens on 127.0.0.1:port
    database_url: str = DEFAULT_DRAFT_DATABASE_URL  # drafts
    base_url: str = f"http://127.0.0.1:{DEFAULT_PORT}"  # what `draft_url` puts in front of a token
    retention_days: int = DEFAULT_DRAFT_RETENTION_DAYS  # drafts
    rasa_url: str = DEFAULT_RASA_URL  # Rasa's REST channel is at {rasa_url}/webhooks/rest/webhook
    accounts_file: str = DEFAULT_ACCOUNTS_FILE  # staff and analyst accounts (bot.web.auth)
    session_key: bytes | None = None  # 32 url-safe base64 bytes (Fernet); None: var/session.key
    embed_origins: tuple[str, ...] = ()  # municipal sites allowed to frame the chat page
    trusted_proxies: tuple[
        str, ...
    ] = ()  # addresses/networks of the proxy in front; () = none, no header read
    municipality: str | None = None  # the municipality this deployment serves, if only one
    rate_limit_per_minute: int = DEFAULT_RATE_LIMIT_PER_MINUTE  # per client, on the public chat endpoint
    rasa_timeout_seconds: float = DEFAULT_RASA_TIMEOUT_SECONDS  # then the citizen gets "ring til ..."
    tracker_database_url: str = (
        DEFAULT_TRACKER_DATABASE_URL  # Rasa's SQL tracker store (analytics, retention)
    )
    conversation_retention_days: int = DEFAULT_CONVERSATION_RETENTION_DAYS
    analytics_database_url: str | None = None  # the analytics consumer's tables; None: the tracker store
    amqp_url: str = DEFAULT_AMQP_URL  # RabbitMQ, for `python -m bot consume`
    analytics_queue: str = DEFAULT_ANALYTICS_QUEUE
    analytics_max_attempts: int = DEFAULT_ANALYTICS_MAX_ATTEMPTS  # then the event goes to <queue>.dead
    audit_retention_days: int = DEFAULT_AUDIT_RETENTION_DAYS  # rows of the analysts' audit log
    # Not from the environment (tests and tools set them):
    key: bytes | None = None  # the draft key; None: `bot.drafts.store.load_draft_key()`
    table_prefix: str = ""
    purge_interval_seconds: float = 3600.0
    clock: Callable[[], dt.datetime] = _utcnow

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        port = env.get(PORT_ENV, str(DEFAULT_PORT))
        return cls(
            port=int(port),
            database_url=env.get(DRAFT_DATABASE_URL_ENV, DEFAULT_DRAFT_DATABASE_URL),
            base_url=base_url_from_env(env),
            retention_days=int(env.get(DRAFT_RETENTION_ENV, str(DEFAULT_DRAFT_RETENTION_DAYS))),
            rasa_url=env.get(RASA_URL_ENV, DEFAULT_RASA_URL).rstrip("/"),
            accounts_file=env.get(ACCOUNTS_ENV, DEFAULT_ACCOUNTS_FILE),
            session_key=env[SESSION_KEY_ENV].encode() if env.get(SESSION_KEY_ENV) else None,
            embed_origins=tuple(env.get(EMBED_ORIGINS_ENV, "").replace(",", " ").split()),
            trusted_proxies=_networks(env.get(TRUSTED_PROXIES_ENV, ""), TRUSTED_PROXIES_ENV),
            municipality=env.get(MUNICIPALITY_ENV) or None,
            rate_limit_per_minute=int(env.get(RATE_LIMIT_ENV, str(DEFAULT_RATE_LIMIT_PER_MINUTE))),
            rasa_timeout_seconds=float(env.get(RASA_TIMEOUT_ENV, str(DEFAULT_RASA_TIMEOUT_SECONDS))),
            tracker_database_url=env.get(TRACKER_DATABASE_URL_ENV, DEFAULT_TRACKER_DATABASE_URL),
            conversation_retention_days=int(
                env.get(CONVERSATION_RETENTION_ENV, str(DEFAULT_CONVERSATION_RETENTION_DAYS))
            ),
            analytics_database_url=env.get(ANALYTICS_DATABASE_URL_ENV) or None,
            amqp_url=env.get(AMQP_URL_ENV, DEFAULT_AMQP_URL),
            analytics_queue=env.get(ANALYTICS_QUEUE_ENV, DEFAULT_ANALYTICS_QUEUE),
            analytics_max_attempts=_positive(
                env.get(ANALYTICS_MAX_ATTEMPTS_ENV),
                ANALYTICS_MAX_ATTEMPTS_ENV,
                DEFAULT_ANALYTICS_MAX_ATTEMPTS,
            ),
            audit_retention_days=_positive(
                env.get(AUDIT_RETENTION_ENV), AUDIT_RETENTION_ENV, DEFAULT_AUDIT_RETENTION_DAYS
            ),
        )

    @property
    def audit_database_url(self) -> str:
        """Where the audit log of analysts' reads is kept: the analytics database, else the tracker store's."""
        return self.analytics_database_url or self.tracker_database_url


def _networks(value: str, name: str) -> tuple[str, ...]:
    """IP addresses or networks, separated by commas or spaces; anything else stops the start."""
    items = tuple(value.replace(",", " ").split())
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ValueError(
                f"{name}: {item!r} is not an IP address or network (e.g. 10.0.0.5 or 10.0.0.0/24)"
            ) from None
    return items


def _positive(value: str | None, name: str, default: int) -> int:
    """A whole number of at least 1 from the environment; unset or blank: `default`."""
    if value is None or not value.strip():
        return default
    try:
        number = int(value)
    except ValueError as e:
        raise ValueError(f"{name} must be a whole number, not {value!r}") from e
    if number < 1:
        raise ValueError(f"{name} must be at least 1, not {number}")
    return number
