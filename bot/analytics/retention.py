"""Retention and data subjects' rights: delete old conversations and drafts, forget or export one.

The audit log of analysts' reads (`bot.analytics.audit`) has its own, longer period and is
purged by the same job. A conversation is everything Rasa's tracker store holds for one sender id, plus
the analytics consumer's rows for it, plus the drafts it created (found by the
reference in the bot's "saved" message). Deletion is real (`DELETE`), in each
store's own transaction.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from typing import Any

from bot.analytics.audit import AuditLog
from bot.analytics.records import clean, summarise
from bot.analytics.store import AnalyticsStore, TrackerEvents
from bot.config import Settings
from bot.drafts.store import DraftNotFoundError, DraftStore

log = logging.getLogger(__name__)


@dataclasses.dataclass
class Stores:
    tracker: TrackerEvents
    analytics: AnalyticsStore | None = None
    drafts: DraftStore | None = None
    audit: AuditLog | None = None

    def close(self) -> None:
        self.tracker.close()
        if self.audit is not None:
            self.audit.close()
        if self.analytics is not None:
            self.analytics.close()
        if self.drafts is not None:
            self.drafts.close()


def open_stores(settings: Settings, *, drafts: bool = True) -> Stores:
    """The tracker store, the consumer's tables (if configured), the drafts (needs the draft key)
    and the audit log."""
    url = settings.analytics_database_url
    draft_store = (
        DraftStore(
            settings.database_url,
            key=settings.key,
            retention_days=settings.retention_days,
            table_prefix=settings.table_prefix,
        )
        if drafts
        else None
    )
    return Stores(
        TrackerEvents(settings.tracker_database_url),
        AnalyticsStore(url) if url else None,
        draft_store,
        AuditLog(settings.audit_database_url),
    )


@dataclasses.dataclass(frozen=True)
class Deleted:
    conversations: int = 0
    event_rows: int = 0
    analytics_conversations: int = 0
    drafts: int = 0
    draft_references: tuple[str, ...] = ()
    audit_rows: int = 0


def purge(
    stores: Stores, *, now: dt.datetime, conversation_days: int, audit_days: int | None = None
) -> Deleted:
    """Delete conversations idle for more than `conversation_days` days, expired drafts and
    audit rows older than `audit_days` days (`None`: the audit log is left alone)."""
    if conversation_days < 1 or (audit_days is not None and audit_days < 1):
        raise ValueError("conversation_days and audit_days must be at least 1")
    cutoff = now - dt.timedelta(days=conversation_days)
    expired = stores.tracker.expired(cutoff)
    rows = stores.tracker.delete_conversations(expired)
    analytics = stores.analytics.delete_older_than(cutoff) if stores.analytics is not None else 0
    drafts = stores.drafts.delete_expired(now) if stores.drafts is not None else 0
    audit = (
        stores.audit.delete_older_than(now - dt.timedelta(days=audit_days))
        if stores.audit is not None and audit_days is not None
        else 0
    )
    if expired or analytics or drafts or audit:
        log.info(
            "retention: deleted %d conversations (%d events), %d analytics records, %d drafts, %d audit rows",
            len(expired),
            rows,
            analytics,
            drafts,
            audit,
        )
    return Deleted(len(expired), rows, analytics, drafts, audit_rows=audit)


def forget_conversation(stores: Stores, sender_id: str) -> Deleted:
    """Delete one conversation everywhere, with the drafts it created."""
    events = stores.tracker.events(sender_id)
    references = summarise(sender_id, events).draft_references if events else ()
    deleted_drafts = tuple(r for r in references if stores.drafts is not None and stores.drafts.delete(r))
    rows = stores.tracker.delete_conversation(sender_id)
    analytics = stores.analytics.delete_conversation(sender_id) if stores.analytics is not None else 0
    log.info(
        "forgot a conversation: %d events, %d analytics rows, %d drafts", rows, analytics, len(deleted_drafts)
    )
    return Deleted(int(rows > 0), rows, analytics, len(deleted_drafts), deleted_drafts)


def forget_draft(stores: Stores, reference: str) -> Deleted:
    """Delete one draft and the conversations that created it."""
    senders = stores.tracker.senders_with_draft(reference)
    results = [forget_conversation(stores, sender) for sender in senders]
    drafts = {r for result in results for r in result.draft_references}
    if stores.drafts is not None and reference not in drafts and stores.drafts.delete(reference):
        drafts.add(reference)
    return Deleted(
        sum(r.conversations for r in results),
        sum(r.event_rows for r in results),
        sum(r.analytics_conversations for r in results),
        len(drafts),
        tuple(sorted(drafts)),
    )


def _draft_export(stores: Stores, reference: str, now: dt.datetime) -> dict[str, Any] | None:
    if stores.drafts is None:
        return None
    try:
        return stores.drafts.export(reference, now=now)
    except DraftNotFoundError:
        return None


def export_conversation(stores: Stores, sender_id: str, *, now: dt.datetime) -> dict[str, Any]:
    """Everything about one conversation as JSON-ready data: CPR masked, draft links without token."""
    events = stores.tracker.events(sender_id)
    record = summarise(sender_id, events)
    drafts = [d for r in record.draft_references if (d := _draft_export(stores, r, now)) is not None]
    exported: dict[str, Any] = clean(
        {
            "conversation_id": sender_id,
            "exported_at": now.isoformat(timespec="seconds"),
            "found": bool(events),
            "summary": record.to_dict() if events else None,
            "events": events,
            "drafts": drafts,
        }
    )
    return exported


def export_draft(stores: Stores, reference: str, *, now: dt.datetime) -> dict[str, Any]:
    """One draft and the conversations that created it."""
    draft = _draft_export(stores, reference, now)
    exported: dict[str, Any] = clean(
        {
            "draft_reference": reference,
            "exported_at": now.isoformat(timespec="seconds"),
            "draft": draft,
            "conversations": [
                export_conversation(stores, s, now=now) for s in stores.tracker.senders_with_draft(reference)
            ],
        }
    )
    return exported
