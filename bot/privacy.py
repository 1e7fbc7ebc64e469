"""CPR numbers: found by format plus a real date (never by modulus 11), then masked."""

from __future__ import annotations

import datetime as dt
import re

CPR_MASK = "[CPR-nummer fjernet]"
_CPR = re.compile(r"(?<!\d)(\d{2})(\d{2})(\d{2})[-\s]?(\d)(\d{3})(?!\d)")


def _century(year2: int, digit7: int) -> int:
    """The century rule of the CPR register (digit 7 with the year digits)."""
    if digit7 <= 3:
        return 1900
    if digit7 in (4, 9):
        return 2000 if year2 <= 36 else 1900
    return 2000 if year2 <= 57 else 1800


def _is_cpr(match: re.Match[str]) -> bool:
    day, month, year2, digit7 = (int(match.group(i)) for i in range(1, 5))
    try:
        dt.date(_century(year2, digit7) + year2, month, day)
    except ValueError:
        return False
    return True


def mask_cpr(text: str) -> tuple[str, bool]:
    """`text` with every CPR number replaced by a mask, and whether one was found."""
    found = False

    def replace(match: re.Match[str]) -> str:
        nonlocal found
        if _is_cpr(match):
            found = True
            return CPR_MASK
        return match.group(0)

    return _CPR.sub(replace, text), found
