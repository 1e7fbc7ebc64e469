"""Text normalisation shared by parsing and lookups (no diacritics, typos)."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_FOLD = str.maketrans({"æ": "ae", "ø": "oe", "å": "aa", "é": "e", "ü": "u", "ö": "oe", "ä": "ae"})
_SPACES = re.compile(r"\s+")


_CACHED_LENGTH = 500  # a message is folded several times per turn; longer texts are rare


def fold(text: str) -> str:
    """Lower-case, æ/ø/å spelt ae/oe/aa, other accents dropped, spaces collapsed.

    'København' and 'Koebenhavn' both fold to 'koebenhavn'; 'Kobenhavn' stays
    'kobenhavn', so lookups keep both spellings as aliases. Remembered for recent short texts
    (a pure function of the text: the parsers fold the same message many times in one turn).
    """
    return _fold(text) if len(text) <= _CACHED_LENGTH else _fold.__wrapped__(text)


@lru_cache(maxsize=4096)
def _fold(text: str) -> str:
    lowered = text.lower().translate(_FOLD)
    stripped = "".join(c for c in unicodedata.normalize("NFKD", lowered) if not unicodedata.combining(c))
    return _SPACES.sub(" ", stripped).strip()


_SCRIPT = re.compile(r"<(script|style)\b.*?(</\1\s*>|$)", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")


def strip_markup(text: str) -> str:
    """Text without HTML tags or script/style contents: markup is never read as an answer."""
    return _TAG.sub(" ", _SCRIPT.sub(" ", text))
