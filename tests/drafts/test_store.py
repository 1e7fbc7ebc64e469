"""Draft applications: validation, CPR masking, encrypted storage (SQLite and PostgreSQL), rendering.

Every person here is invented; 010116-1234 is a fake CPR number in the real format.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import json
import re
import threading
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from pypdf import PdfReader

from bot.drafts.model import (
    NAME_MAX,
    TEXT_MAX,
    DraftInput,
    DraftValidationError,
    check_field,
    clean_text,
    normalize_phone,
    parse_date,
    prepare,
    validate_date_of_birth,
    validate_description,
    validate_email,
    validate_name,
    validate_phone,
)
from bot.drafts.pdf import FONT_DIR, render_pdf
from bot.drafts.render import draft_view, render_json
from bot.drafts.store import DraftKeyError, DraftNotFoundError, DraftStore, idempotency_key, reference_for
from bot.drafts.texts import text as draft_text
from bot.errors import DataFileError
from bot.privacy import CPR_MASK
from bot.rules import Outcome, decide
from bot.state import outcome_from_json, outcome_to_json
from bot.web.drafts import render_html
from bot.wording import outcome_message
from tests.conftest import require_service

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.timezone.utc)  # Monday 10:00 in Denmark
TODAY = NOW.date()
FAKE_CPR = "010116-1234"
POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
REFERENCE = re.compile(r"^TG-2026-\d{6}$")
CHILD_FACTS: dict[str, Any] = {
    "who": "parent",
    "age": 10,
    "hospital_stay": "no",
    "child_disability": "yes",
    "special_training_need": "yes",
    "school_trains": "no",
    "already_free_physio": "no",
    "municipality": "hjoerring",
}


def child_decision() -> Outcome:
    decision = decide(CHILD_FACTS, today=TODAY)
    assert isinstance(decision, Outcome), decision
    return decision


def child_outcome() -> dict[str, Any]:
    return outcome_message(child_decision(), CHILD_FACTS, NOW).payload


def sample_input(**changes: Any) -> DraftInput:
    """A child's maintenance training draft built from a real outcome (invented family)."""
    outcome = child_outcome()
    draft = DraftInput(
        offer=outcome["offer"],
        municipality=outcome["municipality"],
        legal_basis=outcome["legal_basis"],
        facts=dict(CHILD_FACTS),
        applicant_relation="parent",
        person_name="Åse Prøvebarn Æbelø",
        date_of_birth=dt.date(2016, 2, 1),
        phone="+45 12 34 56 78",
        email="foraelder@eksempel.dk",
        need_description="Cerebral parese; hun går dårligere efter væksten. Fysioterapeuten anbefaler træning.",
        diagnoses="Cerebral parese (spastisk diplegi)",
        current_care="Almindelig 4. klasse, ingen træning i skolen",
        consent_health_info=True,
        school_trains_today="Nej, skolen træner ikke",
        created_by_staff_initials=None,
    )
    return dataclasses.replace(draft, **changes)


def raw_rows(store: DraftStore) -> list[str]:
    """Every row of the drafts table as one text, read with plain SQL."""
    with store.engine.connect() as conn:
        rows = conn.execute(sa.text(f"SELECT * FROM {store.table.name}")).fetchall()
    return [" ".join(str(value) for value in row) for row in rows]


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


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


# --- validation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("12345678", "12 34 56 78"),
        ("12 34 56 78", "12 34 56 78"),
        ("+45 12 34 56 78", "12 34 56 78"),
        ("+4512345678", "12 34 56 78"),
        ("0045 1234 5678", "12 34 56 78"),
    ],
)
def test_danish_phone_numbers_are_accepted_and_normalised(raw: str, normalised: str) -> None:
    assert validate_phone(raw) is None
    assert normalize_phone(raw) == normalised


@pytest.mark.parametrize(
    "raw",
    ["1234567", "123456789", "+46 12345678", "12-34-56-78", "tolv tre", "+45", "1234567a", "45 12345678"],
)
def test_bad_phone_numbers_get_a_danish_message(raw: str) -> None:
    error = validate_phone(raw)
    assert error is not None and "8 cifre" in error


def test_phone_and_email_are_optional() -> None:
    assert validate_phone(None) is None and validate_phone("  ") is None
    assert validate_email(None) is None and validate_email("") is None


@pytest.mark.parametrize(
    "raw",
    ["foraelder@eksempel.dk", "anne.bo+traening@kommune.dk", "jens@æblehaven.dk", "a_b@sub.eksempel.org"],
)
def test_good_email_addresses(raw: str) -> None:
    assert validate_email(raw) is None


@pytest.mark.parametrize(
    "raw",
    [
        "foraelder",
        "foraelder@",
        "@eksempel.dk",
        "foraelder@eksempel",
        "Forælder <foraelder@eksempel.dk>",
        "a@b@eksempel.dk",
        "foraelder@eksempel..dk",
        ".foraelder@eksempel.dk",
        "for aelder@eksempel.dk",
        "foraelder@eksempel.dk, anden@eksempel.dk",
        "foraelder@-eksempel.dk",
        "x" * 65 + "@eksempel.dk",
    ],
)
def test_bad_email_addresses_get_a_danish_message(raw: str) -> None:
    error = validate_email(raw)
    assert error is not None and "e-mailadresse" in error


@pytest.mark.parametrize(
    "raw", ["1.2.2016", "01-02-2016", "2016-02-01", "1/2/2016", "01.02.2016", "1. februar 2016"]
)
def test_dates_of_birth_in_danish_formats(raw: str) -> None:
    assert parse_date(raw) == dt.date(2016, 2, 1)
    assert validate_date_of_birth(raw, TODAY) is None


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("31.2.2016", "Datoen findes ikke"),
        ("29-02-2015", "Datoen findes ikke"),
        ("2016-13-01", "Datoen findes ikke"),
        ("1.1.2030", "fremtiden"),
        ("24.11.2026", "fremtiden"),
        ("1.1.1850", "130 år"),
        ("010216", "fx 1.2.2016"),
        ("1.2.16", "fx 1.2.2016"),
        ("i går", "fx 1.2.2016"),
        ("", "fx 1.2.2016"),
    ],
)
def test_impossible_future_or_unreadable_dates_are_rejected(raw: str, message: str) -> None:
    error = validate_date_of_birth(raw, TODAY)
    assert error is not None and message in error


def test_born_today_is_in_the_past_enough() -> None:
    assert validate_date_of_birth("23.11.2026", TODAY) is None


@pytest.mark.parametrize(
    "name",
    ['Ida <script>alert("x")</script> Testesen', "Søren 'Sørensen' \"Junior\"", "Åse 😀 Prøve", "Ægir Ø"],
)
def test_names_with_markup_quotes_and_emoji_are_accepted_as_text(name: str) -> None:
    assert validate_name(name) is None
    checked = check_field("person_name", name, today=TODAY)
    assert checked.error is None and checked.value == name


@pytest.mark.parametrize(
    "name", ["", "   ", "x" * (NAME_MAX + 1), "Ida\x00Test", "Ida \u202eTest", "Ida\nTest"]
)
def test_bad_names_are_rejected(name: str) -> None:
    assert validate_name(name) is not None


def test_a_10000_character_description_is_rejected_not_cut() -> None:
    long_text = "Han har brug for træning. " * 400  # 10,400 characters
    long_text = long_text[:10_000]
    error = validate_description(long_text)
    assert error is not None and f"højst {TEXT_MAX} tegn" in error and "10000" in error
    assert "klipper ikke" in error
    checked = check_field("need_description", long_text, today=TODAY)
    assert checked.value is None and checked.error == error
    assert validate_description("x" * TEXT_MAX) is None


def test_the_store_refuses_a_too_long_description_and_writes_nothing(store: DraftStore) -> None:
    with pytest.raises(DraftValidationError) as caught:
        store.create(sample_input(need_description="a" * 10_000), "too-long", NOW)
    assert set(caught.value.errors) == {"need_description"}
    assert raw_rows(store) == []


def test_emoji_survive_cleaning() -> None:
    assert clean_text("Træner gerne 💪🏽 hver dag").text == "Træner gerne 💪🏽 hver dag"


def test_whole_draft_errors_by_field() -> None:
    prepared = prepare(
        sample_input(
            phone="1234",
            email="ikke-en-adresse",
            date_of_birth=dt.date(2030, 1, 1),
            consent_health_info=False,
            municipality="atlantis",
            person_name="",
        ),
        TODAY,
    )
    assert set(prepared.errors) == {
        "phone",
        "email",
        "date_of_birth",
        "consent_health_info",
        "municipality",
        "person_name",
    }
    assert "samtykke" in prepared.errors["consent_health_info"]


def test_a_good_draft_is_normalised() -> None:
    prepared = prepare(sample_input(created_by_staff_initials="abc", email=" foraelder@eksempel.dk "), TODAY)
    assert prepared.ok and not prepared.cpr_removed
    assert prepared.draft.phone == "12 34 56 78"
    assert prepared.draft.email == "foraelder@eksempel.dk"
    assert prepared.draft.created_by_staff_initials == "ABC"


# --- CPR numbers ----------------------------------------------------------------------


def test_a_cpr_number_in_a_free_text_field_is_masked_and_reported() -> None:
    checked = check_field("need_description", f"Min datter ({FAKE_CPR}) har CP.", today=TODAY)
    assert checked.cpr_removed and checked.error is None
    assert checked.value == f"Min datter ({CPR_MASK}) har CP."
    assert checked.notice is not None and "CPR-nummer" in checked.notice


def test_a_cpr_number_typed_as_date_of_birth_is_removed_and_rejected() -> None:
    checked = check_field("date_of_birth", FAKE_CPR, today=TODAY)
    assert checked.cpr_removed and checked.value is None and checked.error is not None


def test_prepare_masks_every_free_text_field_and_text_answers() -> None:
    prepared = prepare(
        sample_input(
            need_description=f"cpr {FAKE_CPR}",
            diagnoses=f"CP {FAKE_CPR}",
            current_care=f"skole {FAKE_CPR}",
            school_trains_today=FAKE_CPR,
            facts={**CHILD_FACTS, "note": f"sagt {FAKE_CPR}"},
        ),
        TODAY,
    )
    assert prepared.ok and prepared.cpr_removed
    dumped = json.dumps(prepared.draft.to_dict(), ensure_ascii=False)
    assert "010116" not in dumped and dumped.count(CPR_MASK) == 5


def test_cpr_in_description_is_absent_from_the_row_the_html_and_the_pdf(store: DraftStore) -> None:
    created = store.create(
        sample_input(need_description=f"Barnets cpr er {FAKE_CPR}, hun har CP."), "cpr", NOW
    )
    (row,) = raw_rows(store)
    assert "010116" not in row and "1234" not in row.replace(created.reference, "")
    draft = store.get_by_token(created.token, NOW)
    assert draft is not None
    assert draft.input.need_description == f"Barnets cpr er {CPR_MASK}, hun har CP."
    html = render_html(draft)
    text = pdf_text(render_pdf(draft))
    for rendered in (html, text, render_json(draft)):
        assert "010116" not in rendered and CPR_MASK in rendered


# --- storage ----------------------------------------------------------------------------


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
    for stranger in ("another-conversation", "conversation-of-the-citizen ", "", "CONVERSATION-OF-THE-CITIZEN"):
        assert store.get_owned(created.reference, stranger, NOW) is None
        assert store.delete_owned(created.reference, stranger) is False
    assert store.get_by_token(created.token, NOW) is not None
    shown = store.get_owned(created.reference, "conversation-of-the-citizen", NOW)
    assert shown is not None and shown.reference == created.reference
    assert store.get_owned(created.reference, "conversation-of-the-citizen", NOW + dt.timedelta(days=31)) is None
    assert store.delete_owned("TG-2026-999999", "conversation-of-the-citizen") is False
    assert store.delete_owned(created.token, "conversation-of-the-citizen") is False  # a reference, never a token
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


# --- rendering --------------------------------------------------------------------------


def stored_draft(store: DraftStore, **changes: Any) -> Any:
    created = store.create(sample_input(**changes), uuid.uuid4().hex, NOW)
    draft = store.get_by_token(created.token, NOW)
    assert draft is not None
    return draft


@pytest.fixture
def sqlite_store(tmp_path: Path, key: bytes) -> Iterator[DraftStore]:
    made = DraftStore(f"sqlite:///{tmp_path / 'render.db'}", key=key)
    yield made
    made.close()


HOSTILE_NAME = 'Ida <script>alert("x")</script> O\'Brien & "Søn"'


def test_html_is_danish_accessible_and_escaped(sqlite_store: DraftStore) -> None:
    draft = stored_draft(sqlite_store, person_name=HOSTILE_NAME)
    html = render_html(draft)
    assert html.startswith("<!DOCTYPE html>") and '<html lang="da">' in html
    assert "<h1>" in html and "<h2>" in html and "<dl>" in html
    assert "<script" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; O&#39;Brien &amp; &#34;Søn&#34;" in html
    assert "Udkast – ikke sendt" in html and draft.reference in html
    for value in (
        "1. februar 2016",
        "12 34 56 78",
        "foraelder@eksempel.dk",
        "Cerebral parese (spastisk diplegi)",
        "Almindelig 4. klasse, ingen træning i skolen",
        "Nej, skolen træner ikke",
        "Forælder",
        "Vedligeholdende træning",
        "Hjørring Kommune",
        "Barnets lov § 90, nr. 3",
        "Træningsenheden",
        "72 33 58 50",
        "traeningsenhed@hjoerring.dk",
        "Hvor gammel er barnet?",
        "10 år",
        "der træffer afgørelsen",
    ):
        assert value in html, value
    assert "Slet udkastet nu" not in html  # no links without a token


def test_html_with_links_has_a_delete_form_and_downloads(sqlite_store: DraftStore) -> None:
    from bot.drafts.urls import draft_links

    draft = stored_draft(sqlite_store)
    html = render_html(draft, links=draft_links("", "tok_en-123"))
    assert '<form method="post" action="/udkast/tok_en-123/slet">' in html
    assert 'href="/udkast/tok_en-123.pdf"' in html and 'href="/udkast/tok_en-123.json"' in html


def test_what_to_attach_and_where_to_send_depend_on_the_offer(sqlite_store: DraftStore) -> None:
    home = draft_view(
        stored_draft(
            sqlite_store, offer="home_training", municipality="aarhus", training_method="ABM-metoden"
        )
    )
    assert any("tids- og faseplan" in item for item in home.attach)
    assert any("ugeskema" in item for item in home.attach)
    assert "Handicapcentret for Børn" in home.contact and "Telefon: 89 40 14 41" in home.contact
    physio = draft_view(stored_draft(sqlite_store, offer="free_physiotherapy", municipality=None))
    assert "resumé" in physio.send and "lægens henvisning" in physio.send and "ansøgningen" in physio.send
    assert physio.contact[0] == "Din kommunes børne- og handicapområde"


def test_every_answer_in_the_draft_has_a_danish_label(sqlite_store: DraftStore) -> None:
    """The draft dialogue's 'may the municipality obtain' answer was shown as its raw fact name."""
    facts = {**CHILD_FACTS, "municipality_may_obtain": "yes"}
    view = draft_view(stored_draft(sqlite_store, facts=facts))
    answers = {row.label: row.value for row in view.sections[-1].rows}
    assert answers[draft_text("fields.municipality_may_obtain")] == "Ja"
    assert not set(answers) & set(facts)  # no raw fact name as a label


def test_an_answer_without_a_label_is_an_error_not_its_fact_name(sqlite_store: DraftStore) -> None:
    with pytest.raises(DataFileError, match="no_such_fact"):
        draft_view(stored_draft(sqlite_store, facts={**CHILD_FACTS, "no_such_fact": "yes"}))


def test_confirmation_needed_is_shown_beside_the_citation(sqlite_store: DraftStore) -> None:
    ref = {"law": "Ældreloven", "citation": "Ældreloven", "needs_confirmation": True}
    draft = stored_draft(sqlite_store, legal_basis=[ref], date_of_birth=dt.date(1940, 5, 5), facts={})
    assert "Ældreloven (skal bekræftes af kommunen)" in render_html(draft)


def test_pdf_holds_every_field_as_text(sqlite_store: DraftStore) -> None:
    if not (FONT_DIR / "DejaVuSans.ttf").is_file():
        pytest.skip("DejaVu fonts are not installed (the Helvetica fallback is tested below)")
    draft = stored_draft(
        sqlite_store, person_name=HOSTILE_NAME, need_description=f"Går dårligt 😀 💪, cpr {FAKE_CPR}"
    )
    data = render_pdf(draft)
    assert data.startswith(b"%PDF")
    text = pdf_text(data)
    view = draft_view(draft)
    expected = [view.title, view.not_sent, *view.legal, *view.attach, *view.contact]
    for section in view.sections:
        for row in section.rows:
            expected += [row.label, row.value]
    for row in view.meta:
        expected += [row.label, row.value]
    for value in expected:
        value = value.replace("💪", "\ufffd")  # not in DejaVu Sans; 😀 is
        assert " ".join(value.split()) in text, value
    assert HOSTILE_NAME in text
    assert "010116" not in text and CPR_MASK in text


def test_pdf_falls_back_to_helvetica_without_dejavu(sqlite_store: DraftStore, tmp_path: Path) -> None:
    draft = stored_draft(sqlite_store, person_name="Åse Ø 😀 – Test")
    text = pdf_text(render_pdf(draft, font_dir=tmp_path / "no-fonts"))
    assert "Åse Ø ? - Test" in text
    assert "Udkast - ikke sendt" in text and draft.reference in text


def test_json_render_is_the_export(sqlite_store: DraftStore) -> None:
    draft = stored_draft(sqlite_store, person_name=HOSTILE_NAME)
    data = json.loads(render_json(draft))
    assert data["person"]["name"] == HOSTILE_NAME
    assert data["schema"] == "traeningsguiden.draft.v1"
    assert data == sqlite_store.export(draft.reference, now=NOW)
