"""Staff triage mode in Chromium against the real bot: login, side panel, a draft with the initials."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import STAFF_INITIALS
from tests.browser.helpers import (
    DRAFT_BUTTONS,
    DRAFT_TYPED,
    MAINTENANCE,
    REHABILITATION,
    assert_accessible,
    click_until_outcome,
    log_in,
    options,
    pending,
    screenshot,
    wait_for_answer,
)
from tests.live import Servers

pytestmark = pytest.mark.rasa


def base(servers: Servers) -> str:
    return f"http://127.0.0.1:{servers.web_port}"


def test_staff_pages_need_a_login(live: Servers, page: Page) -> None:
    page.goto(base(live) + "/personale")
    assert page.url.startswith(base(live) + "/login?next=")
    expect(page.get_by_role("heading", name="Log ind")).to_be_visible()
    answer = page.request.post(
        base(live) + "/personale/api/besked",
        data={"sender": "a" * 32, "message": "hej"},
        max_redirects=0,
    )
    assert answer.status == 401
    log_in(page, base(live))
    # logged in, but without the page's CSRF token the staff endpoint refuses
    refused = page.request.post(base(live) + "/personale/api/besked", data={"sender": "a" * 32, "message": "hej"})
    assert refused.status == 403


def test_staff_triage_a_call_to_a_draft_with_initials(live: Servers, page: Page, tmp_path: Path) -> None:
    log_in(page, base(live), "/personale?kommune=broenderslev")
    expect(page.get_by_text("Logget ind som Anne Berg (AB)")).to_be_visible()
    assert_accessible(page, "staff page at the start")
    page.get_by_role("button", name="Vedligeholdende træning").click()
    wait_for_answer(page)
    expect(page.locator("#log .bubble").last).to_contain_text("Spørg borgeren:")
    panel = page.get_by_role("complementary", name="Overblik til personale")
    assert_accessible(page, "staff page after a question with buttons")

    fact = pending(page)
    assert fact in MAINTENANCE
    options(page).get_by_role("button", name=MAINTENANCE[fact], exact=True).click()
    wait_for_answer(page)
    expect(panel.locator("#panel-facts")).to_contain_text(MAINTENANCE[fact])
    click_until_outcome(page, MAINTENANCE)

    expect(page.locator("#log .outcome h2")).to_have_text("Vedligeholdende træning")
    expect(panel.locator("#panel-criteria .criterion.met").first).to_be_visible()
    expect(panel.locator("#panel-legal li").first).not_to_have_text("Intet endnu.")
    expect(panel.locator("#read-aloud-text")).to_contain_text("Vedligeholdende træning")
    expect(panel.locator("#read-aloud-text")).to_contain_text("Kommunen træffer afgørelsen")
    draft_button = panel.get_by_role("button", name="Opret udkast til ansøgning")
    expect(draft_button).to_be_visible()
    assert_accessible(page, "staff page after an outcome")
    screenshot(page, "staff", tmp_path)

    draft_button.click()
    for _ in range(20):
        wait_for_answer(page)
        if page.locator("#log .draft a").count():
            break
        fact = pending(page)
        if fact in DRAFT_BUTTONS:
            options(page).get_by_role("button", name=DRAFT_BUTTONS[fact], exact=True).click()
        elif fact == "review":
            options(page).get_by_role("button", name="Gem udkastet").click()
        else:
            assert fact in DRAFT_TYPED, f"unexpected draft question {fact!r}"
            page.get_by_label("Borgerens svar").fill(DRAFT_TYPED[fact])
            page.get_by_label("Borgerens svar").press("Enter")
    link = page.locator("#log .draft a")
    expect(link).to_contain_text("Åbn udkastet TG-")
    assert page.evaluate("() => window.pwned") is None

    with page.context.expect_page() as opened:
        link.click()
    draft = opened.value
    draft.wait_for_load_state()
    assert "/udkast/" in draft.url
    body = draft.locator("body")
    initials = draft.locator("dt", has_text="Udfyldt sammen med medarbejder (initialer)").locator("+ dd")
    expect(initials).to_have_text(STAFF_INITIALS)
    expect(body).to_contain_text('Ida <script>window.pwned = 1</script> "Test"')
    assert draft.evaluate("() => window.pwned") is None


def test_logging_out_forgets_the_call_in_this_tab(live: Servers, page: Page) -> None:
    """The next staff member in the same tab starts with an empty call, not the last citizen's."""
    log_in(page, base(live), "/personale")
    page.get_by_role("button", name="Vedligeholdende træning").click()
    wait_for_answer(page)
    expect(page.locator("#log")).to_contain_text("Spørg borgeren:")
    page.get_by_role("button", name="Log ud").click()
    page.wait_for_url("**/login")
    log_in(page, base(live), "/personale")
    expect(page.locator("#log .bubble")).to_have_count(1)  # the welcome only
    expect(page.locator("#log")).not_to_contain_text("Spørg borgeren:")


def test_start_over_gets_a_new_conversation_from_the_server(live: Servers, page: Page) -> None:
    """The staff page sends no conversation id: "Start forfra" asks the server for a new one."""
    log_in(page, base(live), "/personale")
    sent: list[str] = []
    page.on(
        "request", lambda request: sent.append(request.post_data or "") if request.method == "POST" else None
    )
    page.get_by_role("button", name="Genoptræning efter sygehuset").click()
    wait_for_answer(page)
    options(page).get_by_role("button", name=REHABILITATION["age"]).click()
    wait_for_answer(page)
    assert pending(page) == "hospital_stay"
    page.get_by_role("button", name="Start forfra").click()
    expect(page.locator("#status")).to_have_text("Du er startet forfra. Dine svar er glemt.")
    expect(page.locator("#log .msg")).to_have_count(1)
    page.get_by_role("button", name="Genoptræning efter sygehuset").click()
    wait_for_answer(page)
    assert pending(page) == "age", "a new conversation asks from the beginning"
    assert sent and not any('"sender"' in body for body in sent)
