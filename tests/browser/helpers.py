"""Driving the chat page as a person would: by mouse or by keyboard, and checking it with axe-core."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping

from playwright.sync_api import Locator, Page, Route

from tests.browser.conftest import AXE, STAFF_PASSWORD, STAFF_USER
from tests.live import ROOT

SCREENSHOTS = ROOT / "docs" / "screenshots"
AXE_URL_PATH = "/__axe-core__.js"  # same origin, so the page's CSP (script-src 'self') allows it
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

# Answers by the fact each question asks for (button labels, as a citizen sees them).
REHABILITATION = {"age": "67 år eller ældre", "hospital_stay": "Ja", "rehab_plan": "Ja", "who": "Mig selv"}
MAINTENANCE = {
    "who": "En pårørende",
    "age": "67 år eller ældre",
    "hospital_stay": "Nej",
    "goal": "Bevare det, der er",
    "already_free_physio": "Nej",
    "diagnosis_type": "Andet",
    "can_train_alone": "Nej",
    "risk_of_loss": "Ja",
    "needs_therapist": "Ja",
}
DRAFT_BUTTONS = {"draft_consent": "Ja", "applicant_relation": "Pårørende", "municipality_may_obtain": "Ja"}
DRAFT_TYPED = {
    "person_name": 'Ida <script>window.pwned = 1</script> "Test"',
    "date_of_birth": "1.2.1950",
    "phone": "12 34 56 78",
    "email": "spring over",
    "need_description": "Træning efter et fald.",
    "diagnoses": "ved ikke",
    "current_care": "nej",
}


def wait_for_answer(page: Page) -> None:
    """Until the bot's answer to the last message is on the page."""
    page.locator("#log[aria-busy='false']").wait_for()


def pending(page: Page) -> str | None:
    """The fact the newest question asks for."""
    return page.locator("#composer").get_attribute("data-pending")


def options(page: Page) -> Locator:
    return page.locator("#log .options").last


def has_outcome(page: Page) -> bool:
    return page.locator("#log .outcome").count() > 0


def click_until_outcome(page: Page, answers: Mapping[str, str], *, max_turns: int = 15) -> list[str]:
    """Answer each question with the mouse; the facts asked, in order."""
    asked: list[str] = []
    for _ in range(max_turns):
        wait_for_answer(page)
        if has_outcome(page):
            return asked
        fact = pending(page)
        assert fact in answers, f"unexpected question {fact!r} after {asked}"
        asked.append(fact)
        options(page).get_by_role("button", name=answers[fact], exact=True).click()
    raise AssertionError(f"no outcome after {asked}")


def focused(page: Page) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate(
        """() => {
            const el = document.activeElement;
            const style = getComputedStyle(el);
            return {tag: el.tagName.toLowerCase(), id: el.id, text: (el.textContent || "").trim(),
                    outline: style.outlineStyle + " " + style.outlineWidth,
                    inOptions: !!el.closest(".options")};
        }"""
    )
    return result


def tab_to(page: Page, label: str, *, max_tabs: int = 40) -> None:
    """Press Tab until the element with this text has the focus."""
    for _ in range(max_tabs):
        if focused(page)["text"] == label:
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {label!r}")


def log_in(page: Page, base: str, next_path: str = "/personale") -> None:
    page.goto(base + next_path)
    assert "/login" in page.url
    page.get_by_label("Brugernavn").fill(STAFF_USER)
    page.get_by_label("Adgangskode").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Log ind").click()
    page.wait_for_url(f"**{next_path}")


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core (from npm) run in the page: WCAG 2.0/2.1 A and AA violations."""
    source = AXE.read_text(encoding="utf-8")

    def serve(route: Route) -> None:
        route.fulfill(status=200, content_type="application/javascript", body=source)

    page.route(f"**{AXE_URL_PATH}", serve)
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(url=AXE_URL_PATH)
    results: dict[str, Any] = page.evaluate(
        "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_AA
    )
    return list(results["violations"])


def assert_accessible(page: Page, when: str) -> None:
    violations = axe_violations(page)
    summary = [
        {"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n["html"] for n in v["nodes"]][:5]}
        for v in violations
    ]
    assert not violations, f"axe-core, {when}:\n{json.dumps(summary, indent=2, ensure_ascii=False)}"


def screenshot(page: Page, name: str, tmp_path: Path) -> Path:
    """docs/screenshots/<name>.png when TRAENINGSGUIDEN_SCREENSHOTS=1 (`make screenshots`), else tmp_path."""
    target = SCREENSHOTS if os.environ.get("TRAENINGSGUIDEN_SCREENSHOTS") == "1" else tmp_path
    target.mkdir(parents=True, exist_ok=True)
    path = target / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def no_horizontal_scroll(page: Page) -> bool:
    return bool(page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth"))
