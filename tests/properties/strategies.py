"""Hypothesis strategies for hostile input (issue 10): shared by the property tests here."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from hypothesis import strategies as st

CONTROL = [chr(c) for c in range(32)] + ["\x7f", "\x85", "\u2028", "\u2029", "\ufeff", "\u200b", "\ufffe"]
RTL = ["\u200f", "\u202e", "\u202b", "\u202a", "\u2066", "\u2067", "\u2069", "\u061c", "\u200e"]
MARKUP = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "</textarea><svg onload=alert(1)>",
    "<b>fed</b>",
    "<!--",
    "<style>body{display:none}</style>",
    "javascript:alert(1)",
    "<script>",
    "&amp;&lt;&#0;",
]
SQL = [
    "'; DROP TABLE events; --",
    '" OR 1=1 --',
    "1'); DELETE FROM drafts; --",
    "' UNION SELECT * FROM drafts --",
]
TEMPLATE = [
    "{{ 7*7 }}",
    "{% raw %}",
    "{% endraw %}",
    "${7*7}",
    "#{7*7}",
    "{0.__class__}",
    "%s%n",
    "{fact}",
    "{refl}",
]
QUOTES = ['"', "'", '\\"', '"}', '"]}', "\\u0000", "\\", '"""', "`", "\\n", '{"']
DANISH = [
    "ja",
    "nej",
    "ved ikke",
    "tilbage",
    "dine svar",
    "start forfra",
    "tal med en medarbejder",
    "slet mit udkast",
    "Gem udkastet",
    "Ballerup",
    "80",
    "min søn på 8 har CP",
    "Ret: Navn",
    "spring over",
]
PAYLOADS = [
    "/inform{",
    "/inform{}",
    '/inform{"fact": 1}',
    '/inform{"fact": "age", "choice": [1, 2]}',
    '/inform{"fact": {"a": {"b": {"c": []}}}}',
    '/inform{"fact": "age", "choice": 1e308}',
    '/correct{"fact": "person_name"}',
    "/restart",
    "/",
    "//",
]

snippets = st.sampled_from(MARKUP + SQL + TEMPLATE + QUOTES + DANISH + PAYLOADS + CONTROL + RTL)
any_text = st.text(max_size=60)  # any unicode (surrogates excluded: they cannot arrive as UTF-8)
control_text = st.text(alphabet=st.sampled_from([*CONTROL, *RTL, "a", "ø", " ", "1"]), max_size=30)


def _glue(parts: list[str]) -> str:
    return "".join(parts)


hostile_text = st.one_of(
    any_text,
    control_text,
    st.lists(st.one_of(snippets, any_text), max_size=6).map(_glue),
)
"""Any short hostile text: unicode, control characters, RTL marks, markup, SQL, templates, quotes."""

huge_text = st.builds(
    lambda part, n: (part or "x") * n, st.text(min_size=1, max_size=8), st.integers(12_500, 25_000)
)
"""About 100 KB (12,500 to 200,000 characters)."""


# --- CPR numbers ----------------------------------------------------------------------------


@st.composite
def cpr_numbers(draw: st.DrawFn) -> str:
    """A valid CPR number (10 digits): a real date and a 7th digit that fits its century."""
    born = draw(st.dates(dt.date(1858, 1, 1), dt.date(2057, 12, 31)))
    if born.year < 1900:
        digit7 = draw(st.sampled_from("5678"))
    elif born.year < 2000:
        # 0-3 always 1900s; 4 and 9 for 1937-1999; 5-8 never
        digit7 = draw(st.sampled_from("0123" + ("49" if born.year >= 1937 else "")))
    elif born.year <= 2036:
        digit7 = draw(st.sampled_from("456789"))
    else:
        digit7 = draw(st.sampled_from("5678"))
    serial = draw(st.integers(0, 999))
    return f"{born:%d%m}{born.year % 100:02d}{digit7}{serial:03d}"


def spellings(cpr: str) -> list[str]:
    return [cpr, f"{cpr[:6]}-{cpr[6:]}", f"{cpr[:6]} {cpr[6:]}"]


@st.composite
def spelled_cpr(draw: st.DrawFn) -> tuple[str, str]:
    """(the 10 digits, as typed: DDMMYYXXXX, DDMMYY-XXXX or DDMMYY XXXX)."""
    cpr = draw(cpr_numbers())
    return cpr, draw(st.sampled_from(spellings(cpr)))


def not_next_to_digit(prefix: str, suffix: str) -> tuple[str, str]:
    """A CPR number needs a non-digit on both sides (else it is part of a longer number)."""
    if prefix and prefix[-1].isdecimal():
        prefix += " "
    if suffix and suffix[0].isdecimal():
        suffix = " " + suffix
    return prefix, suffix


@st.composite
def text_with_cpr(draw: st.DrawFn) -> tuple[str, str]:
    """(a hostile text with a CPR number somewhere in it, the CPR number's 10 digits)."""
    cpr, typed = draw(spelled_cpr())
    prefix, suffix = not_next_to_digit(draw(hostile_text), draw(hostile_text))
    return prefix + typed + suffix, cpr


messages = st.one_of(hostile_text, text_with_cpr().map(lambda pair: pair[0]), st.sampled_from(DANISH))
"""A message a citizen might type, hostile or not, sometimes with a CPR number."""

# --- JSON values with wrong types (payload entities, metadata) ----------------------------------

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63),
    st.floats(allow_nan=False),
    hostile_text,
    cpr_numbers(),
    cpr_numbers().map(int),
)
json_values: st.SearchStrategy[Any] = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


def payload(intent: str, entities: dict[str, Any]) -> str:
    return f"/{intent}{json.dumps(entities, ensure_ascii=False)}"
