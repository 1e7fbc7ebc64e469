"""The analyst pages in Chromium with axe-core: a long message, junk groups and pages, and the
admin's audit log (issue 10).

Our web app alone (no Rasa), served in a thread, reading SQLite stores filled as in
`tests.web.test_analyst_pages`.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Iterator

import pytest
from aiohttp import web
from cryptography.fernet import Fernet
from playwright.sync_api import Browser, Page, expect

from bot.config import Settings
from bot.web import auth
from bot.web.app import create_app
from tests.browser.conftest import AXE
from tests.browser.helpers import assert_accessible as assert_accessible_with_script
from tests.live import free_port
from tests.web.test_analyst_pages import LONG, ingest, missed, save_tracker
from tests.web.test_auth import ANALYST_PASSWORD, write_accounts

ADMIN_PASSWORD = "administratorens lange kode 3"


@pytest.fixture(scope="module")
def analyst_site(tmp_path_factory: pytest.TempPathFactory, browser: Browser) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("browser-analyst")
    analytics = f"sqlite:///{workdir / 'analytics.db'}"
    tracker = f"sqlite:///{workdir / 'tracker.db'}"
    started = time.time() - 3600
    conversations = {f"c{i:03d}": missed(f"Besked nummer {i}", started + 10 * i) for i in range(60)}
    conversations |= {f"s{i}": missed("ssss", started + 700 + i) for i in range(3)}
    conversations["long"] = missed(LONG, started + 800)
    ingest(analytics, conversations)
    save_tracker(tracker, "long", conversations["long"])
    accounts = workdir / "accounts.yml"
    write_accounts(accounts)
    admin = auth.Account("ida", "Ida Lund", "IL", frozenset({"admin"}), auth.hash_password(ADMIN_PASSWORD))
    auth.save_accounts(accounts, {**auth.load_accounts(accounts), "ida": admin})
    settings = Settings(
        database_url=f"sqlite:///{workdir / 'drafts.db'}",
        key=Fernet.generate_key(),
        accounts_file=str(accounts),
        session_key=Fernet.generate_key(),
        tracker_database_url=tracker,
        analytics_database_url=analytics,
    )
    port = free_port()
    loop = asyncio.new_event_loop()  # in a thread of its own: Playwright's sync API has the main thread's
    runner = web.AppRunner(create_app(settings))
    ready = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(timeout=60), "the web app did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        loop.close()


def assert_accessible(page: Page, when: str) -> None:
    """`helpers.assert_accessible` on a page whose CSP allows no script at all (default-src 'none'):
    axe-core is evaluated through the DevTools protocol, which the CSP does not govern."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    assert_accessible_with_script(page, when)


def log_in_as_analyst(
    page: Page, base: str, next_path: str, *, username: str = "lars", password: str = ANALYST_PASSWORD
) -> None:
    page.goto(base + next_path)
    page.get_by_label("Brugernavn").fill(username)
    page.get_by_label("Adgangskode").fill(password)
    page.get_by_role("button", name="Log ind").click()
    page.wait_for_url(f"**{next_path}")


def test_a_long_message_and_the_junk_section_open_by_keyboard_and_pass_axe(
    analyst_site: str, page: Page
) -> None:
    log_in_as_analyst(page, analyst_site, "/analyse/ikke-forstaaet")
    assert_accessible(page, "not understood, closed")
    whole = page.locator("#not-understood details.whole-text")
    expect(whole.locator("div.message")).to_be_hidden()
    whole.locator("summary").focus()
    page.keyboard.press("Enter")
    expect(whole.locator("div.message")).to_be_visible()
    junk = page.locator("#junk-section")
    expect(junk.locator("#junk")).to_be_hidden()
    junk.locator("summary").click()
    expect(junk.locator("#junk")).to_contain_text("ssss")
    assert_accessible(page, "not understood, long message and junk open")


def test_the_conversation_pages_and_a_long_transcript_pass_axe(analyst_site: str, page: Page) -> None:
    log_in_as_analyst(page, analyst_site, "/analyse/samtaler")
    expect(page.get_by_text("Viser 1-50 af 64")).to_be_visible()
    assert_accessible(page, "conversation list, page 1")
    page.get_by_role("navigation", name="Sider").get_by_role("link", name="Næste").click()
    expect(page.get_by_text("Viser 51-64 af 64")).to_be_visible()
    assert_accessible(page, "conversation list, page 2")
    page.goto(analyst_site + "/analyse/samtaler/long")
    page.locator(".transcript details.whole-text summary").click()
    assert_accessible(page, "transcript with a long message open")


def test_the_admin_reads_the_audit_log_by_keyboard_and_it_passes_axe(analyst_site: str, page: Page) -> None:
    log_in_as_analyst(page, analyst_site, "/analyse/samtaler/long")
    page.get_by_role("button", name="Log ud").click()
    page.wait_for_url("**/login")
    log_in_as_analyst(page, analyst_site, "/analyse/adgangslog", username="ida", password=ADMIN_PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("Adgangslog")
    table = page.get_by_role("table", name="Analytikernes opslag i samtaler og udtræk, de nyeste øverst")
    expect(table.get_by_role("row").filter(has_text="Åbnede en samtale").first).to_contain_text("long")
    assert_accessible(page, "audit log")
    page.get_by_label("Bruger").focus()
    page.keyboard.press("ArrowDown")  # "Alle brugere" -> "lars"
    page.get_by_label("Samtale (id)").focus()
    page.keyboard.type("long")
    page.keyboard.press("Enter")  # submits the filter form
    page.wait_for_url("**/analyse/adgangslog?bruger=lars&samtale=long")
    expect(table.get_by_role("row")).not_to_have_count(1)  # more than the header
    expect(table).not_to_contain_text("Hentede")
    assert_accessible(page, "audit log, filtered")
