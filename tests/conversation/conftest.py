"""The running servers for whole-conversation tests (see `tests.live`)."""

from __future__ import annotations

import uuid
from typing import Iterator

import pytest

from tests.live import MODEL, Servers


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` (make test does)")
    running = Servers(tmp_path_factory.mktemp("live"))
    try:
        running.start_actions()
        running.start_web()
        running.start_rasa()
        yield running
    finally:
        running.stop_rasa()
        running._stop(running.web)
        running.stop_actions()


@pytest.fixture()
def sender() -> str:
    return f"test-{uuid.uuid4().hex}"
