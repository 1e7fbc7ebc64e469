"""Faults survived, embedded profile (`make run`): the real action server, Rasa and web app, each
SIGKILLed (a crash, not a stop) with a conversation in progress and, where it matters, a draft
being saved (issue 10).

In every case the citizen gets a Danish answer with the municipality's phone number (never
silence, never a stack trace), and after the restart the conversation goes on at the pending
question: every message Rasa answered is one `user` event in the SQLite tracker store (none
lost, none twice, message ids unique; one Rasa was killed while handling is there once or not
at all, and the citizen was told to try again), and a draft is saved whole once or not at all.

Killing "while the draft is written" or "once it is saved" is a race with the running servers:
the test watches the drafts database and may lose (the answer came first); the assertions hold
either way.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import secrets
import sqlite3
import threading
import time
from typing import Any, Callable, Iterator, Literal

import pytest
import requests
from cryptography.fernet import Fernet

from bot.drafts.store import DraftStore
from bot.municipality import profile
from tests.conversation.test_live import DRAFT_ANSWERS, custom
from tests.live import MODEL, Servers, post_json
from tests.web.test_auth import STAFF_PASSWORD, write_accounts

pytestmark = pytest.mark.rasa

STACK_TRACE_WORDS = ("Traceback", "Exception", "Error", "error:")


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    """This module's own servers: its tests kill them, the shared ones must live on."""
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` (make test does)")
    workdir = tmp_path_factory.mktemp("faults")
    write_accounts(workdir / "accounts.yml")
    extra = {
        "TRAENINGSGUIDEN_ACCOUNTS": str(workdir / "accounts.yml"),
        "TRAENINGSGUIDEN_SESSION_KEY": Fernet.generate_key().decode(),  # as in production: it outlives a restart
        "TRAENINGSGUIDEN_RATE_LIMIT_PER_MINUTE": "1000",  # whole draft dialogues from one address
    }
    with Servers(workdir, extra).running() as running:
        yield running


def phone_of(municipality: str) -> str:
    """The number the citizen should be told to call: the municipality's first contact with a phone."""
    prof = profile(municipality)
    for area in ("adults", "rehabilitation", "children", "home_training"):
        phone = prof.contact(area).phone
        if phone:
            return phone
    raise AssertionError(f"{municipality} has no phone number")


def text_of(messages: list[dict[str, Any]]) -> str:
    return "\n".join(m.get("text", "") for m in messages)


def assert_danish_call_us(messages: list[dict[str, Any]], municipality: str) -> None:
    """One Danish answer naming the municipality's phone number, no stack trace."""
    said = text_of(messages)
    assert messages and said.strip(), "silence"
    assert phone_of(municipality) in said, said
    assert "ring til" in said, said
    assert not any(word in said for word in STACK_TRACE_WORDS), said


class Conversation:
    """One citizen's conversation, over Rasa's REST channel or through our web app's /api/besked;
    counts the messages that reached Rasa (the tracker store must hold exactly these)."""

    def __init__(self, servers: Servers, *, web: bool, kommune: str | None = None) -> None:
        self.servers = servers
        self.web = web
        self.kommune = kommune
        self.page_id = secrets.token_urlsafe(16)  # what chat.js makes and keeps
        self.id = f"web-{self.page_id}" if web else f"test-{secrets.token_hex(16)}"
        self.reached_rasa = 0  # answered by Rasa: stored once
        self.cut_off = 0  # Rasa killed while it handled them: stored once or not at all
        self.last_status = 0

    def send(self, message: str) -> list[dict[str, Any]]:
        """Send as the page (web) or as a REST client; a 503 from the web app means Rasa did not answer."""
        if not self.web:
            self.reached_rasa += 1
            return self.servers.send(self.id, message)
        body: dict[str, Any] = {"sender": self.page_id, "message": message}
        if self.kommune:
            body["kommune"] = self.kommune
        status, raw = post_json(f"http://127.0.0.1:{self.servers.web_port}/api/besked", body)
        assert status in (200, 503), (status, raw[:500])
        self.reached_rasa += status == 200
        self.last_status = status
        messages: list[dict[str, Any]] = json.loads(raw)["messages"]
        return messages

    def user_message_ids(self) -> list[str]:
        with contextlib.closing(sqlite3.connect(self.servers.tracker_db)) as db:
            rows = db.execute(
                "SELECT data FROM events WHERE sender_id = ? AND type_name = 'user' ORDER BY id", (self.id,)
            ).fetchall()
        return [json.loads(row[0]).get("message_id") for row in rows]

    def assert_nothing_lost_or_twice(self) -> None:
        ids = self.user_message_ids()
        assert self.reached_rasa <= len(ids) <= self.reached_rasa + self.cut_off, (ids, self.reached_rasa)
        assert all(ids) and len(set(ids)) == len(ids), ids


def answer_to_review(conversation: Conversation, first: str, answers: dict[str, str]) -> list[dict[str, Any]]:
    """From the first message through the outcome and the draft questions to the review (not saved)."""
    messages = conversation.send(first)
    for _ in range(40):
        question = custom(messages, "question")
        assert question, messages
        if question["fact"] == "review":
            return messages
        messages = conversation.send({**answers, **DRAFT_ANSWERS}[question["fact"]])
    raise AssertionError("no review after 40 answers")


REHAB = ("jeg er 80 og lige kommet hjem fra sygehuset", {"rehab_plan": "ja", "municipality": "Ballerup"})
SAVE = DRAFT_ANSWERS["review"]


DraftRow = tuple[str | None, str]  # a row of the drafts table: reference, idempotency key


def draft_url(servers: Servers) -> str:
    return f"sqlite:///{servers.workdir / 'drafts.db'}"


def drafts(servers: Servers) -> list[DraftRow]:
    """(reference, idempotency key) of every row in the drafts database, half-written ones too."""
    path = servers.workdir / "drafts.db"
    if not path.exists():
        return []
    with contextlib.closing(sqlite3.connect(path)) as db:
        return [(r[0], r[1]) for r in db.execute("SELECT reference, idempotency_key FROM drafts ORDER BY id")]


def assert_whole_draft(servers: Servers, reference: str) -> None:
    store = DraftStore(draft_url(servers), key=servers.draft_key.encode())
    try:
        draft = store.get_by_reference(reference, dt.datetime.now(dt.timezone.utc))
    finally:
        store.close()
    assert draft is not None
    assert draft.input.person_name and draft.input.need_description and draft.input.offer == "rehabilitation"


def save_and_kill(
    conversation: Conversation, kill: Callable[[], None], *, at: Literal["writing", "saved"]
) -> tuple[list[dict[str, Any]], list[DraftRow]]:
    """Send the final "gem" and `kill` as soon as the draft is being written (SQLite's rollback
    journal exists: the transaction is open) or is saved (its row is committed, Rasa not yet told);
    after the answer if the save was faster than we look. The answer and the new rows."""
    servers = conversation.servers
    DraftStore(draft_url(servers), key=servers.draft_key.encode()).close()  # the table, to watch from the start
    before = drafts(servers)
    journal = servers.workdir / "drafts.db-journal"
    answered: list[list[dict[str, Any]]] = []
    saving = threading.Thread(target=lambda: answered.append(conversation.send(SAVE)))
    with contextlib.closing(sqlite3.connect(servers.workdir / "drafts.db")) as db:
        count = "SELECT count(*) FROM drafts"
        rows = db.execute(count).fetchone()[0]

        def reached() -> bool:
            return journal.exists() if at == "writing" else db.execute(count).fetchone()[0] != rows

        saving.start()
        deadline = time.monotonic() + 60
        while not reached() and saving.is_alive() and time.monotonic() < deadline:
            time.sleep(0)
        kill()
    saving.join(timeout=120)
    assert answered, "an answer, not silence"
    return answered[0], [row for row in drafts(servers) if row not in before]


def test_killed_action_server_over_rest_phone_number_then_resume_and_save_once(servers: Servers) -> None:
    """SIGKILL at the draft offer and again at the final "gem": both answered in Danish with
    Ballerup's number (the municipality answered in the conversation); after each restart the
    pending question is asked again, and the draft is saved after recovery, once."""
    conversation = Conversation(servers, web=False)
    messages = conversation.send(REHAB[0])
    messages = conversation.send("ja")
    messages = conversation.send("Ballerup")
    assert custom(messages, "outcome")["municipality"] == "ballerup"
    assert custom(messages, "question")["fact"] == "draft_offer"

    servers.kill_actions()
    try:
        assert_danish_call_us(conversation.send("ja"), "ballerup")
    finally:
        servers.start_actions()
    assert custom(conversation.send("ja"), "question")["fact"] == "draft_consent"

    messages = conversation.send(DRAFT_ANSWERS["draft_consent"])
    for _ in range(20):
        fact = custom(messages, "question")["fact"]
        if fact == "review":
            break
        messages = conversation.send(DRAFT_ANSWERS[fact])
    before = drafts(servers)  # other tests' drafts: only the new rows count

    servers.kill_actions()
    try:
        down = conversation.send(SAVE)
        assert_danish_call_us(down, "ballerup")
        assert custom(down, "draft") is None
        assert drafts(servers) == before, "no draft, not even half of one, while the action server is dead"
    finally:
        servers.start_actions()

    saved = custom(conversation.send(SAVE), "draft")
    assert saved and saved["reference"].startswith("TG-")
    new = [row for row in drafts(servers) if row not in before]
    assert [reference for reference, _ in new] == [saved["reference"]]
    assert_whole_draft(servers, saved["reference"])
    conversation.assert_nothing_lost_or_twice()


def test_action_server_killed_while_the_draft_is_saved_through_the_web_app(servers: Servers) -> None:
    """The web app's /api/besked: a dead action server gets the number too, and a SIGKILL while the
    draft's transaction is open leaves no half draft (SQLite rolls it back): the citizen is told to
    try again or call, and saving after the restart gives one whole draft."""
    conversation = Conversation(servers, web=True, kommune="ballerup")
    first = conversation.send("min mor på 84 bliver dårligere gående, kan hun få træning")
    assert custom(first, "question")["fact"] == "hospital_stay"
    servers.kill_actions()
    try:
        assert_danish_call_us(conversation.send("nej"), "ballerup")
    finally:
        servers.start_actions()
    assert custom(conversation.send("nej"), "question")["fact"] == "goal"

    conversation = Conversation(servers, web=True, kommune="ballerup")
    answer_to_review(conversation, *REHAB)
    before = drafts(servers)
    try:
        reply, new = save_and_kill(conversation, servers.kill_actions, at="writing")
    finally:
        servers.start_actions()
    assert_saved_once(conversation, reply, new, before)
    conversation.assert_nothing_lost_or_twice()


def assert_saved_once(
    conversation: Conversation, reply: list[dict[str, Any]], new: list[DraftRow], before: list[DraftRow]
) -> None:
    """At most one whole draft from the interrupted save; after recovery the citizen has exactly one,
    the same one if it was saved during the crash."""
    servers = conversation.servers
    assert len(new) <= 1 and all(reference for reference, _ in new), new  # never half, never two
    saved = custom(reply, "draft")
    if saved is None:
        assert_danish_call_us(reply, "ballerup")
        saved = custom(conversation.send(SAVE), "draft")
        assert saved, "the citizen can save the draft after the restart"
    after = [row for row in drafts(servers) if row not in before]
    assert [reference for reference, _ in after] == [saved["reference"]]
    assert new in ([], after), "saved during the crash: the retry gives the same draft"
    assert_whole_draft(servers, saved["reference"])


def test_rasa_killed_while_the_draft_is_saved_web_app_answers_with_the_phone_number(servers: Servers) -> None:
    """Through the web app, no kommune on the page (the municipality is only in the conversation):
    Rasa SIGKILLed the moment the draft's row appears. The web app answers in Danish with Ballerup's
    number, also while Rasa is down; after the restart the conversation is at the review and saving
    gives the draft saved during the crash, never a second one."""
    conversation = Conversation(servers, web=True)
    answer_to_review(conversation, *REHAB)
    before = drafts(servers)
    try:
        reply, new = save_and_kill(conversation, servers.kill_rasa, at="saved")
        conversation.cut_off += conversation.last_status == 503  # its user event stored once or not at all
        down = conversation.send(SAVE)
        assert conversation.last_status == 503
        assert_danish_call_us(down, "ballerup")
    finally:
        servers.start_rasa()
    assert_saved_once(conversation, reply, new, before)
    conversation.assert_nothing_lost_or_twice()


def staff_login(servers: Servers) -> tuple[requests.Session, str]:
    """A logged-in staff browser (cookie jar) and the page's CSRF token."""
    base = f"http://127.0.0.1:{servers.web_port}"
    browser = requests.Session()
    form = browser.get(f"{base}/login", timeout=30).text
    token = form.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    login = browser.post(
        f"{base}/login",
        data={"csrf_token": token, "username": "anne", "password": STAFF_PASSWORD, "next": "/personale"},
        timeout=30,
    )
    assert login.status_code == 200 and login.url.endswith("/personale"), login.status_code
    csrf = login.text.split('<meta name="csrf-token" content="', 1)[1].split('"', 1)[0]
    return browser, csrf


def staff_send(servers: Servers, browser: requests.Session, csrf: str, message: str) -> list[dict[str, Any]]:
    response = browser.post(
        f"http://127.0.0.1:{servers.web_port}/personale/api/besked",
        json={"message": message, "kommune": "ballerup"},
        headers={"X-CSRF-Token": csrf},
        timeout=60,
    )
    assert response.status_code == 200, (response.status_code, response.text[:300])
    messages: list[dict[str, Any]] = response.json()["messages"]
    return messages


def test_restarted_web_app_keeps_citizen_and_staff_conversations(servers: Servers) -> None:
    """The citizen's id is the page's (chat.js keeps it); the staff conversation is bound to the
    login session's cookie, encrypted with the session key: both outlive a SIGKILLed web app."""
    citizen = Conversation(servers, web=True)
    assert custom(citizen.send("min søn på 8 har cerebral parese"), "question")["fact"] == "hospital_stay"
    browser, csrf = staff_login(servers)
    assert custom(staff_send(servers, browser, csrf, "jeg er 80 og lige kommet hjem fra sygehuset"), "question")[
        "fact"
    ] == "rehab_plan"

    servers.kill_web()
    servers.start_web()

    assert custom(citizen.send("nej"), "question")["fact"] == "special_training_need"
    citizen.assert_nothing_lost_or_twice()
    after = staff_send(servers, browser, csrf, "ja")
    assert custom(after, "outcome")["offer"] == "rehabilitation", "the same staff conversation, not a new one"
