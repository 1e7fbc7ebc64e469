"""Draft store fixtures: a key, each test's store on SQLite and PostgreSQL, and a SQLite store."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Iterator

import pytest
from cryptography.fernet import Fernet

from bot.drafts.store import DraftStore
from tests.conftest import require_service
from tests.drafts.helpers import POSTGRES_URL


@pytest.fixture
def key() -> bytes:
    return Fernet.generate_key()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path, key: bytes) -> Iterator[DraftStore]:
    if request.param == "sqlite":
        made = DraftStore(f"sqlite:///{tmp_path / 'drafts.db'}", key=key)
    else:
        require_service("PostgreSQL", 5432)
        made = DraftStore(POSTGRES_URL, key=key, table_prefix=f"t{uuid.uuid4().hex[:12]}_")
    try:
        yield made
    finally:
        made.table.drop(made.engine, checkfirst=True)  # the test's own table prefix
        made.close()


@pytest.fixture
def sqlite_store(tmp_path: Path, key: bytes) -> Iterator[DraftStore]:
    made = DraftStore(f"sqlite:///{tmp_path / 'render.db'}", key=key)
    yield made
    made.close()
