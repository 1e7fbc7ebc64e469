"""Shared test helpers: real services are required under CI, optional on a laptop."""

from __future__ import annotations

import os
import socket

import pytest
from hypothesis import HealthCheck, settings


def require_service(name: str, port: int) -> None:
    """Skip on a laptop without the service; fail under CI=true, where it must be there."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return
    except OSError as e:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} on 127.0.0.1:{port} is required under CI: {e}")
        pytest.skip(f"{name} on 127.0.0.1:{port} is not running")


# Property tests (tests/properties/): bounded, never timed; reproducible under CI=true.
settings.register_profile(
    "default",
    max_examples=200,
    deadline=None,  # this machine is shared: no wall-clock limits, only example counts
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("ci", parent=settings.get_profile("default"), derandomize=True, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") == "true" else "default"))
