"""The CSV exports (bot/analytics/report.py): any citizen text is a cell, never a formula or a crash."""

from __future__ import annotations

import csv
import io

from hypothesis import example, given
from hypothesis import strategies as st

from bot.analytics.queries import NotUnderstoodGroup
from bot.analytics.report import not_understood_csv


def cells(text: str) -> list[str]:
    group = NotUnderstoodGroup(text=text, count=1, kinds={"fallback": 1}, variants=(), conversations=("c",))
    rows = list(csv.reader(io.StringIO(not_understood_csv([group]), newline="")))
    return rows[1]


@given(st.text())
@example("hej\x00med NUL")  # make fuzz: a NUL made /analyse/ikke-forstaaet.csv answer 500
@example("=HYPERLINK(\"http://x\")")
@example("-1+2")
@example('linje 1\r\nlinje "2"')
@example("\r=1")  # a lone CR was not quoted: it started a new row
def test_any_text_is_one_cell_without_nul_and_never_a_formula(text: str) -> None:
    expected = text.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n")
    if expected[:1] in ("=", "+", "-", "@", "\t"):
        expected = "'" + expected  # shown as text by spreadsheets
    assert cells(text)[0] == expected
