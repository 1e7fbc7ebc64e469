"""The citizen chat page in Chromium against the real running bot (Rasa, action server, our app)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import MunicipalSite
from tests.browser.helpers import (
    REHABILITATION,
    assert_accessible,
    click_until_outcome,
    focused,
    has_outcome,
    no_horizontal_scroll,
    options,
    pending,
    screenshot,
    tab_to,
    wait_for_answer,
)
from tests.live import Servers

pytestmark = pytest.mark.rasa
BROENDERSLEV_PHONE = "99 45 44 20"


def base(servers: Servers) -> str:
    return f"http://127.0.0.1:{servers.web_port}"


def test_a_conversation_by_mouse_ends_in_a_result_card(live: Servers, page: Page, tmp_path: Path) -> None:
    page.goto(base(live) + "/?kommune=broenderslev")
    expect(page).to_have_title("Træningsguiden – find den rigtige træning")
    assert page.locator("html").get_attribute("lang") == "da"
    assert_accessible(page, "at the start")
    page.get_by_role("button", name="Genoptræning efter sygehuset").click()
    wait_for_answer(page)
    assert pending(page) == "age" and options(page).get_by_role("button").count() == 3
    assert focused(page)["inOptions"], "focus moves to the new question's first answer"
    assert_accessible(page, "after a question with buttons")
    asked = click_until_outcome(page, REHABILITATION)
    assert asked == ["age", "hospital_stay", "rehab_plan"]  # the municipality came from ?kommune=

    card = page.locator("#log .outcome")
    expect(card.get_by_role("heading", level=2)).to_have_text("Genoptræning")
    expect(card.get_by_role("heading", name="Lovgrundlag")).to_be_visible()
    expect(card).to_contain_text("Sundhedsloven § 140")
    expect(card.get_by_role("heading", name="Sådan gør du")).to_be_visible()
    expect(card.get_by_role("link", name=BROENDERSLEV_PHONE)).to_have_attribute("href", "tel:99454420")
    expect(card).to_contain_text("Telefontid")  # Brønderslev publishes phone hours (seed 003)
    expect(card).to_contain_text("Kommunen træffer afgørelsen")
    assert focused(page)["tag"] == "h2", "focus moves to the result"
    # the outcome's message: its plain text is replaced by the card (with the offer's description), not repeated
    assert page.locator("#log .bubble", has_text="Sundhedsloven § 140").count() == 0
    expect(card.locator("p.description")).not_to_be_empty()
    expect(options(page).get_by_role("button", name="Ja")).to_be_visible()  # the draft offer
    assert_accessible(page, "after an outcome")
    screenshot(page, "citizen-desktop", tmp_path)


def test_a_conversation_by_keyboard_alone(live: Servers, page: Page) -> None:
    page.goto(base(live) + "/")
    page.keyboard.press("Tab")
    assert focused(page)["text"] == "Gå til beskedfeltet", "the skip link comes first"
    assert focused(page)["outline"].startswith("solid"), "focus is visible"
    page.keyboard.press("Enter")
    assert focused(page)["id"] == "message"
    page.keyboard.type("jeg er 80 og lige kommet hjem fra sygehuset")
    page.keyboard.press("Enter")
    wait_for_answer(page)
    keys = {"rehab_plan": "Ja", "municipality": "Ballerup"}
    for _ in range(6):
        if has_outcome(page):
            break
        fact = pending(page)
        assert fact in keys, fact
        now = focused(page)
        assert now["inOptions"] and now["outline"].startswith("solid"), now
        tab_to(page, keys[fact])
        page.keyboard.press("Enter")
        wait_for_answer(page)
    assert has_outcome(page)
    assert focused(page)["tag"] == "h2"
    expect(page.locator("#log .outcome h2")).to_have_text("Genoptræning")
    # from the result on, Tab reaches the draft offer, the message field and the toolbar: no trap
    tab_to(page, "Ja")
    tab_to(page, "Send")
    tab_to(page, "Start forfra")
    page.keyboard.press("Enter")
    expect(page.locator("#log .outcome")).to_have_count(0)
    assert focused(page)["id"] == "message"


def test_a_reload_resumes_and_start_over_starts_a_new_conversation(live: Servers, page: Page) -> None:
    page.goto(base(live) + "/?kommune=broenderslev")
    page.get_by_role("button", name="Genoptræning efter sygehuset").click()
    wait_for_answer(page)
    options(page).get_by_role("button", name=REHABILITATION["age"]).click()
    wait_for_answer(page)
    assert pending(page) == "hospital_stay"
    before = page.locator("#log .msg").all_inner_texts()
    sender = page.evaluate("() => JSON.stringify(Object.entries(sessionStorage))")

    page.reload()
    assert page.locator("#log .msg").all_inner_texts() == before
    assert page.evaluate("() => JSON.stringify(Object.entries(sessionStorage))") == sender
    options(page).get_by_role("button", name="Ja", exact=True).click()  # the same conversation goes on
    wait_for_answer(page)
    assert pending(page) == "rehab_plan"

    page.get_by_role("button", name="Dine svar").click()
    wait_for_answer(page)
    expect(page.locator("#log .bubble").last).to_contain_text("67 år eller ældre")
    page.get_by_role("button", name="Tilbage").click()
    wait_for_answer(page)
    expect(page.locator("#log .bubble", has_text="Vi går et skridt tilbage.")).to_have_count(1)

    page.get_by_role("button", name="Start forfra").click()
    expect(page.locator("#log .msg")).to_have_count(1)  # the welcome only
    expect(page.locator("#status")).to_have_text("Du er startet forfra. Dine svar er glemt.")
    assert page.evaluate("() => JSON.stringify(Object.entries(sessionStorage))") != sender
    page.get_by_role("button", name="Genoptræning efter sygehuset").click()
    wait_for_answer(page)
    assert pending(page) == "age", "a new conversation asks from the beginning"


def test_markup_in_a_message_is_shown_as_text_and_never_run(live: Servers, page: Page) -> None:
    hostile = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2"> <b>fed</b>'
    page.goto(base(live) + "/")
    page.get_by_label("Din besked").fill(hostile)
    page.get_by_label("Din besked").press("Enter")
    wait_for_answer(page)
    expect(page.locator("#log .msg.user .bubble").last).to_contain_text(hostile)
    assert page.locator("#log img, #log b, #log script").count() == 0
    assert page.evaluate("() => window.pwned") is None
    page.reload()  # the stored transcript is rendered as text too
    expect(page.locator("#log .msg.user .bubble").last).to_contain_text(hostile)
    assert page.evaluate("() => window.pwned") is None


def test_bot_down_gives_a_danish_answer_with_the_phone_number(offline: Servers, page: Page) -> None:
    page.goto(base(offline) + "/?kommune=broenderslev")
    started = time.monotonic()
    page.get_by_role("button", name="Vedligeholdende træning").click()
    wait_for_answer(page)
    assert time.monotonic() - started < 15, "no spinner forever"
    error = page.locator("#log .msg.error .bubble")
    expect(error).to_contain_text("kan ikke svare lige nu")
    expect(error).to_contain_text(BROENDERSLEV_PHONE)
    expect(page.locator("#status")).to_have_text("")
    assert focused(page)["id"] == "message"
    assert_accessible(page, "with the bot down")


def test_too_many_messages_get_a_danish_try_again_later(limited: Servers, page: Page) -> None:
    page.goto(base(limited) + "/")
    field = page.get_by_label("Din besked")
    for n in range(3):
        field.fill(f"besked {n}")
        field.press("Enter")
        wait_for_answer(page)
    last = page.locator("#log .msg.error .bubble").last
    expect(last).to_contain_text("Prøv igen om lidt")


@pytest.mark.parametrize("width", [360, 320])
def test_phone_width_reflows_without_horizontal_scrolling(
    live: Servers, page: Page, width: int, tmp_path: Path
) -> None:
    page.set_viewport_size({"width": width, "height": 780})
    page.goto(base(live) + "/?kommune=broenderslev")
    assert no_horizontal_scroll(page)
    page.get_by_role("button", name="Genoptræning efter sygehuset").click()
    click_until_outcome(page, REHABILITATION)
    assert no_horizontal_scroll(page), "320 CSS px is 1280 px at 400 %, 360 px a small phone"
    expect(page.get_by_role("button", name="Start forfra")).to_be_visible()
    if width == 360:
        assert_accessible(page, "at 360 px")
        screenshot(page, "citizen-phone", tmp_path)


def test_200_percent_zoom_keeps_everything_usable(live: Servers, browser: Browser) -> None:
    """A 1280 x 900 window at 200 %: 640 x 450 CSS pixels, each drawn as 2 x 2 device pixels."""
    context = browser.new_context(viewport={"width": 640, "height": 450}, device_scale_factor=2)
    try:
        page = context.new_page()
        page.goto(base(live) + "/")
        assert no_horizontal_scroll(page)
        for name in ("Send", "Tilbage", "Dine svar", "Start forfra", "Genoptræning efter sygehuset"):
            button = page.get_by_role("button", name=name)
            button.scroll_into_view_if_needed()
            expect(button).to_be_in_viewport()
        assert page.evaluate("() => parseFloat(getComputedStyle(document.body).fontSize)") >= 16
    finally:
        context.close()


def test_a_municipal_site_embeds_the_chat_with_embed_js(
    live: Servers, municipal_site: MunicipalSite, page: Page
) -> None:
    (municipal_site.root / "traening.html").write_text(
        '<!DOCTYPE html><html lang="da"><head><meta charset="utf-8"><title>Kommune</title></head><body>'
        f'<h1>Træning</h1><script src="{base(live)}/embed.js" data-kommune="broenderslev"></script>'
        "</body></html>",
        encoding="utf-8",
    )
    page.goto(f"{municipal_site.embedding}/traening.html")
    frame_element = page.locator("iframe.traeningsguiden-frame")
    expect(frame_element).to_have_attribute("title", "Træningsguiden: chat om kommunens træningstilbud")
    chat = page.frame_locator("iframe.traeningsguiden-frame")
    chat.get_by_role("button", name="Genoptræning efter sygehuset").click()
    chat.locator("#log[aria-busy='false']").wait_for()
    expect(chat.locator("#composer")).to_have_attribute("data-pending", "age")
    assert_accessible(page, "embedded")


def test_other_sites_cannot_frame_the_chat(
    live: Servers, municipal_site: MunicipalSite, browser: Browser
) -> None:
    (municipal_site.root / "andet.html").write_text(
        f'<!DOCTYPE html><html lang="da"><body><iframe title="x" src="{base(live)}/chat"></iframe></body></html>',
        encoding="utf-8",
    )
    context = browser.new_context()
    try:
        page = context.new_page()
        refused: list[str] = []
        page.on("console", lambda message: refused.append(message.text))
        page.goto(f"{municipal_site.other}/andet.html")
        page.wait_for_timeout(1500)
        assert any("frame-ancestors" in text for text in refused), refused
        assert page.frames[1].locator("#log").count() == 0
    finally:
        context.close()
