"""deploy/supervisord.conf, started by deploy/supervisord.sh: a killed process comes back.

The shipped files, unchanged: only the environment file (ports, databases, logs in a tmp
dir, a fresh token and keys) and the endpoints file (the action server's port) are the
test's own. supervisord starts the action server, Rasa with the trained model and the web
app; the action server is killed with SIGKILL and must answer /health again under a new
pid; supervisord then stops everything on SIGTERM.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, Iterator

import pytest
from cryptography.fernet import Fernet

from tests.live import MODEL, ROOT, free_port

CONF = ROOT / "deploy" / "supervisord.conf"
START = ROOT / "deploy" / "supervisord.sh"
SUPERVISORCTL = ROOT / ".venv" / "bin" / "supervisorctl"


class Supervised:
    """supervisord as `deploy/supervisord.sh` runs it, with the test's environment file."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.logs = workdir / "log"
        self.actions_port, self.rasa_port, self.web_port = free_port(), free_port(), free_port()
        token = os.urandom(24).hex()
        endpoints = workdir / "endpoints.yml"
        endpoints.write_text(
            f'action_endpoint:\n  url: "http://127.0.0.1:{self.actions_port}/webhook"\n'
            "  headers:\n    Authorization: Bearer ${TRAENINGSGUIDEN_ACTION_TOKEN}\n"
            "tracker_store:\n  type: bot.rasa_tracker_store.MaskingSQLTrackerStore\n"
            f'  dialect: "sqlite"\n  db: "{workdir / "tracker.db"}"\n',
            encoding="utf-8",
        )
        settings = {
            "TRAENINGSGUIDEN_ACTION_TOKEN": token,
            "TRAENINGSGUIDEN_DRAFT_KEY": Fernet.generate_key().decode(),
            "TRAENINGSGUIDEN_SESSION_KEY": Fernet.generate_key().decode(),
            "TRAENINGSGUIDEN_ACCOUNTS": str(workdir / "accounts.yml"),
            "TRAENINGSGUIDEN_DRAFT_DATABASE_URL": f"sqlite:///{workdir / 'drafts.db'}",
            "TRAENINGSGUIDEN_TRACKER_DATABASE_URL": f"sqlite:///{workdir / 'tracker.db'}",
            "TRAENINGSGUIDEN_WEB_PORT": str(self.web_port),
            "TRAENINGSGUIDEN_BASE_URL": f"http://127.0.0.1:{self.web_port}",
            "TRAENINGSGUIDEN_RASA_URL": f"http://127.0.0.1:{self.rasa_port}",
            "ACTIONS_PORT": str(self.actions_port),
            "RASA_PORT": str(self.rasa_port),
            "ENDPOINTS": str(endpoints),
            "SANIC_WORKERS": "1",  # this endpoints file has no lock store: Rasa would take one anyway
            "TRAENINGSGUIDEN_LOG_DIR": str(self.logs),
        }
        self.env_file = workdir / "env"
        self.env_file.write_text("".join(f"{k}={v}\n" for k, v in settings.items()), encoding="utf-8")
        # What supervisorctl needs to read the same supervisord.conf (its %(ENV_...)s values).
        self.env = {**os.environ, "TRAENINGSGUIDEN_ENV_FILE": str(self.env_file)}
        self.ctl_env = {**self.env, **settings, "TRAENINGSGUIDEN_CONSUMER": "false"}
        self.proc: subprocess.Popen[bytes] | None = None

    @contextlib.contextmanager
    def running(self) -> Iterator[Supervised]:
        with (self.workdir / "supervisord.out").open("wb") as out:
            self.proc = subprocess.Popen(
                [str(START)],
                cwd=self.workdir,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            yield self
        finally:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(90)
                except subprocess.TimeoutExpired:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                    self.proc.wait(10)

    def ctl(self, *args: str) -> str:
        done = subprocess.run(
            [str(SUPERVISORCTL), "-c", str(CONF), *args],
            env=self.ctl_env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return done.stdout.strip()

    def pid(self, program: str) -> int:
        said = self.ctl("pid", program)
        return int(said) if said.isdigit() else 0

    def log(self, name: str) -> str:
        path = self.logs / name
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, OSError):
        return False


def wait_until(condition: Callable[[], bool], *, seconds: float, what: str, supervised: Supervised) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        assert supervised.proc is not None and supervised.proc.poll() is None, "supervisord exited:\n" + (
            supervised.workdir / "supervisord.out"
        ).read_text(errors="replace")
        time.sleep(1)
    status = supervised.ctl("status")
    tail = {
        name: supervised.log(name)[-2000:]
        for name in ("supervisord.log", "actions.log", "web.log", "rasa.log")
    }
    raise AssertionError(f"timed out after {seconds} s waiting for {what}\n{status}\n{tail}")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.skipif(not MODEL.exists(), reason="no trained model (make train)")
def test_supervisord_restarts_a_killed_action_server_and_stops_everything_cleanly(tmp_path: Path) -> None:
    supervised = Supervised(tmp_path)
    health = f"http://127.0.0.1:{supervised.actions_port}/health"
    with supervised.running():
        wait_until(lambda: answers(health), seconds=120, what="the action server", supervised=supervised)
        wait_until(
            lambda: answers(f"http://127.0.0.1:{supervised.web_port}/"),
            seconds=120,
            what="the web app",
            supervised=supervised,
        )
        wait_until(
            lambda: answers(f"http://127.0.0.1:{supervised.rasa_port}/webhooks/rest/"),
            seconds=420,
            what="Rasa with the trained model",
            supervised=supervised,
        )
        pids = {name: supervised.pid(name) for name in ("actions", "rasa", "web")}
        assert all(pids.values()), supervised.ctl("status")
        assert supervised.pid("consumer") == 0  # not in the embedded profile

        os.kill(pids["actions"], signal.SIGKILL)
        wait_until(
            lambda: not alive(pids["actions"]),
            seconds=30,
            what="the action server gone",
            supervised=supervised,
        )
        wait_until(
            lambda: supervised.pid("actions") not in (0, pids["actions"]) and answers(health),
            seconds=120,
            what="the action server restarted and answering",
            supervised=supervised,
        )
        assert "exited: actions (terminated by SIGKILL" in supervised.log("supervisord.log")
        assert {name: supervised.pid(name) for name in ("rasa", "web")} == {
            "rasa": pids["rasa"],
            "web": pids["web"],
        }  # the others were left alone
        running = [supervised.pid(name) for name in ("actions", "rasa", "web")]

        assert supervised.proc is not None
        supervised.proc.send_signal(signal.SIGTERM)
        assert supervised.proc.wait(90) == 0
    assert not [pid for pid in running if alive(pid)]
    for port in (supervised.actions_port, supervised.rasa_port, supervised.web_port):
        assert not answers(f"http://127.0.0.1:{port}/")
    said = supervised.log("supervisord.log")
    assert all(f"stopped: {name} (exit status 0)" in said for name in ("actions", "rasa", "web")), said[
        -3000:
    ]
