"""Draft applications in SQL (SQLite by default, PostgreSQL with the same code).

A draft is reached only through an unguessable token (`secrets.token_urlsafe(32)`)
whose SHA-256 is the lookup key. The token itself is kept only Fernet-encrypted,
so that a retried create (same idempotency key) returns the same working URL.
The personal and health fields are stored Fernet-encrypted in `payload_encrypted`;
offer, municipality, legal basis and staff initials stay readable for statistics
and deletion. Rows are really deleted: on request, and after `delete_after`.

Each draft made in a chat is bound to that conversation: `owner_hash` is an
HMAC-SHA256 of the Rasa sender id, keyed with a key derived from the draft key.
The chat reaches a draft by reference only through `delete_owned`/`get_owned`,
which check that hash, so a reference in a (forged) slot authorises nothing.
Drafts without an owner hash (made before the column existed) are reached only
by their token link and by retention.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import re
import secrets
from typing import Any, NamedTuple

import sqlalchemy as sa  # type: ignore[import-untyped]  # 1.4 ships no types
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy.engine import Connection  # type: ignore[import-untyped]
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError  # type: ignore[import-untyped]

from bot.config import DEFAULT_DRAFT_DATABASE_URL, DEFAULT_DRAFT_KEY_FILE, DRAFT_KEY_ENV
from bot.db import engine_for
from bot.drafts.model import (
    DEFAULT_RETENTION_DAYS,
    Draft,
    DraftInput,
    DraftValidationError,
    draft_export,
    prepare,
)
from bot.errors import TraeningsguidenError
from bot.keys import load_key, split_keys
from bot.municipality import TIMEZONE
from bot.rules import Outcome
from bot.state import outcome_to_json

DEFAULT_DATABASE_URL = DEFAULT_DRAFT_DATABASE_URL
REFERENCE = re.compile(r"^TG-\d{4}-\d{6,}$")
TOKEN_MAX = 128
IDEMPOTENCY_KEY_MAX = 128
_TABLE_PREFIX = re.compile(r"^[a-z][a-z0-9_]{0,30}$|^$")
OWNER_HASH_LENGTH = 64
_OWNER_KEY_CONTEXT = b"traeningsguiden draft owner v1"

log = logging.getLogger(__name__)


class DraftNotFoundError(TraeningsguidenError):
    """No draft with this reference (or it has expired)."""


class DraftKeyError(TraeningsguidenError):
    """A draft cannot be decrypted with this key (not the key it was stored with)."""


class CreatedDraft(NamedTuple):
    reference: str
    token: str


def load_draft_key() -> bytes:
    """`TRAENINGSGUIDEN_DRAFT_KEY`, else `var/draft.key` (created if absent)."""
    return load_key(DEFAULT_DRAFT_KEY_FILE, env=DRAFT_KEY_ENV, what="draft encryption key")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def idempotency_key(conversation_id: str, outcome: Outcome) -> str:
    """The key for `create`: the conversation id and the typed outcome, hashed (no raw ids stored).

    The outcome as its slot holds it (`bot.state.outcome_to_json`: codes, no Danish, no clock), so a
    retried turn, which reads the outcome back from the slot, gets the same key."""
    canonical = json.dumps(
        outcome_to_json(outcome), sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
    )
    return hashlib.sha256(f"{conversation_id}\n{canonical}".encode()).hexdigest()


def owner_key(draft_key: bytes) -> bytes:
    """The HMAC key for owner hashes, derived from the draft encryption key (never stored)."""
    return hmac.new(draft_key, _OWNER_KEY_CONTEXT, hashlib.sha256).digest()


def reference_for(year: int, sequence: int) -> str:
    """'TG-2026-000123'."""
    return f"TG-{year:04d}-{sequence:06d}"


def _utc_naive(moment: dt.datetime) -> dt.datetime:
    """Timestamps are stored as naive UTC, the same on SQLite and PostgreSQL."""
    if moment.tzinfo is None:
        raise ValueError("pass a timezone-aware datetime")
    return moment.astimezone(dt.timezone.utc).replace(tzinfo=None)


def _aware(stored: dt.datetime) -> dt.datetime:
    return stored.replace(tzinfo=dt.timezone.utc)


def _table(metadata: sa.MetaData, name: str) -> sa.Table:
    return sa.Table(
        name,
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("reference", sa.String(32), unique=True, nullable=True),  # set right after the insert
        sa.Column("token_hash", sa.String(64), unique=True, nullable=False),
        sa.Column("token_encrypted", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("delete_after", sa.DateTime, nullable=False, index=True),
        sa.Column("municipality", sa.String(64), nullable=True),
        sa.Column("offer", sa.String(32), nullable=False),
        sa.Column("legal_basis", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("staff_initials", sa.String(10), nullable=True),
        sa.Column("idempotency_key", sa.String(IDEMPOTENCY_KEY_MAX), unique=True, nullable=False),
        sa.Column("payload_encrypted", sa.Text, nullable=False),
        # HMAC of the conversation (sender id) that made the draft; NULL: reachable by token only
        sa.Column("owner_hash", sa.String(OWNER_HASH_LENGTH), nullable=True),
        sqlite_autoincrement=True,  # ids (and so references) are never reused after a delete
    )


class DraftStore:
    """Create, read, export and delete drafts. Thread-safe; blocking (use a thread in async code)."""

    def __init__(
        self,
        url: str = DEFAULT_DATABASE_URL,
        *,
        key: bytes | None = None,
        retention_days: int = DEFAULT_RETENTION_DAYS,
        table_prefix: str = "",
    ) -> None:
        if retention_days < 1:
            raise ValueError("retention_days must be at least 1")
        if not _TABLE_PREFIX.match(table_prefix):
            raise ValueError("table_prefix: lower-case letters, digits and _ only")
        self.retention = dt.timedelta(days=retention_days)
        self.retention_days = retention_days
        keys = split_keys(key if key is not None else load_draft_key(), "the draft key")
        self._fernet = MultiFernet([Fernet(k) for k in keys])  # the first encrypts, all decrypt
        self._owner_keys = [owner_key(k) for k in keys]
        self.engine = engine_for(url)
        self._metadata = sa.MetaData()
        self.table = _table(self._metadata, f"{table_prefix}drafts")
        self._metadata.create_all(self.engine)
        self._add_owner_column()

    def _columns(self) -> set[str]:
        return {str(c["name"]) for c in sa.inspect(self.engine).get_columns(self.table.name)}

    def _add_owner_column(self) -> None:
        """Databases made before drafts had owners get the column (SQLite and PostgreSQL)."""
        if "owner_hash" in self._columns():
            return
        name = self.engine.dialect.identifier_preparer.quote(self.table.name)  # prefix already checked
        if_not_exists = "IF NOT EXISTS " if self.engine.dialect.name == "postgresql" else ""
        ddl = f"ALTER TABLE {name} ADD COLUMN {if_not_exists}owner_hash VARCHAR({OWNER_HASH_LENGTH})"
        try:
            with self.engine.begin() as conn:
                conn.execute(sa.text(ddl))
        except (OperationalError, ProgrammingError):  # another process added it first
            if "owner_hash" not in self._columns():
                raise
        log.info("drafts: added the owner_hash column to %s; older drafts open by their link only", name)

    def owner_hash(self, conversation_id: str) -> str:
        """The keyed hash that binds a draft to the conversation (Rasa sender id) that made it."""
        return self._owner_hashes(conversation_id)[0]

    def _owner_hashes(self, conversation_id: str) -> list[str]:
        """The owner hash under each listed key (a draft made before a rotation has an older one)."""
        data = conversation_id.encode("utf-8")
        return [hmac.new(k, data, hashlib.sha256).hexdigest() for k in self._owner_keys]

    def rotate(self) -> int:
        """Re-encrypt every draft with the first key; returns how many. Owner hashes cannot be
        re-made (the sender id is not stored): keep an old key listed until the drafts made under
        it have expired (the retention period), then remove it."""
        t = self.table
        with self.engine.begin() as conn:
            rows = conn.execute(sa.select(t.c.id, t.c.token_encrypted, t.c.payload_encrypted)).all()
            for row in rows:
                try:
                    token = self._fernet.rotate(row.token_encrypted.encode("ascii")).decode("ascii")
                    payload = self._fernet.rotate(row.payload_encrypted.encode("ascii")).decode("ascii")
                except InvalidToken as e:
                    raise DraftKeyError("a draft cannot be decrypted with any listed key") from e
                conn.execute(
                    t.update().where(t.c.id == row.id).values(token_encrypted=token, payload_encrypted=payload)
                )
        log.info("drafts: %d drafts re-encrypted with the first key", len(rows))
        return len(rows)

    def close(self) -> None:
        self.engine.dispose()

    # --- encryption ---------------------------------------------------------------

    def _encrypt(self, data: Any) -> str:
        return self._fernet.encrypt(json.dumps(data, ensure_ascii=False).encode("utf-8")).decode("ascii")

    def _decrypt(self, stored: str) -> Any:
        try:
            return json.loads(self._fernet.decrypt(stored.encode("ascii")).decode("utf-8"))
        except InvalidToken as e:
            raise DraftKeyError("a draft cannot be decrypted with this key") from e

    # --- writing ------------------------------------------------------------------

    def create(
        self, draft_input: DraftInput, idempotency_key: str, now: dt.datetime, *, owner: str | None = None
    ) -> CreatedDraft:
        """Store a draft and return its reference and access token.

        The input is masked and validated again here (`prepare`); invalid input
        raises `DraftValidationError`. The same `idempotency_key` returns the
        same reference and token while the draft exists, whatever the input.
        `owner` is the conversation (Rasa sender id) that may later delete or
        read the draft by reference; only its keyed hash is stored.
        """
        if not idempotency_key or len(idempotency_key) > IDEMPOTENCY_KEY_MAX:
            raise ValueError(f"idempotency_key: 1-{IDEMPOTENCY_KEY_MAX} characters")
        stored_now = _utc_naive(now)
        prepared = prepare(draft_input, now.astimezone(TIMEZONE).date(), retention_days=self.retention_days)
        if prepared.errors:
            raise DraftValidationError(prepared.errors)
        with self.engine.begin() as conn:
            existing = self._existing(conn, idempotency_key, stored_now)
        if existing is not None:
            return existing
        draft = prepared.draft
        token = secrets.token_urlsafe(32)
        t = self.table
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    t.delete().where(t.c.idempotency_key == idempotency_key, t.c.delete_after <= stored_now)
                )
                result = conn.execute(
                    t.insert().values(
                        token_hash=token_hash(token),
                        token_encrypted=self._encrypt(token),
                        created_at=stored_now,
                        delete_after=stored_now + self.retention,
                        municipality=draft.municipality,
                        offer=draft.offer,
                        legal_basis=draft.legal_basis,
                        status="draft",
                        staff_initials=draft.created_by_staff_initials,
                        idempotency_key=idempotency_key,
                        payload_encrypted=self._encrypt(draft.to_dict()),
                        owner_hash=None if owner is None else self.owner_hash(owner),
                    )
                )
                row_id = int(result.inserted_primary_key[0])
                reference = reference_for(now.astimezone(TIMEZONE).year, row_id)
                conn.execute(t.update().where(t.c.id == row_id).values(reference=reference))
        except IntegrityError:  # a concurrent create with the same key won
            with self.engine.begin() as conn:
                existing = self._existing(conn, idempotency_key, stored_now)
            if existing is None:
                raise
            return existing
        return CreatedDraft(reference, token)

    def _existing(self, conn: Connection, key: str, stored_now: dt.datetime) -> CreatedDraft | None:
        t = self.table
        row = conn.execute(
            sa.select(t.c.reference, t.c.token_encrypted).where(
                t.c.idempotency_key == key, t.c.delete_after > stored_now
            )
        ).first()
        if row is None or row.reference is None:
            return None
        return CreatedDraft(row.reference, str(self._decrypt(row.token_encrypted)))

    def delete(self, reference_or_token: str) -> bool:
        """Really delete one draft, by reference or token; False if there was none."""
        t = self.table
        if REFERENCE.match(reference_or_token):
            condition = t.c.reference == reference_or_token
        elif 0 < len(reference_or_token) <= TOKEN_MAX:
            condition = t.c.token_hash == token_hash(reference_or_token)
        else:
            return False
        with self.engine.begin() as conn:
            return bool(conn.execute(t.delete().where(condition)).rowcount)

    def _owned(self, reference: str, owner: str) -> sa.sql.ColumnElement[bool] | None:
        """The condition 'this reference, made by this conversation'; None if it cannot match."""
        if not REFERENCE.match(reference) or not owner:
            return None
        t = self.table
        return sa.and_(
            t.c.reference == reference,
            t.c.owner_hash.is_not(None),
            t.c.owner_hash.in_(self._owner_hashes(owner)),
        )

    def delete_owned(self, reference: str, owner: str) -> bool:
        """Delete a draft by reference only for the conversation that made it; False otherwise.

        False for an unknown reference and for someone else's draft alike (existence is not revealed).
        """
        condition = self._owned(reference, owner)
        if condition is None:
            return False
        with self.engine.begin() as conn:
            return bool(conn.execute(self.table.delete().where(condition)).rowcount)

    def delete_expired(self, now: dt.datetime) -> int:
        """Delete every draft past its `delete_after`; the number deleted."""
        t = self.table
        with self.engine.begin() as conn:
            return int(conn.execute(t.delete().where(t.c.delete_after <= _utc_naive(now))).rowcount)

    # --- reading ------------------------------------------------------------------

    def get_by_token(self, token: str, now: dt.datetime) -> Draft | None:
        """The draft for a token; None if the token is unknown or the draft has expired."""
        if not token or len(token) > TOKEN_MAX:
            return None
        return self._get(self.table.c.token_hash == token_hash(token), now)

    def get_by_reference(self, reference: str, now: dt.datetime) -> Draft | None:
        """The draft with a reference (staff use); None if unknown or expired."""
        if not REFERENCE.match(reference):
            return None
        return self._get(self.table.c.reference == reference, now)

    def get_owned(self, reference: str, owner: str, now: dt.datetime) -> Draft | None:
        """The draft by reference for the conversation that made it (to show or correct); else None."""
        condition = self._owned(reference, owner)
        return None if condition is None else self._get(condition, now)

    def export(self, reference: str, *, now: dt.datetime | None = None) -> dict[str, Any]:
        """The draft as JSON-ready data for a caseworker's system; `DraftNotFoundError` if none."""
        draft = self.get_by_reference(reference, now or dt.datetime.now(dt.timezone.utc))
        if draft is None:
            raise DraftNotFoundError(reference)
        return draft_export(draft)

    def _get(self, condition: sa.sql.ColumnElement[bool], now: dt.datetime) -> Draft | None:
        t = self.table
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(t).where(condition, t.c.delete_after > _utc_naive(now), t.c.reference.is_not(None))
            ).first()
        if row is None:
            return None
        return Draft(
            reference=row.reference,
            status=row.status,
            created_at=_aware(row.created_at),
            delete_after=_aware(row.delete_after),
            input=DraftInput.from_dict(self._decrypt(row.payload_encrypted)),
        )
