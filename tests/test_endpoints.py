"""The endpoints files resolve every ${VARIABLE} (Rasa expands them only in unquoted YAML values)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from rasa.utils.endpoints import read_endpoint_config

from tests.live import SCALE_ENV

ROOT = Path(__file__).resolve().parents[1]
ENV = {**SCALE_ENV, "TRAENINGSGUIDEN_ACTION_TOKEN": "t" * 40}


@pytest.mark.parametrize("name", ["endpoints.yml", "endpoints.postgres.yml", "endpoints.scale.yml"])
def test_every_variable_in_an_endpoints_file_is_expanded(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    for section in ("action_endpoint", "tracker_store", "lock_store", "event_broker"):
        config = read_endpoint_config(str(ROOT / name), section)
        if config is None:
            continue
        values = [config.url, *map(str, config.kwargs.values()), *map(str, config.headers.values())]
        assert not [v for v in values if v and "${" in v], (name, section, values)
    action = read_endpoint_config(str(ROOT / name), "action_endpoint")
    assert action is not None and action.headers["Authorization"] == f"Bearer {'t' * 40}"
    assert action.kwargs.get("enable_selective_domain") is True  # the domain is not sent with every call


def test_the_only_channel_is_ours_with_one_message_per_reply() -> None:
    """Rasa's socket.io output split texts and failed on our custom keys (TypeError on every
    question); credentials.yml opens only our REST channel (bot/rasa_channel.py)."""
    channels = yaml.safe_load((ROOT / "credentials.yml").read_text(encoding="utf-8"))
    assert list(channels) == ["bot.rasa_channel.SafeRestInput"]
