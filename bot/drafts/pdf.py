"""A draft as an A4 PDF with fpdf2, from the same `DraftView` as the HTML page.

DejaVu Sans (æøå and most scripts) when its TTF files are installed; characters
the font lacks become U+FFFD. Without DejaVu, core Helvetica with Latin-1 only:
typographic dashes and quotes are simplified and anything else becomes '?'.
Text is written as text (never markup), so '<script>' and quotes print literally.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path

from fontTools.ttLib import TTFont  # type: ignore[import-untyped]
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from bot.drafts.model import Draft
from bot.drafts.render import DraftView, Row, draft_view

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT_REGULAR = "DejaVuSans.ttf"
FONT_BOLD = "DejaVuSans-Bold.ttf"
_LATIN1_SUBSTITUTES = str.maketrans(
    {"–": "-", "—": "-", "‘": "'", "’": "'", "“": '"', "”": '"', "„": '"', "•": "-", "…": "..."}
)


@cache
def _font_codepoints(path: Path) -> frozenset[int]:
    font = TTFont(str(path), lazy=True)
    try:
        return frozenset(font.getBestCmap())
    finally:
        font.close()


class _Document:
    """fpdf2 with DejaVu Sans when installed, else Helvetica limited to Latin-1."""

    def __init__(self, font_dir: Path) -> None:
        self.pdf = FPDF(format="A4")
        self.pdf.set_auto_page_break(auto=True, margin=15)
        self.pdf.set_margins(18, 18, 18)
        regular, bold = font_dir / FONT_REGULAR, font_dir / FONT_BOLD
        self.codepoints: frozenset[int] | None
        if regular.is_file() and bold.is_file():
            self.pdf.add_font("DejaVu", "", regular)
            self.pdf.add_font("DejaVu", "B", bold)
            self.family = "DejaVu"
            self.codepoints = _font_codepoints(regular) & _font_codepoints(bold)
        else:
            self.family = "Helvetica"
            self.codepoints = None

    def safe(self, value: str) -> str:
        """Characters the font cannot show become U+FFFD (DejaVu) or '?' (Latin-1)."""
        value = value.replace("\t", " ")
        if self.codepoints is None:
            return value.translate(_LATIN1_SUBSTITUTES).encode("latin-1", "replace").decode("latin-1")
        return "".join(c if c == "\n" or ord(c) in self.codepoints else "\ufffd" for c in value)

    def write(self, value: str, *, size: float = 10.5, bold: bool = False, gap: float = 0) -> None:
        self.pdf.set_font(self.family, "B" if bold else "", size)
        self.pdf.multi_cell(0, size * 0.5, self.safe(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if gap:
            self.pdf.ln(gap)

    def heading(self, value: str) -> None:
        self.pdf.ln(3)
        self.write(value, size=13, bold=True, gap=1)

    def rows(self, rows: tuple[Row, ...]) -> None:
        for row in rows:
            self.write(row.label, bold=True)
            if row.value:
                self.write(row.value, gap=1.5)

    def bullets(self, items: tuple[str, ...]) -> None:
        for item in items:
            self.write(f"• {item}", gap=0.5)


def write_pdf(view: DraftView, *, created: dt.datetime, font_dir: Path) -> bytes:
    """The view as PDF bytes, in the same order as the HTML page."""
    doc = _Document(font_dir)
    pdf = doc.pdf
    pdf.set_title(doc.safe(view.title))
    pdf.set_lang("da")
    pdf.set_creator("Træningsguiden")
    pdf.set_creation_date(created)
    pdf.add_page()
    doc.write(view.title, size=16, bold=True, gap=2)
    doc.write(view.not_sent, size=13, bold=True)
    doc.write(view.not_sent_detail, gap=2)
    doc.rows(view.meta)
    for section in view.sections:
        doc.heading(section.heading)
        doc.rows(section.rows)
    doc.heading(view.legal_heading)
    doc.bullets(view.legal)
    doc.heading(view.attach_heading)
    doc.bullets(view.attach)
    doc.heading(view.send_heading)
    doc.write(view.send)
    doc.heading(view.contact_heading)
    for line in view.contact:
        doc.write(line)
    pdf.ln(3)
    doc.write(view.decides, bold=True)
    return bytes(pdf.output())


def render_pdf(draft: Draft, *, font_dir: Path = FONT_DIR) -> bytes:
    """The draft as an A4 PDF with the same fields as the HTML page (DejaVu Sans in `font_dir`)."""
    return write_pdf(draft_view(draft), created=draft.created_at, font_dir=font_dir)
