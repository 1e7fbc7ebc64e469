"""Shared page rendering (bot.web.pages): templates, the inline site stylesheet and its CSP hash."""

from __future__ import annotations

import base64
import hashlib

from bot.drafts.texts import text
from bot.web import pages


def test_the_csp_source_is_the_hash_of_site_css() -> None:
    css = (pages.TEMPLATE_DIR / "site.css").read_bytes()
    assert pages.style_csp_source() == f"'sha256-{base64.b64encode(hashlib.sha256(css).digest()).decode()}'"


def test_a_page_carries_the_stylesheet_inline_and_escapes_what_it_is_given() -> None:
    html = pages.render_message("<b>Titel</b>", "Første & <script>x</script>")
    assert f"<style>{pages.stylesheet()}</style>" in html
    assert "&lt;b&gt;Titel&lt;/b&gt;" in html and "&lt;script&gt;" in html and "<script>" not in html
    assert 'lang="da"' in html


def test_not_found_and_error_pages_are_danish_with_their_status() -> None:
    missing = pages.not_found_page()
    assert missing.status == 404 and missing.content_type == "text/html"
    assert missing.text is not None and text("pages.not_found.title") in missing.text
    failed = pages.error_page()
    assert failed.status == 500 and failed.text is not None and text("pages.error.text") in failed.text


def test_every_page_template_extends_base_and_thus_gets_the_stylesheet() -> None:
    """The chat page has its own files (bot/static); every other page inlines site.css."""
    for template in sorted(pages.TEMPLATE_DIR.glob("*.html")):
        if template.name in ("base.html", "chat.html", "analyst_macros.html"):
            continue
        first = template.read_text(encoding="utf-8").lstrip().splitlines()[0]
        assert "extends" in first, template.name
