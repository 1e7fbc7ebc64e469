"""The Fernet key that encrypts drafts at rest.

Production sets `TRAENINGSGUIDEN_DRAFT_KEY` (from `Fernet.generate_key()`).
Without it, a key is created once in `var/draft.key` (mode 0600) and a warning
says where: drafts cannot be read without that file, so back it up or set the
variable.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from cryptography.fernet import Fernet

from bot.config import DEFAULT_DRAFT_KEY_FILE, DRAFT_KEY_ENV
from bot.errors import TraeningsguidenError

KEY_ENV = DRAFT_KEY_ENV
DEFAULT_KEY_FILE = DEFAULT_DRAFT_KEY_FILE

log = logging.getLogger(__name__)


class DraftKeyError(TraeningsguidenError):
    """The draft encryption key is missing or not a Fernet key."""


def _checked(key: bytes, source: str) -> bytes:
    try:
        Fernet(key)
    except (ValueError, TypeError) as e:
        raise DraftKeyError(f"{source} is not a Fernet key (use Fernet.generate_key())") from e
    return key


def load_key(key_file: Path | None = None, *, env: str = KEY_ENV, what: str = "draft encryption key") -> bytes:
    """The key from the environment, else from `key_file` (default `var/draft.key`), created if absent.

    `env` and `what` name another key kept the same way (the session key of `bot.web.auth`).
    """
    from_env = os.environ.get(env, "").strip()
    if from_env:
        return _checked(from_env.encode("ascii", "replace"), env)
    path = key_file or DEFAULT_KEY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read(path)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key + b"\n")
    log.warning(
        "%s is not set: created a new %s in %s (mode 0600). "
        "What it protects cannot be read without it; back it up, or set %s in production.",
        env,
        what,
        path,
        env,
    )
    return key


def _read(path: Path) -> bytes:
    if path.stat().st_mode & 0o077:
        log.warning("the key file %s is readable by others; run chmod 600 %s", path, path)
    for _ in range(20):  # another process may have created the file and not yet written it
        key = path.read_bytes().strip()
        if key:
            return _checked(key, str(path))
        time.sleep(0.05)
    raise DraftKeyError(f"{path} is empty")
