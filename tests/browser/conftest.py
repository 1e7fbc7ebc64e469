"""A real browser (Debian's /usr/bin/chromium through Playwright) against the real servers.

`live`: the action server, our web app and Rasa with the trained model (tests.live),
with a staff account and an allowed embedding origin (`municipal_site`'s). `offline` and `limited`: our
web app alone, its Rasa URL pointing at a port where nothing listens (bot down), the
second with a rate limit of 2 messages a minute.

Chromium and axe-core (npm ci) are required under CI=true and skipped on a laptop
without them; `make test` installs both.
"""

from __future__ import annotations

import functools
import http.server
import os
import threading
from pathlib import Path
from typing import Iterator, NamedTuple

import pytest
from cryptography.fernet import Fernet
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from bot.web.auth import Account, hash_password, save_accounts
from tests.live import MODEL, ROOT, Servers

CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# The machine's network is closed: without these Chromium waits on refused connections.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STAFF_USER = "anne"
STAFF_PASSWORD = "korrekt hest batteri 1"
STAFF_INITIALS = "AB"


class MunicipalSite(NamedTuple):
    """Static pages on loopback standing in for municipal sites; tests write pages into `root`."""

    root: Path
    embedding: str  # an origin allowed to frame the chat (frame-ancestors)
    other: str  # the same pages from another origin: not allowed


def require_chromium() -> None:
    """Skip on a laptop without chromium or axe-core; fail under CI=true, where `make test` installs them."""
    missing = [str(path) for path in (CHROMIUM, AXE) if not path.exists()]
    if not missing:
        return
    hint = "run `make browser` (apt-get install chromium; npm ci)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{', '.join(missing)} missing under CI: {hint}")
    pytest.skip(f"{', '.join(missing)} missing: {hint}")


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    require_chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def _write_accounts(path: Path) -> None:
    staff = Account(STAFF_USER, "Anne Berg", STAFF_INITIALS, frozenset({"staff"}), hash_password(STAFF_PASSWORD))
    save_accounts(path, {STAFF_USER: staff})


def _web_env(workdir: Path, site: MunicipalSite, **extra: str) -> dict[str, str]:
    accounts = workdir / "accounts.yml"
    _write_accounts(accounts)
    return {
        "TRAENINGSGUIDEN_ACCOUNTS": str(accounts),
        "TRAENINGSGUIDEN_SESSION_KEY": Fernet.generate_key().decode(),
        "TRAENINGSGUIDEN_EMBED_ORIGINS": site.embedding,
        **extra,
    }


@pytest.fixture(scope="package")
def live(
    tmp_path_factory: pytest.TempPathFactory, browser: Browser, municipal_site: MunicipalSite
) -> Iterator[Servers]:
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` (make test does)")
    workdir = tmp_path_factory.mktemp("browser-live")
    # every test comes from 127.0.0.1: the limit itself is tested on `limited`
    env = _web_env(workdir, municipal_site, TRAENINGSGUIDEN_RATE_LIMIT_PER_MINUTE="1000")
    with Servers(workdir, env).running() as running:
        yield running


def _web_only(workdir: Path, site: MunicipalSite, **extra: str) -> Iterator[Servers]:
    running = Servers(workdir, _web_env(workdir, site, TRAENINGSGUIDEN_RASA_TIMEOUT_SECONDS="5", **extra))
    try:
        running.start_web()  # Rasa is never started: its port refuses connections
        yield running
    finally:
        running.stop_web()


@pytest.fixture(scope="package")
def offline(
    tmp_path_factory: pytest.TempPathFactory, browser: Browser, municipal_site: MunicipalSite
) -> Iterator[Servers]:
    yield from _web_only(tmp_path_factory.mktemp("browser-offline"), municipal_site)


@pytest.fixture(scope="package")
def limited(
    tmp_path_factory: pytest.TempPathFactory, browser: Browser, municipal_site: MunicipalSite
) -> Iterator[Servers]:
    yield from _web_only(
        tmp_path_factory.mktemp("browser-limited"), municipal_site, TRAENINGSGUIDEN_RATE_LIMIT_PER_MINUTE="2"
    )


@pytest.fixture(scope="package")
def municipal_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MunicipalSite]:
    """The same static pages from two origins on loopback, each server on the port it bound (0: any free)."""
    root = tmp_path_factory.mktemp("municipal-site")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    servers = [http.server.ThreadingHTTPServer((host, 0), handler) for host in ("127.0.0.2", "127.0.0.3")]
    embedding, other = (f"http://{s.server_address[0]}:{s.server_address[1]}" for s in servers)
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield MunicipalSite(root, embedding, other)
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


class Problems:
    """Script errors and CSP violations seen by a page; none are allowed."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            self.seen.append(f"console: {message.text}")

    def page_error(self, error: Exception) -> None:
        self.seen.append(f"page error: {error}")


@pytest.fixture()
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="da-DK")
    context.set_default_timeout(30_000)
    opened = context.new_page()
    problems = Problems()
    context.on("console", problems.console)
    opened.on("pageerror", problems.page_error)
    try:
        yield opened
    finally:
        context.close()
    assert not problems.seen, problems.seen
