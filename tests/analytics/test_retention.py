"""Retention, forget and export on Rasa's own SQL tracker store (SQLite and PostgreSQL): rows are gone."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
import uuid
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer
from cryptography.fernet import Fernet

from bot.analytics.retention import (
    Stores,
    export_conversation,
    export_draft,
    forget_conversation,
    forget_draft,
    purge,
)
from bot.analytics.store import AnalyticsStore, TrackerEvents
from bot.config import Settings
from bot.web.app import create_app
from tests.analytics.conftest import Backend
from tests.analytics.events import Conversation, event_count
from tests.drafts.helpers import sample_input

NOW = dt.datetime.now(dt.timezone.utc)
DAY = 86400.0


def with_draft(start: float, reference: str, token: str = "Tok" * 10) -> Conversation:
    c = Conversation(start, channel="citizen", municipality="hjoerring")
    c.user("min søn er 8 og har cerebral parese, cpr 010116-1234").action("action_triage").ask(
        "hospital_stay"
    )
    c.slots(pending="hospital_stay")
    c.user("Åse Prøvebarn").action("action_triage").ask("date_of_birth").slots(
        draft={"step": "date_of_birth"}
    )
    c.user("gem", "affirm").action("action_triage")
    c.bot(
        f"Gemt som {reference}: https://k.dk/udkast/{token}",
        draft={"reference": reference, "url": f"/udkast/{token}"},
    )
    return c.slots(draft={"step": None, "reference": reference, "url": f"/udkast/{token}"})


def plain(start: float) -> Conversation:
    c = Conversation(start)
    return c.user("hej", "greet").action("utter_greet").bot("Hej")


def count(backend: Backend, sender: str) -> int:
    return int(backend.raw("SELECT count(*) FROM events WHERE sender_id = :s", s=sender)[0][0])


def stores_for(backend: Backend) -> Stores:
    return Stores(
        TrackerEvents(backend.url),
        AnalyticsStore(backend.url, table_prefix=backend.draft_prefix + "a_"),
        backend.drafts(),
    )


def test_retention_deletes_idle_conversations_and_expired_drafts_only(backend: Backend) -> None:
    stores = stores_for(backend)
    now = time.time()
    old, recent = f"old-{uuid.uuid4().hex}", f"new-{uuid.uuid4().hex}"
    backend.save(old, plain(now - 100 * DAY).events)
    backend.save(recent, plain(now - 10 * DAY).events)
    assert stores.analytics is not None and stores.drafts is not None
    for event in plain(now - 100 * DAY).events:
        stores.analytics.ingest({"sender_id": old, **event})
    created = stores.drafts.create(sample_input(), "k1", NOW - dt.timedelta(days=31))
    kept = stores.drafts.create(sample_input(), "k2", NOW)
    deleted = purge(stores, now=NOW, conversation_days=90)
    assert (deleted.conversations, deleted.analytics_conversations, deleted.drafts) == (1, 1, 1)
    assert count(backend, old) == 0 and count(backend, recent) > 0
    assert event_count(stores.analytics, old) == 0 and stores.analytics.records() == []
    table = stores.drafts.table.name
    references = {r[0] for r in backend.raw(f"SELECT reference FROM {table}")}
    assert references == {kept.reference} and created.reference not in references
    stores.close()


def test_forget_a_conversation_deletes_its_events_analytics_rows_and_draft(backend: Backend) -> None:
    stores = stores_for(backend)
    assert stores.drafts is not None and stores.analytics is not None
    draft = stores.drafts.create(sample_input(), "k", NOW)
    sender, other = f"f-{uuid.uuid4().hex}", f"o-{uuid.uuid4().hex}"
    events = with_draft(time.time() - 60, draft.reference).events
    backend.save(sender, events)
    backend.save(other, plain(time.time() - 60).events)
    for event in events:
        stores.analytics.ingest({"sender_id": sender, **event})
    deleted = forget_conversation(stores, sender)
    assert deleted.draft_references == (draft.reference,) and deleted.event_rows == len(events)
    assert count(backend, sender) == 0 and count(backend, other) > 0
    assert event_count(stores.analytics, sender) == 0
    assert backend.raw(f"SELECT count(*) FROM {stores.drafts.table.name}")[0][0] == 0
    stores.close()


def test_forget_a_draft_deletes_the_conversation_that_made_it(backend: Backend) -> None:
    stores = stores_for(backend)
    assert stores.drafts is not None
    draft = stores.drafts.create(sample_input(), "k", NOW)
    sender = f"d-{uuid.uuid4().hex}"
    backend.save(sender, with_draft(time.time() - 60, draft.reference).events)
    similar = f"s-{uuid.uuid4().hex}"  # a reference one digit longer must not match
    backend.save(similar, with_draft(time.time() - 60, draft.reference + "1").events)
    deleted = forget_draft(stores, draft.reference)
    assert deleted.conversations == 1 and deleted.draft_references == (draft.reference,)
    assert count(backend, sender) == 0 and count(backend, similar) > 0
    stores.close()


def test_export_is_complete_masked_and_without_draft_tokens(backend: Backend) -> None:
    stores = stores_for(backend)
    assert stores.drafts is not None
    draft = stores.drafts.create(sample_input(need_description="Falder meget. cpr 010116-1234"), "k", NOW)
    sender = f"e-{uuid.uuid4().hex}"
    token = "SecretToken" * 3
    backend.save(sender, with_draft(time.time() - 60, draft.reference, token).events)
    exported = export_conversation(stores, sender, now=NOW)
    body = json.dumps(exported, ensure_ascii=False)
    assert exported["found"] and exported["summary"]["draft_references"] == [draft.reference]
    assert exported["drafts"][0]["reference"] == draft.reference
    assert "Åse Prøvebarn" in body  # the citizen's own data is in their export
    assert "010116" not in body and token not in body and "[link fjernet]" in body
    by_draft = export_draft(stores, draft.reference, now=NOW)
    assert by_draft["draft"]["reference"] == draft.reference
    assert [c["conversation_id"] for c in by_draft["conversations"]] == [sender]
    stores.close()


def test_the_web_app_deletes_old_conversations_while_it_runs(backend: Backend, tmp_path: Path) -> None:
    now = time.time()
    old, recent = f"old-{uuid.uuid4().hex}", f"new-{uuid.uuid4().hex}"
    backend.save(old, plain(now - 100 * DAY).events)
    backend.save(recent, plain(now - 10 * DAY).events)
    config = Settings(
        database_url=f"sqlite:///{tmp_path / 'drafts.db'}",
        base_url="",
        key=Fernet.generate_key(),
        session_key=Fernet.generate_key(),
        accounts_file=str(tmp_path / "accounts.yml"),
        tracker_database_url=backend.url,
        conversation_retention_days=90,
    )

    async def run_app_until_deleted() -> None:
        async with TestClient(TestServer(create_app(config))):
            for _ in range(200):  # the job runs once at start-up, in a thread
                if count(backend, old) == 0:
                    return
                await asyncio.sleep(0.05)

    asyncio.run(run_app_until_deleted())
    assert count(backend, old) == 0 and count(backend, recent) > 0
