"""Shared test helpers: real services are required under CI, optional on a laptop."""

from __future__ import annotations

import os
import socket

import pytest


def require_service(name: str, port: int) -> None:
    """Skip on a laptop without the service; fail under CI=true, where it must be there."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return
    except OSError as e:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} on 127.0.0.1:{port} is required under CI: {e}")
        pytest.skip(f"{name} on 127.0.0.1:{port} is not running")
