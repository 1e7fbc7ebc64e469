"""`bot.config`: every `TRAENINGSGUIDEN_*` variable is named there, read once, with its default."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from bot import config
from bot.config import Settings

PROJECT = Path(__file__).resolve().parents[2]
VARIABLE = re.compile(r"TRAENINGSGUIDEN_[A-Z_]+")


def test_config_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "TRAENINGSGUIDEN_DRAFT_DATABASE_URL": "sqlite:///x.db",
            "TRAENINGSGUIDEN_WEB_PORT": "9099",
            "TRAENINGSGUIDEN_DRAFT_RETENTION_DAYS": "14",
        }
    )
    assert settings.database_url == "sqlite:///x.db"
    assert settings.base_url == "http://127.0.0.1:9099" and settings.retention_days == 14
    assert settings.port == 9099
    assert (
        Settings.from_env({"TRAENINGSGUIDEN_BASE_URL": "https://k.example"}).base_url == "https://k.example"
    )


def test_an_empty_environment_gives_the_defaults() -> None:
    settings = Settings.from_env({})
    assert settings == Settings(clock=settings.clock)
    assert settings.port == 8080 and settings.rasa_url == "http://127.0.0.1:5005"
    assert settings.database_url.endswith("/var/drafts.db") and settings.retention_days == 30
    assert settings.conversation_retention_days == 90 and settings.analytics_database_url is None
    assert settings.amqp_url == config.DEFAULT_AMQP_URL
    assert settings.analytics_queue == "traeningsguiden_analytics"
    assert settings.audit_retention_days == 180 > settings.conversation_retention_days
    assert settings.audit_database_url == settings.tracker_database_url  # embedded: beside Rasa's events


def test_every_variable_is_read() -> None:
    env = {
        "TRAENINGSGUIDEN_WEB_PORT": "8181",
        "TRAENINGSGUIDEN_RASA_URL": "http://127.0.0.1:5999/",
        "TRAENINGSGUIDEN_RASA_TIMEOUT_SECONDS": "2.5",
        "TRAENINGSGUIDEN_RATE_LIMIT_PER_MINUTE": "7",
        "TRAENINGSGUIDEN_EMBED_ORIGINS": "https://a.example, https://b.example",
        "TRAENINGSGUIDEN_MUNICIPALITY": "aarhus",
        "TRAENINGSGUIDEN_ACCOUNTS": "/tmp/accounts.yml",
        "TRAENINGSGUIDEN_SESSION_KEY": "k" * 44,
        "TRAENINGSGUIDEN_TRACKER_DATABASE_URL": "sqlite:///t.db",
        "TRAENINGSGUIDEN_CONVERSATION_RETENTION_DAYS": "60",
        "TRAENINGSGUIDEN_ANALYTICS_DATABASE_URL": "sqlite:///a.db",
        "TRAENINGSGUIDEN_AMQP_URL": "amqp://u:p@127.0.0.1:5673/",
        "TRAENINGSGUIDEN_ANALYTICS_QUEUE": "q",
        "TRAENINGSGUIDEN_AUDIT_RETENTION_DAYS": "400",
    }
    settings = Settings.from_env(env)
    assert settings.port == 8181 and settings.base_url == "http://127.0.0.1:8181"
    assert settings.rasa_url == "http://127.0.0.1:5999"  # without the trailing slash
    assert settings.rasa_timeout_seconds == 2.5 and settings.rate_limit_per_minute == 7
    assert settings.embed_origins == ("https://a.example", "https://b.example")
    assert settings.municipality == "aarhus" and settings.accounts_file == "/tmp/accounts.yml"
    assert settings.session_key == b"k" * 44
    assert settings.tracker_database_url == "sqlite:///t.db" and settings.conversation_retention_days == 60
    assert settings.analytics_database_url == "sqlite:///a.db"
    assert settings.amqp_url == "amqp://u:p@127.0.0.1:5673/" and settings.analytics_queue == "q"
    assert settings.audit_retention_days == 400
    assert settings.audit_database_url == "sqlite:///a.db", "the audit log lives with the analytics tables"


def test_every_variable_is_named_in_bot_config_only() -> None:
    """No other module of bot/ or actions/ spells a variable name: they import it from bot.config."""
    named = {
        value for name, value in vars(config).items() if name.endswith("_ENV") and isinstance(value, str)
    }
    elsewhere = {
        f"{path.relative_to(PROJECT)}: {variable}"
        for folder in ("bot", "actions")
        for path in (PROJECT / folder).rglob("*.py")
        if path != PROJECT / "bot" / "config.py"
        for line in path.read_text(encoding="utf-8").splitlines()
        if not line.lstrip().startswith(("#", '"', "'"))  # docstrings and comments may name them
        for variable in VARIABLE.findall(line)
        if f'"{variable}"' in line or f"'{variable}'" in line
    }
    assert not elsewhere
    used = {
        variable
        for folder in ("bot", "actions", "scripts")
        for path in (PROJECT / folder).rglob("*")
        if path.is_file() and path.suffix in (".py", ".sh")
        for variable in VARIABLE.findall(path.read_text(encoding="utf-8"))
    }
    assert used - {"TRAENINGSGUIDEN_OFFLINE"} <= named  # OFFLINE: the set-up script's own, before bot/ runs


def test_bot_config_imports_nothing_of_ours() -> None:
    code = (
        "import sys; before = set(sys.modules); import bot.config; "
        "print(' '.join(sorted(m for m in set(sys.modules) - before if m.split('.')[0] not in sys.stdlib_module_names)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT, capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["bot", "bot.config"]
