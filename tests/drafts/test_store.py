"""bot/drafts/store.py: encrypted storage on SQLite and PostgreSQL, references, tokens, owners, expiry."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from bot.drafts.model import DraftValidationError
from bot.drafts.store import DraftKeyError, DraftNotFoundError, DraftStore, idempotency_key, reference_for
from bot.state import outcome_from_json, outcome_to_json
from tests.drafts.helpers import (
    CHILD_FACTS,
    NOW,
    TODAY,
    child_decision,
    child_outcome,
    raw_rows,
    sample_input,
)

REFERENCE = re.compile(r"^TG-2026-\d{6}$")


def test_the_store_refuses_a_too_long_description_and_writes_nothing(store: DraftStore) -> None:
    with pytest.raises(DraftValidationError) as caught:
        store.create(sample_input(need_description="a" * 10_000), "too-long", NOW)
    assert set(caught.value.errors) == {"need_description"}
    assert raw_rows(store) == []


def test_create_returns_a_reference_and_a_token_that_is_never_stored(store: DraftStore) -> None:
    reference, token = store.create(sample_input(), "conv-1", NOW)
    assert REFERENCE.match(reference)
    assert len(token) >= 43
    (row,) = raw_rows(store)
    assert token not in row
    assert hashlib.sha256(token.encode()).hexdigest() in row
    with store.engine.connect() as conn:
        stored = conn.execute(sa.select(store.table)).one()
    assert stored.status == "draft" and stored.offer == "maintenance_training"
    assert stored.municipality == "hjoerring"
    assert stored.delete_after - stored.created_at == dt.timedelta(days=30)
    assert stored.legal_basis == child_outcome()["legal_basis"]


def test_personal_and_health_fields_are_encrypted_at_rest(store: DraftStore) -> None:
    draft = sample_input()
    store.create(draft, "conv-encrypted", NOW)
    (row,) = raw_rows(store)
    for secret in (
        draft.person_name,
        "Prøvebarn",
        "Cerebral parese",
        "væksten",
        "foraelder@eksempel.dk",
        "12 34 56 78",
        "2016-02-01",
        "spastisk",
    ):
        assert secret not in row


def test_retrying_with_the_same_key_returns_the_same_draft(store: DraftStore) -> None:
    key = idempotency_key("conversation-abc", child_decision())
    first = store.create(sample_input(), key, NOW)
    second = store.create(sample_input(person_name="Et andet navn"), key, NOW + dt.timedelta(seconds=5))
    assert second == first
    assert len(raw_rows(store)) == 1
    draft = store.get_by_token(second.token, NOW)
    assert draft is not None and draft.input.person_name == "Åse Prøvebarn Æbelø"
    other = store.create(sample_input(), idempotency_key("conversation-xyz", child_decision()), NOW)
    assert other.reference != first.reference and other.token != first.token


def test_idempotency_key_hashes_conversation_and_outcome() -> None:
    """A retried turn reads the outcome back from its slot (JSON): the same key, so the same draft."""
    outcome = child_decision()
    key = idempotency_key("conv", outcome)
    assert re.fullmatch(r"[0-9a-f]{64}", key)
    from_slot = outcome_from_json(
        json.loads(json.dumps(outcome_to_json(outcome))), CHILD_FACTS, topic=None, today=TODAY
    )
    assert from_slot is not None and key == idempotency_key("conv", from_slot)
    assert key != idempotency_key("conv", dataclasses.replace(outcome, offer="home_training"))
    assert key != idempotency_key("conv2", outcome)


def test_references_count_up_with_the_year(store: DraftStore) -> None:
    refs = [store.create(sample_input(), f"k{i}", NOW).reference for i in range(3)]
    numbers = [int(ref.rsplit("-", 1)[1]) for ref in refs]
    assert all(REFERENCE.match(ref) for ref in refs)
    assert numbers == sorted(numbers) and len(set(numbers)) == 3
    new_year = dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.timezone.utc)  # 1 January 2027 in Denmark
    assert store.create(sample_input(), "k-new-year", new_year).reference.startswith("TG-2027-")
    assert reference_for(2026, 123) == "TG-2026-000123"


def test_concurrent_creates_get_distinct_references_and_one_draft_per_key(store: DraftStore) -> None:
    results: list[tuple[str, str]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def create(key: str) -> None:
        try:
            created = store.create(sample_input(), key, NOW)
        except BaseException as e:  # reported below
            with lock:
                errors.append(e)
            return
        with lock:
            results.append(created)

    keys_used = [f"distinct-{i}" for i in range(6)] + ["same"] * 4
    threads = [threading.Thread(target=create, args=(k,)) for k in keys_used]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(results) == 10
    assert len(raw_rows(store)) == 7
    assert len({ref for ref, _ in results}) == 7
    assert len(set(results)) == 7  # the four creates with the same key got the same reference and token


def test_unknown_and_expired_tokens_find_nothing(store: DraftStore) -> None:
    created = store.create(sample_input(), "expiry", NOW)
    assert store.get_by_token(created.token, NOW + dt.timedelta(days=29, hours=23)) is not None
    assert store.get_by_token(created.token, NOW + dt.timedelta(days=30)) is None
    assert store.get_by_token(created.token[:-1] + "x", NOW) is None
    assert store.get_by_token("", NOW) is None
    assert store.get_by_token("x" * 10_000, NOW) is None
    assert store.get_by_token(created.reference, NOW) is None


def test_a_retry_after_expiry_creates_a_new_draft(store: DraftStore) -> None:
    first = store.create(sample_input(), "late-retry", NOW)
    later = NOW + dt.timedelta(days=31)
    second = store.create(sample_input(), "late-retry", later)
    assert second.reference != first.reference
    assert len(raw_rows(store)) == 1
    assert store.get_by_token(second.token, later) is not None


def test_delete_by_token_really_removes_the_row(store: DraftStore) -> None:
    created = store.create(sample_input(), "delete-me", NOW)
    keep = store.create(sample_input(), "keep-me", NOW)
    assert store.delete(created.token) is True
    assert store.delete(created.token) is False
    with store.engine.connect() as conn:
        count = conn.execute(
            sa.text(f"SELECT COUNT(*) FROM {store.table.name} WHERE reference = :r"), {"r": created.reference}
        ).scalar_one()
    assert count == 0
    assert store.get_by_token(created.token, NOW) is None
    assert store.get_by_token(keep.token, NOW) is not None
    assert len(raw_rows(store)) == 1


def test_delete_by_reference(store: DraftStore) -> None:
    created = store.create(sample_input(), "delete-by-ref", NOW)
    assert store.delete(created.reference) is True
    assert raw_rows(store) == []
    assert store.delete("TG-2026-999999") is False
    assert store.delete("") is False


def test_a_draft_is_bound_to_the_conversation_that_made_it(store: DraftStore) -> None:
    created = store.create(sample_input(), "owned", NOW, owner="conversation-of-the-citizen")
    other = store.create(sample_input(), "someone-elses", NOW, owner="another-conversation")
    for stranger in (
        "another-conversation",
        "conversation-of-the-citizen ",
        "",
        "CONVERSATION-OF-THE-CITIZEN",
    ):
        assert store.get_owned(created.reference, stranger, NOW) is None
        assert store.delete_owned(created.reference, stranger) is False
    assert store.get_by_token(created.token, NOW) is not None
    shown = store.get_owned(created.reference, "conversation-of-the-citizen", NOW)
    assert shown is not None and shown.reference == created.reference
    assert (
        store.get_owned(created.reference, "conversation-of-the-citizen", NOW + dt.timedelta(days=31)) is None
    )
    assert store.delete_owned("TG-2026-999999", "conversation-of-the-citizen") is False
    assert (
        store.delete_owned(created.token, "conversation-of-the-citizen") is False
    )  # a reference, never a token
    assert store.delete_owned(created.reference, "conversation-of-the-citizen") is True
    assert store.delete_owned(created.reference, "conversation-of-the-citizen") is False
    assert store.get_by_token(created.token, NOW) is None
    assert store.get_by_token(other.token, NOW) is not None


def test_only_a_keyed_hash_of_the_conversation_id_is_stored(store: DraftStore, key: bytes) -> None:
    store.create(sample_input(), "hashed-owner", NOW, owner="sender-id-0123456789")
    (row,) = raw_rows(store)
    assert "sender-id-0123456789" not in row
    assert store.owner_hash("sender-id-0123456789") in row
    assert hashlib.sha256(b"sender-id-0123456789").hexdigest() not in row  # keyed, not a plain hash
    assert re.fullmatch(r"[0-9a-f]{64}", store.owner_hash("x"))
    same_key = DraftStore("sqlite://", key=key)
    other_key = DraftStore("sqlite://", key=Fernet.generate_key())
    assert same_key.owner_hash("x") == store.owner_hash("x") != other_key.owner_hash("x")
    same_key.close()
    other_key.close()


def test_a_draft_without_an_owner_is_reached_by_its_token_only(store: DraftStore) -> None:
    created = store.create(sample_input(), "ownerless", NOW)
    for anyone in ("", "conversation", "None", "null"):
        assert store.get_owned(created.reference, anyone, NOW) is None
        assert store.delete_owned(created.reference, anyone) is False
    assert store.get_by_token(created.token, NOW) is not None
    assert store.delete(created.token) is True


def test_an_existing_drafts_table_gets_the_owner_column(store: DraftStore, key: bytes) -> None:
    """A database made before drafts had owners: the column is added at start, old drafts stay."""
    old = store.create(sample_input(), "made-before-owners", NOW)
    with store.engine.begin() as conn:
        conn.execute(sa.text(f"ALTER TABLE {store.table.name} DROP COLUMN owner_hash"))
    prefix = store.table.name[: -len("drafts")]
    url = str(store.engine.url)
    reopened = [DraftStore(url, key=key, table_prefix=prefix) for _ in range(2)]  # the second finds it there
    try:
        columns = {c["name"] for c in sa.inspect(store.engine).get_columns(store.table.name)}
        assert "owner_hash" in columns
        first = reopened[0]
        assert first.get_by_token(old.token, NOW) is not None
        assert first.delete_owned(old.reference, "made-before-owners") is False
        new = first.create(sample_input(), "made-after", NOW, owner="conversation")
        assert first.delete_owned(new.reference, "conversation") is True
    finally:
        for opened in reopened:
            opened.close()


def test_delete_expired_removes_only_old_drafts(store: DraftStore) -> None:
    old = store.create(sample_input(), "old", NOW - dt.timedelta(days=40))
    new = store.create(sample_input(), "new", NOW)
    assert store.delete_expired(NOW) == 1
    assert store.delete_expired(NOW) == 0
    assert store.get_by_token(old.token, NOW - dt.timedelta(days=39)) is None
    assert store.get_by_token(new.token, NOW) is not None
    assert len(raw_rows(store)) == 1


def test_retention_is_configurable(tmp_path: Path, key: bytes) -> None:
    short = DraftStore(f"sqlite:///{tmp_path / 'short.db'}", key=key, retention_days=7)
    created = short.create(sample_input(), "short", NOW)
    assert short.get_by_token(created.token, NOW + dt.timedelta(days=6)) is not None
    assert short.get_by_token(created.token, NOW + dt.timedelta(days=7)) is None
    short.close()
    with pytest.raises(ValueError):
        DraftStore("sqlite://", key=key, retention_days=0)


def test_export_for_a_caseworker(store: DraftStore) -> None:
    created = store.create(sample_input(created_by_staff_initials="KBJ"), "export", NOW)
    data = store.export(created.reference, now=NOW)
    assert json.loads(json.dumps(data)) == data
    assert data["reference"] == created.reference and data["status"] == "draft"
    assert data["offer"] == "maintenance_training" and data["contact_area"] == "children"
    assert data["person"] == {
        "name": "Åse Prøvebarn Æbelø",
        "date_of_birth": "2016-02-01",
        "phone": "12 34 56 78",
        "email": "foraelder@eksempel.dk",
    }
    assert data["applicant"] == {"relation": "parent", "staff_initials": "KBJ"}
    assert data["facts"]["age"] == 10 and data["consent_health_info"] is True
    with pytest.raises(DraftNotFoundError):
        store.export("TG-2026-999999", now=NOW)
    with pytest.raises(DraftNotFoundError):
        store.export(created.reference, now=NOW + dt.timedelta(days=31))


def test_a_draft_cannot_be_read_with_another_key(tmp_path: Path, key: bytes) -> None:
    url = f"sqlite:///{tmp_path / 'drafts.db'}"
    created = DraftStore(url, key=key).create(sample_input(), "k", NOW)
    with pytest.raises(DraftKeyError):
        DraftStore(url, key=Fernet.generate_key()).get_by_token(created.token, NOW)


def test_naive_datetimes_are_refused(tmp_path: Path, key: bytes) -> None:
    store = DraftStore("sqlite://", key=key)
    with pytest.raises(ValueError):
        store.create(sample_input(), "naive", NOW.replace(tzinfo=None))


def test_sqlite_in_memory_and_bad_table_prefix(key: bytes) -> None:
    store = DraftStore("sqlite://", key=key)
    created = store.create(sample_input(), "mem", NOW)
    assert store.get_by_token(created.token, NOW) is not None
    with pytest.raises(ValueError):
        DraftStore("sqlite://", key=key, table_prefix="x; DROP TABLE drafts; --")
