"""SQLAlchemy engines for SQLite (the default on one machine) and PostgreSQL (at scale)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa  # type: ignore[import-untyped]  # 1.4 ships no types
from sqlalchemy.engine import Engine  # type: ignore[import-untyped]
from sqlalchemy.pool import StaticPool  # type: ignore[import-untyped]


def engine_for(url: str) -> Engine:
    """An engine for SQLite (file created with its folder) or PostgreSQL."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return sa.create_engine(url, future=True, pool_pre_ping=True)
    database = parsed.database
    if database in (None, "", ":memory:"):
        return sa.create_engine(
            url, future=True, poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
    Path(database).parent.mkdir(parents=True, exist_ok=True)
    return sa.create_engine(url, future=True, connect_args={"timeout": 30})
