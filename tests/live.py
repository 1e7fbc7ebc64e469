"""Real servers on localhost: the action server, our web app and Rasa with the trained model.

Shared by every test package that talks to the running bot (conversation, browser,
analytics); each `Servers` has its own ports, databases and logs in `workdir`.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterator, Mapping

import sqlalchemy as sa
import yaml
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "current.tar.gz"
PG_URL = "postgresql://postgres@127.0.0.1:5432/test"  # this machine's PostgreSQL (trust auth)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, *, seconds: float, proc: subprocess.Popen[bytes], accept_status: int = 200) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError as e:
            if e.code == accept_status:
                return
            time.sleep(0.5)
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer within {seconds} s")


class PortTaken(RuntimeError):
    """A server could not bind the port chosen for it: another process took it first."""


def port_taken(output: str) -> bool:
    """A server's output says it could not bind its port: another process took it first."""
    said = output.lower()
    return "address already in use" in said or "errno 98" in said


class Servers:
    """Start, stop and restart the action server and Rasa independently."""

    def __init__(self, workdir: Path, extra_env: Mapping[str, str] | None = None) -> None:
        self.workdir = workdir
        self.extra_env = dict(extra_env or {})
        self.rasa_port = self.actions_port = self.web_port = 0
        self.endpoints = workdir / "endpoints.yml"
        self.tracker_db = workdir / "tracker.db"
        self.action_token = secrets.token_urlsafe(32)
        self.draft_key = Fernet.generate_key().decode()
        self.env: dict[str, str] = {}
        self._choose_ports()
        self.endpoints.write_text(  # the token as in endpoints.yml: a header from the environment
            f'action_endpoint:\n  url: "{self.actions_url}"\n  enable_selective_domain: true\n'
            "  headers:\n    Authorization: Bearer ${TRAENINGSGUIDEN_ACTION_TOKEN}\n"
            f'tracker_store:\n  type: bot.rasa_tracker_store.MaskingSQLTrackerStore\n  dialect: "sqlite"\n  db: "{self.tracker_db}"\n',
            encoding="utf-8",
        )
        self.actions: subprocess.Popen[bytes] | None = None
        self.web: subprocess.Popen[bytes] | None = None
        self.rasa: subprocess.Popen[bytes] | None = None
        self._log_offsets: dict[str, int] = {}

    @property
    def actions_url(self) -> str:
        return f"http://127.0.0.1:{self.actions_port}/webhook"

    def _choose_ports(self) -> None:
        """Fresh ports for all three servers, in the environment and in the endpoints file.

        A port found free here can be taken by another process before our server binds it; the
        server then exits with "address already in use" and `running()` chooses again (`PortTaken`).
        """
        old_actions_url = self.actions_url
        self.rasa_port, self.actions_port, self.web_port = free_port(), free_port(), free_port()
        self.env = {
            **os.environ,
            "SANIC_HOST": "127.0.0.1",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
            "TRAENINGSGUIDEN_DRAFT_DATABASE_URL": f"sqlite:///{self.workdir / 'drafts.db'}",
            "TRAENINGSGUIDEN_WEB_PORT": str(self.web_port),
            "TRAENINGSGUIDEN_BASE_URL": f"http://127.0.0.1:{self.web_port}",
            "TRAENINGSGUIDEN_DRAFT_KEY": self.draft_key,
            "TRAENINGSGUIDEN_RASA_URL": f"http://127.0.0.1:{self.rasa_port}",
            "TRAENINGSGUIDEN_TRACKER_DATABASE_URL": f"sqlite:///{self.tracker_db}",
            "TRAENINGSGUIDEN_ACTION_TOKEN": self.action_token,
            **self.extra_env,
        }
        if self.endpoints.exists():  # written by us or rewritten by the test (scale profile, broker)
            text = self.endpoints.read_text(encoding="utf-8")
            self.endpoints.write_text(text.replace(old_actions_url, self.actions_url), encoding="utf-8")

    def _spawn(self, args: list[str], log: str) -> subprocess.Popen[bytes]:
        with (self.workdir / log).open("ab") as handle:  # the child keeps its own descriptor
            self._log_offsets[log] = handle.tell()
            return subprocess.Popen(
                args, cwd=ROOT, env=self.env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
            )

    def _wait(
        self, url: str, proc: subprocess.Popen[bytes], log: str, *, seconds: float, accept_status: int = 200
    ) -> None:
        """Wait for the server; `PortTaken` if it died because its port was taken meanwhile."""
        try:
            wait_for(url, seconds=seconds, proc=proc, accept_status=accept_status)
        except RuntimeError:
            with (self.workdir / log).open("rb") as handle:
                handle.seek(self._log_offsets.get(log, 0))
                said = handle.read().decode("utf-8", "replace")
            if port_taken(said):
                raise PortTaken(f"{log}: port taken") from None
            raise

    def start_actions(self) -> None:
        self.actions = self._spawn(
            [
                sys.executable,
                "-m",
                "actions.server",
                "--actions",
                "actions",
                "--port",
                str(self.actions_port),
            ],
            "actions.log",
        )
        self._wait(f"http://127.0.0.1:{self.actions_port}/health", self.actions, "actions.log", seconds=60)

    def start_web(self) -> None:
        self.web = self._spawn([sys.executable, "-m", "bot.web"], "web.log")
        self._wait(
            f"http://127.0.0.1:{self.web_port}/udkast/unknown-token-for-health",
            self.web,
            "web.log",
            seconds=60,
            accept_status=404,
        )

    def start_rasa(self) -> None:
        rasa = str(Path(sys.executable).with_name("rasa"))
        self.rasa = self._spawn(
            [
                rasa,
                "run",
                "--model",
                str(MODEL),
                "--endpoints",
                str(self.endpoints),
                "--credentials",
                "credentials.yml",
                "-i",
                "127.0.0.1",
                "--port",
                str(self.rasa_port),
            ],
            "rasa.log",
        )
        self._wait(f"http://127.0.0.1:{self.rasa_port}/webhooks/rest/", self.rasa, "rasa.log", seconds=300)
        self._wait_for_workers(int(self.env.get("SANIC_WORKERS") or 1), seconds=300)

    def _wait_for_workers(self, workers: int, *, seconds: float) -> None:
        """With several Sanic workers the first one up answers alone: wait until each has loaded the
        model (Rasa logs "Rasa server is up and running." in each worker, then it serves)."""
        deadline = time.monotonic() + seconds
        while self.rasa_workers_started() < workers:
            if time.monotonic() > deadline or (self.rasa is not None and self.rasa.poll() is not None):
                raise RuntimeError(f"{workers} Rasa workers did not start within {seconds} s")
            time.sleep(0.5)

    def rasa_workers_started(self) -> int:
        """How many Sanic workers of the current Rasa have loaded the model, by rasa.log."""
        with (self.workdir / "rasa.log").open("rb") as handle:
            handle.seek(self._log_offsets.get("rasa.log", 0))
            return handle.read().count(b"Rasa server is up and running.")

    @staticmethod
    def _stop(proc: subprocess.Popen[bytes] | None) -> None:
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

    @staticmethod
    def _kill(proc: subprocess.Popen[bytes] | None) -> None:
        """SIGKILL the server and its children (a crash: no shutdown handler runs, nothing is flushed)."""
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def kill_actions(self) -> None:
        self._kill(self.actions)

    def kill_rasa(self) -> None:
        self._kill(self.rasa)

    def kill_web(self) -> None:
        self._kill(self.web)

    def stop_actions(self) -> None:
        self._stop(self.actions)

    def stop_rasa(self) -> None:
        self._stop(self.rasa)

    def stop_web(self) -> None:
        self._stop(self.web)

    @contextlib.contextmanager
    def running(self) -> Iterator[Servers]:
        """The action server, the web app and Rasa; all stopped at the end, whatever happened.

        A port taken between choosing it and binding it: everything stops and starts again on
        fresh ports (three tries). A restart (`stop_rasa()`, `start_rasa()`) keeps the port.
        """
        try:
            for attempt in range(3):
                try:
                    self.start_actions()
                    self.start_web()
                    self.start_rasa()
                    break
                except PortTaken:
                    self.stop_all()
                    if attempt == 2:
                        raise
                    self._choose_ports()
            yield self
        finally:
            self.stop_all()

    def stop_all(self) -> None:
        self.stop_rasa()
        self.stop_web()
        self.stop_actions()

    def send(self, sender: str, message: str, metadata: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        body = json.dumps({"sender": sender, "message": message, "metadata": metadata or {}}).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.rasa_port}/webhooks/rest/webhook",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=120) as response:
            result: list[dict[str, Any]] = json.load(response)
        return result


def fetch(url: str) -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read(), response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers.get("Content-Type", "")


def post_json(url: str, body: Any, headers: Mapping[str, str] | None = None) -> tuple[int, bytes]:
    """POST `body` as JSON; the status and body, error statuses included."""
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        with e:
            return e.code, e.read()


# The scale profile's services on this machine (endpoints.scale.yml reads these variables).
SCALE_ENV = {
    "TRACKER_HOST": "127.0.0.1",
    "TRACKER_PORT": "5432",
    "TRACKER_DB": "test",
    "TRACKER_USER": "postgres",
    "REDIS_HOST": "127.0.0.1",
    "REDIS_PORT": "6379",
    "RABBITMQ_HOST": "127.0.0.1",
    "RABBITMQ_PORT": "5672",
    "RABBITMQ_USER": "guest",
    "RABBITMQ_PASSWORD": "guest",
}


def forged_call(sender_id: str, reference: str) -> dict[str, Any]:
    """The forged action-server call of issue 10: `action_delete_draft` with a guessed reference
    in the `draft` slot, as anyone who can reach the action server could send it."""
    return {
        "next_action": "action_delete_draft",
        "sender_id": sender_id,
        "version": "3.6.21",
        "domain": {},
        "tracker": {
            "sender_id": sender_id,
            "slots": {"draft": {"reference": reference, "step": None, "fields": {}}},
            "latest_message": {"text": "slet mit udkast", "intent": {"name": "delete_draft"}, "entities": []},
            "events": [],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
    }


@contextlib.contextmanager
def pg_schema(prefix: str) -> Iterator[tuple[str, str]]:
    """A PostgreSQL schema of the test's own and a URL whose search path is it; dropped at the end."""
    schema = f"{prefix}_{secrets.token_hex(5)}"
    with sa.create_engine(PG_URL).begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        yield schema, f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with sa.create_engine(PG_URL).begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))


def write_endpoints(
    servers: Servers, shipped: str, schema: str, *, queue: str | None = None, exchange: str | None = None
) -> dict[str, Any]:
    """`shipped` (endpoints.scale.yml, endpoints.postgres.yml) as shipped, with these servers' action
    server, the test's schema and, for the broker, its own queue and exchange; written for Rasa."""
    endpoints: dict[str, Any] = yaml.safe_load((ROOT / shipped).read_text(encoding="utf-8"))
    endpoints["action_endpoint"]["url"] = servers.actions_url
    endpoints["tracker_store"]["query"] = {"options": f"-csearch_path={schema}"}
    if queue is not None:
        endpoints["event_broker"]["queues"] = [queue]
    if exchange is not None:
        endpoints["event_broker"]["exchange_name"] = exchange
    servers.endpoints.write_text(yaml.safe_dump(endpoints), encoding="utf-8")
    return endpoints


# One conversation's messages sent at once (to several replicas, or to one Rasa's several
# workers), and what the tracker store must then hold: processed one at a time, in order.


def send_at_once(
    targets: list[tuple[Servers, str]], sender: str
) -> list[tuple[list[dict[str, Any]], float, float]]:
    """Post every (replica, text) from its own thread, released together; each answer with its start and end."""
    barrier = threading.Barrier(len(targets))
    results: list[Any] = [None] * len(targets)

    def post(i: int, servers: Servers, text: str) -> None:
        barrier.wait()
        started = time.monotonic()
        try:
            results[i] = (servers.send(sender, text, {"channel": "citizen"}), started, time.monotonic())
        except Exception as e:  # reported by the assertion below, with the text that failed
            results[i] = e

    threads = [threading.Thread(target=post, args=(i, s, t)) for i, (s, t) in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    failed = {text: r for (_, text), r in zip(targets, results, strict=True) if not isinstance(r, tuple)}
    assert not failed, failed
    return results


def stored_events(url: str, sender: str) -> list[dict[str, Any]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT id, data FROM events WHERE sender_id = :sender ORDER BY id"),
                {"sender": sender},
            ).all()
    finally:
        engine.dispose()
    return [json.loads(data) for _, data in rows]


def turns(events: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The stored events cut before each user message; the events before the first are dropped."""
    cut: list[list[dict[str, Any]]] = []
    for event in events:
        if event["event"] == "user":
            cut.append([])
        if cut:
            cut[-1].append(event)
    return cut


def assert_processed_one_at_a_time(
    url: str,
    sender: str,
    targets: list[tuple[Servers, str]],
    results: list[tuple[list[dict[str, Any]], float, float]],
) -> None:
    """Each message stored once, followed by its own turn and replies, before the next message."""
    answers = {text: answer for (_, text), (answer, _, _) in zip(targets, results, strict=True)}
    # the requests really were in flight together: the first to end ended after another began
    # (an order of events, not a duration)
    first_end = min(ended for _, _, ended in results)
    assert sum(started < first_end for _, started, _ in results) >= 2

    events = stored_events(url, sender)
    stored = turns(events)
    said = [turn[0]["text"] for turn in stored]
    assert sorted(said) == sorted(
        text for _, text in targets
    )  # every message once: none lost, none duplicated
    timestamps = [event["timestamp"] for event in events]
    assert timestamps == sorted(timestamps)  # stored in the order they were processed
    for turn in stored:
        text = turn[0]["text"]
        actions = [e["name"] for e in turn if e["event"] == "action"]
        assert actions == ["action_turn", "action_listen"], (text, actions)  # no other message's turn inside
        assert turn[-1]["event"] == "action" and turn[-1]["name"] == "action_listen", text
        bot_texts = [e["text"] for e in turn if e["event"] == "bot" and e.get("text")]
        answered = [m["text"] for m in answers[text] if m.get("text")]
        assert bot_texts and bot_texts == answered, text  # its own replies, all of them, nobody else's
