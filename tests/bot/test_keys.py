"""`bot.keys`: a Fernet key from the environment, else from its file (created once, mode 0600)."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot import keys
from bot.config import DRAFT_KEY_ENV, SESSION_KEY_ENV

ENV = DRAFT_KEY_ENV


def test_key_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    key = Fernet.generate_key()
    monkeypatch.setenv(ENV, key.decode())
    assert keys.load_key(tmp_path / "draft.key", env=ENV, what="draft key") == key
    assert not (tmp_path / "draft.key").exists()
    monkeypatch.setenv(ENV, "not-a-key")
    with pytest.raises(keys.KeyFileError, match=ENV):
        keys.load_key(tmp_path / "draft.key", env=ENV, what="draft key")


def test_without_the_environment_a_key_file_is_created_once_with_mode_0600(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv(ENV, raising=False)
    path = tmp_path / "var" / "draft.key"
    with caplog.at_level(logging.WARNING, logger="bot.keys"):
        first = keys.load_key(path, env=ENV, what="draft key")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert str(path) in caplog.text and ENV in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="bot.keys"):
        assert keys.load_key(path, env=ENV, what="draft key") == first
    assert caplog.text == ""
    Fernet(first)


def test_a_bad_session_key_file_is_a_key_file_error_not_a_draft_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(SESSION_KEY_ENV, raising=False)
    path = tmp_path / "session.key"
    path.write_bytes(b"not a key\n")
    path.chmod(0o600)
    with pytest.raises(keys.KeyFileError, match=r"session\.key is not a Fernet key"):
        keys.load_key(path, env=SESSION_KEY_ENV, what="session key")
