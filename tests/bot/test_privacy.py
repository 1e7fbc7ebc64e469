"""CPR numbers are found by format and a real date, never by modulus 11, and masked."""

from __future__ import annotations

import pytest

from bot.privacy import CPR_MASK, mask_cpr


@pytest.mark.parametrize(
    "text",
    [
        "mit cpr er 010190-1234",  # format with dash
        "cpr 0101901234 tak",  # no dash
        "0101901235",  # fails modulus 11, still a CPR number since 2007
        "født 290200-4321",  # 29 February 2000 (digit 7 = 4: year 2000)
        "311299 1234",  # with a space
    ],
)
def test_cpr_numbers_are_masked(text: str) -> None:
    """A CPR number anywhere in a message is replaced by the mask."""
    masked, found = mask_cpr(text)
    assert found and CPR_MASK in masked
    assert not any(ch.isdigit() for ch in masked.replace(CPR_MASK, ""))


@pytest.mark.parametrize(
    "text",
    ["ring på 72335850", "320190-1234", "011390-1234", "290201-4321", "hun er 9", "12345678901"],
)
def test_non_cpr_numbers_are_kept(text: str) -> None:
    """Phone numbers, impossible dates (32/1, month 13, 29/2 2001) and long numbers are left alone."""
    assert mask_cpr(text) == (text, False)
