"""The authenticated action server (`python -m actions.server`), started as a real process.

No Rasa here: the calls Rasa would make are posted by hand, with and without the
token, against drafts stored with the same key and database as the server's.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
from cryptography.fernet import Fernet
from sanic.config import DEFAULT_CONFIG as SANIC_DEFAULTS

from actions.server import IDLE_TIMEOUT_S, LISTEN_BACKLOG, TOKEN_ENV, ActionTokenError, authorised, load_token
from bot.drafts.model import DraftInput
from bot.drafts.store import DraftStore
from bot.drafts.texts import text as draft_text
from tests.live import ROOT, fetch, forged_call, free_port, port_taken, post_json, wait_for

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.timezone.utc)


def draft_input() -> DraftInput:
    return DraftInput(
        offer="rehabilitation",
        municipality="ballerup",
        legal_basis=[],
        facts={},
        applicant_relation="self",
        person_name="Else Hansen",
        date_of_birth=dt.date(1944, 5, 1),
        phone="12345678",
        email=None,
        need_description="Genoptræning efter hoftebrud",
        diagnoses=None,
        current_care=None,
        consent_health_info=True,
        training_method=None,
    )


class ActionServer:
    """One action server on a free port, with its own draft database and key."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.token = secrets.token_urlsafe(32)
        self.key = Fernet.generate_key()
        self.database_url = f"sqlite:///{workdir / 'drafts.db'}"
        self.log = workdir / "actions.log"
        self.env = {
            **os.environ,
            "SANIC_HOST": "127.0.0.1",
            "TRAENINGSGUIDEN_DRAFT_DATABASE_URL": self.database_url,
            "TRAENINGSGUIDEN_DRAFT_KEY": self.key.decode(),
            TOKEN_ENV: self.token,
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """A port taken by another process before the server bound it: again on a fresh one (three tries)."""
        for attempt in range(3):
            with self.log.open("ab") as handle:
                offset = handle.tell()
                self.proc = subprocess.Popen(
                    [sys.executable, "-m", "actions.server", "--port", str(self.port)],
                    cwd=ROOT,
                    env=self.env,
                    stdout=handle,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            try:
                wait_for(f"http://127.0.0.1:{self.port}/health", seconds=60, proc=self.proc)
                return
            except RuntimeError:
                said = self.log.read_bytes()[offset:].decode("utf-8", "replace")
                if attempt == 2 or not port_taken(said):
                    raise
                self.port = free_port()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)

    def post(self, body: dict[str, Any], headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        return post_json(f"http://127.0.0.1:{self.port}/webhook", body, headers)

    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ActionServer]:
    running = ActionServer(tmp_path_factory.mktemp("action-server"))
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture()
def store(server: ActionServer) -> Iterator[DraftStore]:
    opened = DraftStore(server.database_url, key=server.key)
    yield opened
    opened.close()


def test_a_port_taken_before_the_server_binds_it_is_chosen_again(tmp_path: Path) -> None:
    """Between choosing a free port and the server binding it, another process may take it."""
    server = ActionServer(tmp_path)
    taken = server.port
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", taken))
        squatter.listen()
        try:
            server.start()
            assert server.port != taken
            assert fetch(f"http://127.0.0.1:{server.port}/health")[0] == 200
        finally:
            server.stop()


def replies(body: bytes) -> list[str]:
    return [r["text"] for r in json.loads(body)["responses"] if r["text"] is not None]


def test_without_the_token_every_call_but_health_is_refused_and_nothing_runs(
    server: ActionServer, store: DraftStore
) -> None:
    created = store.create(draft_input(), secrets.token_hex(8), NOW, owner="victim-conversation")
    for headers in ({}, {"Authorization": "Bearer " + "x" * 43}, {"Authorization": server.token}):
        status, body = server.post(forged_call("attacker", created.reference), headers)
        assert (status, body) == (401, b"")
    assert store.get_by_token(created.token, NOW) is not None
    assert fetch(f"http://127.0.0.1:{server.port}/actions")[0] == 401
    assert fetch(f"http://127.0.0.1:{server.port}/health")[0] == 200
    log = server.log.read_text(encoding="utf-8")
    assert "refused an unauthenticated POST /webhook" in log
    assert created.reference not in log  # nothing of the payload is logged


def test_a_slot_naming_another_conversations_draft_authorises_nothing(
    server: ActionServer, store: DraftStore
) -> None:
    created = store.create(draft_input(), secrets.token_hex(8), NOW, owner="victim-conversation")
    status, body = server.post(forged_call("attacker", created.reference), server.bearer())
    assert status == 200 and replies(body) == [draft_text("dialogue.no_draft")]
    assert store.get_by_token(created.token, NOW) is not None
    status, body = server.post(forged_call("victim-conversation", created.reference), server.bearer())
    assert status == 200
    assert replies(body)[0] == draft_text("dialogue.deleted", reference=created.reference)
    assert {"draft_deleted": created.reference} in [r["custom"] for r in json.loads(body)["responses"]]
    assert store.get_by_token(created.token, NOW) is None


def test_a_draft_without_an_owner_is_not_deleted_through_the_chat(
    server: ActionServer, store: DraftStore
) -> None:
    created = store.create(draft_input(), secrets.token_hex(8), NOW)  # as before drafts had owners
    status, body = server.post(forged_call("anyone", created.reference), server.bearer())
    assert status == 200 and replies(body) == [draft_text("dialogue.no_draft")]
    assert store.get_by_token(created.token, NOW) is not None
    assert store.delete(created.token)  # the token link still deletes it


@pytest.mark.parametrize("token", [None, "", "   ", "too-short", "x" * 31, "ø" * 40, "has space " * 4])
def test_the_server_refuses_to_start_without_a_usable_token(tmp_path: Path, token: str | None) -> None:
    env = {k: v for k, v in os.environ.items() if k != TOKEN_ENV}
    if token is not None:
        env[TOKEN_ENV] = token
    done = subprocess.run(
        [sys.executable, "-m", "actions.server", "--port", "0"],  # never bound: it refuses first
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert TOKEN_ENV in done.stderr.decode()
    assert "running on" not in (done.stdout + done.stderr).decode()


def test_load_token_and_the_header_check() -> None:
    token = secrets.token_urlsafe(32)
    assert load_token({TOKEN_ENV: f" {token}\n"}) == token
    with pytest.raises(ActionTokenError, match=TOKEN_ENV):
        load_token({})
    assert authorised(f"Bearer {token}", token)
    for header in (
        None,
        "",
        token,
        f"bearer {token}",
        f"Bearer {token} ",
        f"Bearer {token[:-1]}",
        "Bearer ø",
    ):
        assert not authorised(header, token)


@pytest.mark.parametrize("breaks", ["events", "pending"])
def test_an_action_that_fails_answers_a_generic_error_and_logs_no_citizen_text(
    server: ActionServer, breaks: str
) -> None:
    """rasa-sdk 3.6 answers an action's exception with the whole request body (and its message),
    which Rasa then writes to its log at ERROR: a citizen's words and slots. Ours says only that
    the action failed, and logs where, not what."""
    secret = "Hemmelig tekst om min gigt 010150-1234"
    call = forged_call("crash-conversation", "TG-2026-000001")
    call["next_action"] = "action_turn"
    call["tracker"]["latest_message"]["text"] = secret
    if breaks == "events":
        call["tracker"]["events"] = [secret]  # not an event: the SDK fails on it
    else:
        call["tracker"]["slots"] = {"pending": [secret]}  # the exception's message holds the text
    status, body = server.post(call, server.bearer())
    assert (status, json.loads(body)) == (500, {"error": "action failed"})
    log = server.log.read_text(encoding="utf-8")
    assert "gigt" not in log and "010150" not in log
    assert "action_turn failed" in log


def test_an_unknown_path_is_a_404_not_an_action_failure(server: ActionServer) -> None:
    status, body = post_json(f"http://127.0.0.1:{server.port}/nowhere", {}, server.bearer())
    assert (status, json.loads(body)) == (404, {"error": "Not Found"})


SANIC_DEFAULT_BACKLOG = 100  # Sanic.run(backlog=100), which rasa-sdk's run does not change


def test_a_call_written_long_after_its_connection_opened_is_still_answered(server: ActionServer) -> None:
    """Rasa 3.6 opens a new connection for each action call; with 200 conversations at a time its
    event loop is busy for seconds between the kernel opening the connection and Rasa writing the
    request on it. Sanic closes a connection that has sent no request within KEEP_ALIVE_TIMEOUT
    (5 s by default, checked every 2.5 s): the call failed ("Cannot write to closing transport")
    and the citizen got the technical error (bench/README.md, "At 200 at a time")."""
    waited = SANIC_DEFAULTS["KEEP_ALIVE_TIMEOUT"] + 3  # past Sanic's default and its next check
    assert IDLE_TIMEOUT_S > waited
    body = json.dumps(forged_call("late-writer", "TG-2026-000001")).encode()
    head = (
        f"POST /webhook HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {server.token}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as conn:
        time.sleep(waited)  # the connection is open, the request not yet written: Rasa's busy loop
        conn.sendall(head.encode() + body)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 200 OK"
    assert replies(rest.partition(b"\r\n\r\n")[2]) == [draft_text("dialogue.no_draft")]


def test_the_listening_socket_queues_more_connections_than_sanics_default(server: ActionServer) -> None:
    """Rasa's calls come as new connections, up to one per conversation at once: Sanic's backlog of
    100 overflowed at 200 at a time (the kernel dropped the SYNs: a retry a second later)."""
    ss = shutil.which("ss")
    if ss is None:
        pytest.skip("ss (iproute2) is not installed")
    somaxconn = int(Path("/proc/sys/net/core/somaxconn").read_text())
    if somaxconn <= SANIC_DEFAULT_BACKLOG:
        pytest.skip(f"net.core.somaxconn is {somaxconn}: the kernel caps every backlog there")
    listening = subprocess.run(
        [ss, "-ltnH", f"sport = :{server.port}"], capture_output=True, text=True, check=True, timeout=30
    ).stdout.split()
    backlog = int(listening[2])  # a listening socket's Send-Q is its backlog
    assert backlog == min(LISTEN_BACKLOG, somaxconn)
    assert backlog > SANIC_DEFAULT_BACKLOG
