"""scripts/run.sh, what `make run` starts after setting up: the action server, the web app and
Rasa on the ports asked for, wired to each other, and all stopped together.

Ports other than the defaults (so that it runs beside anything else): the web app must call
this Rasa and Rasa this action server (run.sh once wired them to 5005 and 5055 whatever the
ports). Databases, accounts and keys of the test's own; one Sanic worker (tests/conversation/
test_workers.py runs two).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.live import MODEL, ROOT, free_port, post_json

pytestmark = pytest.mark.rasa


def test_run_sh_starts_a_bot_that_answers_on_the_ports_asked_for_and_stops_whole(tmp_path: Path) -> None:
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` (make test does)")
    rasa_port, actions_port, web_port = free_port(), free_port(), free_port()
    endpoints = tmp_path / "endpoints.yml"  # endpoints.yml as shipped, its databases in tmp_path
    endpoints.write_text(
        (ROOT / "endpoints.yml")
        .read_text(encoding="utf-8")
        .replace('"var/tracker.db"', f'"{tmp_path / "tracker.db"}"')
        .replace('"var/locks.db"', f'"{tmp_path / "locks.db"}"'),
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "RASA_PORT": str(rasa_port),
        "ACTIONS_PORT": str(actions_port),
        "TRAENINGSGUIDEN_WEB_PORT": str(web_port),
        "ENDPOINTS": str(endpoints),
        "SANIC_WORKERS": "1",
        "TRAENINGSGUIDEN_ACCOUNTS": str(tmp_path / "accounts.yml"),
        "TRAENINGSGUIDEN_DRAFT_DATABASE_URL": f"sqlite:///{tmp_path / 'drafts.db'}",
        "TRAENINGSGUIDEN_TRACKER_DATABASE_URL": f"sqlite:///{tmp_path / 'tracker.db'}",
        "TRAENINGSGUIDEN_DRAFT_KEY": Fernet.generate_key().decode(),
        "TRAENINGSGUIDEN_SESSION_KEY": Fernet.generate_key().decode(),
        "TRAENINGSGUIDEN_ANALYTICS_DATABASE_URL": f"sqlite:///{tmp_path / 'analytics.db'}",
    }
    env.pop("TRAENINGSGUIDEN_RASA_URL", None)
    log = tmp_path / "run.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["scripts/run.sh"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 400
        while b"is running on localhost" not in log.read_bytes():
            assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, "run.sh did not say it was running"
            time.sleep(1)
        body = {"sender": "r" * 32, "message": "min mor på 84 er lige kommet hjem fra sygehuset", "kommune": "ballerup"}
        status, answer = post_json(f"http://127.0.0.1:{web_port}/api/besked", body)
        assert status == 200, answer  # the web app reached this Rasa, and Rasa this action server
        messages = json.loads(answer)["messages"]
        assert any(m.get("custom", {}).get("question") for m in messages), messages
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # Ctrl-C's twin: the script stops what it started
        proc.wait(timeout=60)
    time.sleep(1)
    left = subprocess.run(["pgrep", "-f", f"--port {rasa_port}|--port {actions_port}"], capture_output=True)
    assert left.stdout == b"", left.stdout
