"""The audit log of analysts' reads: who read which conversation, or exported what, and when.

One row per read of a transcript and per export (CSV): the username, the account's roles at
the time, the UTC time, what was read (`transcript` or `export`), the conversation id as
stored (the id the analyst pages show) or the export's file name and filters. Never any
message content, never health details.

The table (`audit_log`) lives in the analytics database when one is configured (PostgreSQL in
the scaled profile), else in the tracker store's database beside Rasa's `events` table
(`Settings.audit_database_url`). It is created on the first write, so opening the log creates
no database file. Rows older than `Settings.audit_retention_days` are deleted by the retention
job (`bot.analytics.retention.purge`).

Blocking (SQLAlchemy 1.4); call it from a thread in async code.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from pathlib import Path
from typing import Any, Literal, Mapping, cast, get_args
from urllib.parse import parse_qsl, urlencode

import sqlalchemy as sa  # type: ignore[import-untyped]  # 1.4 ships no types

from bot.db import engine_for
from bot.errors import TraeningsguidenError

log = logging.getLogger(__name__)

What = Literal["transcript", "export"]
WHATS: tuple[What, ...] = get_args(What)
TABLE = "audit_log"
_NAME = 255  # usernames and conversation ids (Rasa's sender_id is String(255))
_FILTERS = 1024


class AuditWriteError(TraeningsguidenError):
    """The audit row could not be written: the read it records must not be shown (fail closed)."""


@dataclasses.dataclass(frozen=True)
class AuditEntry:
    """One read. `conversation_id` for a transcript; `export` (a file name) and `filters` for an export."""

    at: dt.datetime  # UTC
    username: str
    roles: tuple[str, ...]
    what: What
    conversation_id: str | None = None
    export: str | None = None
    filters: tuple[tuple[str, str], ...] = ()  # the export's period and filters, as asked for

    def __post_init__(self) -> None:
        if self.what not in WHATS:
            raise ValueError(f"what: one of {WHATS}")
        if (self.what == "transcript") != (self.conversation_id is not None):
            raise ValueError("a transcript read names its conversation, and only a transcript read")
        if (self.what == "export") != (self.export is not None):
            raise ValueError("an export names its file, and only an export")


def _naive(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.timezone.utc).replace(tzinfo=None)


class AuditLog:
    """The `audit_log` table: `record` a read, list them newest first, delete the old ones."""

    def __init__(self, url: str, *, table_prefix: str = "") -> None:
        self.engine = engine_for(url)
        self.table = sa.Table(
            f"{table_prefix}{TABLE}",
            sa.MetaData(),
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("at", sa.DateTime, nullable=False, index=True),
            sa.Column("username", sa.String(_NAME), nullable=False, index=True),
            sa.Column("roles", sa.String(64), nullable=False),  # comma separated, sorted
            sa.Column("what", sa.String(16), nullable=False),
            sa.Column("conversation_id", sa.String(_NAME), index=True),
            sa.Column("export", sa.String(64)),
            sa.Column("filters", sa.String(_FILTERS)),  # url-encoded, as the export was asked for
        )
        self._created = False

    def close(self) -> None:
        self.engine.dispose()

    def exists(self) -> bool:
        """Whether the table has been created (asking creates no SQLite file)."""
        if self._created:
            return True
        url = self.engine.url
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            if not Path(url.database).exists():
                return False
        return bool(sa.inspect(self.engine).has_table(self.table.name))

    def _create(self) -> None:
        if self._created:
            return
        try:
            self.table.create(self.engine, checkfirst=True)
        except sa.exc.SQLAlchemyError:
            if not self.exists():  # another process may have created it just now
                raise
        self._created = True

    def record(self, entry: AuditEntry) -> None:
        """Write one row, committed when this returns; else `AuditWriteError` (show nothing then)."""
        try:
            self._create()
            with self.engine.begin() as conn:
                conn.execute(self.table.insert().values(**_row(entry)))
        except sa.exc.SQLAlchemyError as e:
            self._created = False  # look for the table again next time (it may have been dropped)
            # the class name only: the statement's parameters would name the user and the conversation
            log.error("the audit log cannot be written (%s): the read is refused", type(e).__name__)
            raise AuditWriteError("the audit log cannot be written") from e

    def _where(self, query: Any, username: str | None, conversation_id: str | None) -> Any:
        t = self.table
        if username:
            query = query.where(t.c.username == username)
        if conversation_id:
            query = query.where(t.c.conversation_id == conversation_id)
        return query

    def count(self, *, username: str | None = None, conversation_id: str | None = None) -> int:
        if not self.exists():
            return 0
        query = self._where(sa.select(sa.func.count()).select_from(self.table), username, conversation_id)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def entries(
        self,
        *,
        username: str | None = None,
        conversation_id: str | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> list[AuditEntry]:
        """The rows that match, newest first."""
        if not self.exists():
            return []
        t = self.table
        query = self._where(sa.select(t), username, conversation_id).order_by(t.c.at.desc(), t.c.id.desc())
        query = query.offset(offset)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [_entry(row._mapping) for row in conn.execute(query)]

    def usernames(self) -> list[str]:
        """Every user with a row, in alphabetical order (the page's filter)."""
        if not self.exists():
            return []
        t = self.table
        with self.engine.connect() as conn:
            return [
                row.username
                for row in conn.execute(sa.select(t.c.username).distinct().order_by(t.c.username))
            ]

    def delete_older_than(self, cutoff: dt.datetime) -> int:
        """Delete the rows written before `cutoff`; how many."""
        if not self.exists():
            return 0
        with self.engine.begin() as conn:
            return int(conn.execute(self.table.delete().where(self.table.c.at < _naive(cutoff))).rowcount)


def _row(entry: AuditEntry) -> dict[str, Any]:
    return {
        "at": _naive(entry.at),
        "username": entry.username[:_NAME],
        "roles": ",".join(sorted(entry.roles)),
        "what": entry.what,
        "conversation_id": entry.conversation_id,
        "export": entry.export,
        "filters": urlencode(entry.filters)[:_FILTERS] if entry.export is not None else None,
    }


def _entry(row: Mapping[str, Any]) -> AuditEntry:
    what = cast(What, row["what"])
    return AuditEntry(
        at=row["at"].replace(tzinfo=dt.timezone.utc),
        username=row["username"],
        roles=tuple(r for r in str(row["roles"]).split(",") if r),
        what=what,
        conversation_id=row["conversation_id"],
        export=row["export"] if what == "export" else None,
        filters=tuple(parse_qsl(row["filters"] or "")),
    )
