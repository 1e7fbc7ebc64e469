"""The draft web pages (aiohttp, no Rasa): HTML, PDF, JSON, deletion, 404s that leak nothing, headers."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Awaitable, Callable, TypeVar

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient, TestServer
from cryptography.fernet import Fernet
from pypdf import PdfReader

from bot.config import Settings
from bot.drafts.store import CreatedDraft, DraftStore
from bot.web.app import create_app
from bot.web.drafts import redact
from tests.drafts.helpers import FAKE_CPR, NOW, sample_input
from tests.live import free_port, port_taken

T = TypeVar("T")
HOSTILE_NAME = 'Ida <script>alert("x")</script> "Test"'
PROJECT = Path(__file__).resolve().parents[2]


class Site:
    """A database with drafts in it, and the app config that serves it."""

    def __init__(self, tmp_path: Path) -> None:
        self.key = Fernet.generate_key()
        self.url = f"sqlite:///{tmp_path / 'drafts.db'}"
        self.db_path = tmp_path / "drafts.db"
        self.store = DraftStore(self.url, key=self.key)
        self.config = Settings(database_url=self.url, base_url="", key=self.key)

    def create(self, key: str, *, now: dt.datetime | None = None, **changes: Any) -> CreatedDraft:
        return self.store.create(sample_input(**changes), key, now or dt.datetime.now(dt.timezone.utc))

    def count(self) -> int:
        with self.store.engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT COUNT(*) FROM drafts")).scalar_one())

    def run(self, scenario: Callable[[TestClient], Awaitable[T]], config: Settings | None = None) -> T:
        async def main() -> T:
            async with TestClient(TestServer(create_app(config or self.config))) as client:
                return await scenario(client)

        return asyncio.run(main())


@pytest.fixture
def site(tmp_path: Path) -> Any:
    made = Site(tmp_path)
    yield made
    made.store.close()


async def fetch(client: TestClient, method: str, path: str) -> tuple[int, dict[str, str], bytes]:
    async with client.request(method, path, allow_redirects=False) as response:
        return response.status, dict(response.headers), await response.read()


def assert_security_headers(headers: dict[str, str]) -> None:
    csp = headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "script-src" not in csp and "unsafe-inline" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "no-store"


def test_a_valid_token_shows_the_draft_page(site: Site) -> None:
    created = site.create("page", person_name=HOSTILE_NAME, need_description=f"Cpr {FAKE_CPR}, CP.")
    status, headers, body = site.run(lambda c: fetch(c, "GET", f"/udkast/{created.token}"))
    html = body.decode()
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert '<html lang="da">' in html and created.reference in html and "Udkast – ikke sendt" in html
    assert "<script" not in html and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &#34;Test&#34;" in html
    assert "010116" not in html
    assert f'action="/udkast/{created.token}/slet"' in html
    assert_security_headers(headers)


def test_the_inline_stylesheet_is_allowed_by_its_hash_only(site: Site) -> None:
    created = site.create("css")
    _, headers, body = site.run(lambda c: fetch(c, "GET", f"/udkast/{created.token}"))
    match = re.search(r"<style>(.*?)</style>", body.decode(), re.DOTALL)
    assert match is not None
    digest = base64.b64encode(hashlib.sha256(match.group(1).encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in headers["Content-Security-Policy"]


def test_pdf_and_json_downloads(site: Site) -> None:
    created = site.create("downloads", person_name=HOSTILE_NAME)

    async def scenario(client: TestClient) -> list[tuple[int, dict[str, str], bytes]]:
        return [
            await fetch(client, "GET", f"/udkast/{created.token}.pdf"),
            await fetch(client, "GET", f"/udkast/{created.token}.json"),
        ]

    (pdf_status, pdf_headers, pdf), (json_status, json_headers, data) = site.run(scenario)
    assert pdf_status == 200 and pdf_headers["Content-Type"] == "application/pdf"
    assert pdf_headers["Content-Disposition"] == f'attachment; filename="{created.reference}.pdf"'
    text = " ".join((page.extract_text() or "") for page in PdfReader(io.BytesIO(pdf)).pages)
    assert created.reference in text and HOSTILE_NAME in " ".join(text.split())
    assert json_status == 200 and json_headers["Content-Type"] == "application/json; charset=utf-8"
    exported = json.loads(data)
    assert exported["reference"] == created.reference and exported["person"]["name"] == HOSTILE_NAME
    assert_security_headers(pdf_headers)
    assert_security_headers(json_headers)


def test_unknown_expired_and_malformed_tokens_get_the_same_404_that_leaks_nothing(site: Site) -> None:
    live = site.create("live", person_name="Bo Fiktiv")
    expired = site.create("expired", now=dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=31))
    wrong = live.token[:-4] + ("AAAA" if not live.token.endswith("AAAA") else "BBBB")
    paths = [
        f"/udkast/{wrong}",
        f"/udkast/{expired.token}",
        f"/udkast/{expired.token}.pdf",
        f"/udkast/{wrong}.json",
        "/udkast/kort",
        f"/udkast/{live.reference}",
        "/udkast/",
    ]

    async def scenario(client: TestClient) -> list[tuple[int, dict[str, str], bytes]]:
        return [await fetch(client, "GET", path) for path in paths]

    responses = site.run(scenario)
    bodies = {body for _, _, body in responses}
    assert len(bodies) == 1  # the same page whatever the reason
    (page,) = bodies
    html = page.decode()
    assert "Udkastet findes ikke" in html and '<html lang="da">' in html
    for secret in (wrong, expired.token, live.token, live.reference, expired.reference, "Bo Fiktiv"):
        assert secret not in html
    for status, headers, _ in responses:
        assert status == 404
        assert_security_headers(headers)


def test_an_unknown_address_is_the_sites_404_not_a_drafts(site: Site) -> None:
    """Any other address says the page does not exist and links to the chat, not "Udkastet findes ikke"."""

    async def scenario(client: TestClient) -> list[tuple[int, dict[str, str], bytes]]:
        return [await fetch(client, "GET", path) for path in ("/findes-ikke", "/analyse/x/y/z", "/udkastet", "/udkast/../../etc/passwd")]

    for status, headers, body in site.run(scenario):
        html = body.decode()
        assert status == 404
        assert "Siden findes ikke" in html and "Udkast" not in html
        assert '<a href="/">Gå til Træningsguiden</a>' in html and '<html lang="da">' in html
        assert_security_headers(headers)


def test_delete_removes_the_draft_and_confirms_in_danish(site: Site) -> None:
    created = site.create("delete-me")
    kept = site.create("keep-me")

    async def scenario(client: TestClient) -> list[tuple[int, dict[str, str], bytes]]:
        return [
            await fetch(client, "POST", f"/udkast/{created.token}/slet"),
            await fetch(client, "GET", f"/udkast/{created.token}"),
            await fetch(client, "POST", f"/udkast/{created.token}/slet"),
            await fetch(client, "GET", f"/udkast/{kept.token}/slet"),
            await fetch(client, "GET", f"/udkast/{kept.token}"),
        ]

    deleted, after, again, wrong_method, other = site.run(scenario)
    assert deleted[0] == 200
    assert "Udkastet er slettet" in deleted[2].decode() and created.reference in deleted[2].decode()
    assert_security_headers(deleted[1])
    assert after[0] == 404 and again[0] == 404
    assert wrong_method[0] == 405
    assert other[0] == 200
    assert site.count() == 1
    assert site.store.get_by_token(created.token, dt.datetime.now(dt.timezone.utc)) is None


def test_expired_drafts_are_purged_on_start_up(site: Site) -> None:
    site.create("old", now=dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=45))
    site.create("fresh")
    assert site.count() == 2

    async def scenario(client: TestClient) -> int:
        for _ in range(100):
            if site.count() == 1:
                break
            await asyncio.sleep(0.02)
        return site.count()

    assert site.run(scenario) == 1


def test_the_clock_decides_expiry(site: Site) -> None:
    created = site.create("clock", now=NOW)
    in_time = Settings(database_url=site.url, base_url="", key=site.key, clock=lambda: NOW)
    too_late = Settings(
        database_url=site.url, base_url="", key=site.key, clock=lambda: NOW + dt.timedelta(days=30)
    )
    assert site.run(lambda c: fetch(c, "GET", f"/udkast/{created.token}"), in_time)[0] == 200
    assert site.run(lambda c: fetch(c, "GET", f"/udkast/{created.token}"), too_late)[0] == 404


def test_no_database_is_opened_before_the_app_starts(tmp_path: Path) -> None:
    db = tmp_path / "later.db"
    create_app(Settings(database_url=f"sqlite:///{db}", key=Fernet.generate_key()))
    assert not db.exists()


def test_tokens_are_redacted_from_logged_paths() -> None:
    assert redact("/udkast/abcDEF123_-xyz.pdf") == "/udkast/[token]"
    assert redact("/udkast/abcDEF123_-xyz/slet") == "/udkast/[token]/slet"
    assert redact("/andet") == "/andet"


def serve_with_python_m_bot_web(env: dict[str, str], port: int, path: str) -> tuple[bytes, str]:
    """Start `python -m bot.web` on `port`, GET `path` once it answers, stop it: the body and its log."""
    server = subprocess.Popen(
        [sys.executable, "-m", "bot.web"],
        cwd=PROJECT,
        env={**env, "TRAENINGSGUIDEN_WEB_PORT": str(port)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    body = b""
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
                    body = r.read()
                break
            except (urllib.error.URLError, ConnectionError):
                if server.poll() is not None:
                    break
                time.sleep(0.2)
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=15)
    return body, output.decode()


def test_python_m_bot_web_serves_on_localhost(tmp_path: Path) -> None:
    key = Fernet.generate_key()
    url = f"sqlite:///{tmp_path / 'drafts.db'}"
    created = DraftStore(url, key=key).create(sample_input(), "cli", dt.datetime.now(dt.timezone.utc))
    env = {
        **os.environ,
        "TRAENINGSGUIDEN_DRAFT_KEY": key.decode(),
        "TRAENINGSGUIDEN_DRAFT_DATABASE_URL": url,
    }
    for attempt in range(3):  # a port another process took before the app bound it: a fresh one
        body, log = serve_with_python_m_bot_web(env, free_port(), f"/udkast/{created.token}")
        if body or attempt == 2 or not port_taken(log):
            break
    assert created.reference.encode() in body
    assert "GET /udkast/[token] 200" in log
    assert created.token not in log
