"""Fernet keys kept in the environment or in a file: the draft key and the session key.

Production sets the variable (`TRAENINGSGUIDEN_DRAFT_KEY`, `TRAENINGSGUIDEN_SESSION_KEY`;
from `Fernet.generate_key()`). The draft key may list several keys, newest first, separated
by spaces or commas (`split_keys`): the first encrypts, all decrypt (key rotation). Without it, a key is created once in its file under
`var/` (mode 0600) and a warning says where: what the key protects cannot be read
without that file, so back it up or set the variable.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from cryptography.fernet import Fernet

from bot.errors import TraeningsguidenError

log = logging.getLogger(__name__)


class KeyFileError(TraeningsguidenError):
    """A key in the environment or in its file is missing or not a Fernet key."""


def _checked(key: bytes, source: str) -> bytes:
    try:
        Fernet(key)
    except (ValueError, TypeError) as e:
        raise KeyFileError(f"{source} is not a Fernet key (use Fernet.generate_key())") from e
    return key


def split_keys(key: bytes, source: str = "the key") -> list[bytes]:
    """The keys in `key`, newest first (separated by whitespace or commas); each one checked."""
    keys = key.replace(b",", b" ").split()
    if not keys:
        raise KeyFileError(f"{source} is empty")
    return [_checked(k, source) for k in keys]


def load_key(key_file: Path, *, env: str, what: str) -> bytes:
    """The key from the variable `env`, else from `key_file`, created if absent; `what` names it in the log."""
    from_env = os.environ.get(env, "").strip()
    if from_env:
        raw = from_env.encode("ascii", "replace")
        split_keys(raw, env)  # every listed key must be a Fernet key
        return raw
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read(key_file)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key + b"\n")
    log.warning(
        "%s is not set: created a new %s in %s (mode 0600). "
        "What it protects cannot be read without it; back it up, or set %s in production.",
        env,
        what,
        key_file,
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
    raise KeyFileError(f"{path} is empty")
