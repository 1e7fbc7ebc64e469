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
    with Servers(tmp_path_factory.mktemp("live")).running() as running:
        yield running


@pytest.fixture()
def sender() -> str:
    return f"test-{uuid.uuid4().hex}"
