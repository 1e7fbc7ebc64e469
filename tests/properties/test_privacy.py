"""bot/privacy.py, properties: every valid CPR number is masked wherever it stands; nothing else is."""

from __future__ import annotations

import datetime as dt

from hypothesis import assume, example, given
from hypothesis import strategies as st

from bot.privacy import CPR_MASK, mask_cpr
from tests.properties.strategies import (
    cpr_numbers,
    hostile_text,
    huge_text,
    not_next_to_digit,
    spelled_cpr,
    spellings,
)

no_digits = st.text(alphabet=st.characters(blacklist_categories=("Nd", "Cs")), max_size=60)


@given(spelled_cpr(), hostile_text, hostile_text)
@example(("0101901234", "010190-1234"), "cpr:", "!")
@example(("2902004123", "290200 4123"), "\u202e", "\u200f")  # 29 February 2000 (digit 7 = 4)
@example(("0101585123", "0101585123"), "<b>", "</b>")  # 1 January 1858
def test_a_valid_cpr_number_is_masked_in_any_surrounding_text(
    cpr: tuple[str, str], before: str, after: str
) -> None:
    _, typed = cpr
    before, after = not_next_to_digit(before, after)
    masked, found = mask_cpr(before + typed + after)
    assert found
    assert masked == mask_cpr(before)[0] + CPR_MASK + mask_cpr(after)[0]


@given(cpr_numbers(), st.sampled_from(["\n", "\t", "\u00a0", "\u2003"]), hostile_text)
def test_a_cpr_number_split_by_one_whitespace_character_is_masked(cpr: str, space: str, around: str) -> None:
    before, after = not_next_to_digit(around, around)
    masked, found = mask_cpr(f"{before}{cpr[:6]}{space}{cpr[6:]}{after}")
    assert found and cpr[6:] not in masked.replace(before, "").replace(after, "")


@given(st.lists(spelled_cpr(), min_size=2, max_size=5), st.sampled_from([" ", ", ", " og ", "/", "\n"]))
def test_every_one_of_several_cpr_numbers_is_masked(cprs: list[tuple[str, str]], separator: str) -> None:
    masked, found = mask_cpr(separator.join(typed for _, typed in cprs))
    assert found and masked == separator.join([CPR_MASK] * len(cprs))


@given(huge_text, spelled_cpr())
def test_a_cpr_number_in_100_kb_is_masked(filler: str, cpr: tuple[str, str]) -> None:
    before, after = not_next_to_digit(filler, filler)
    masked, found = mask_cpr(before + cpr[1] + after)
    assert found and masked.count(CPR_MASK) >= 1 and cpr[1] not in masked


def phone_numbers() -> st.SearchStrategy[str]:
    """An ordinary Danish phone number as people write it (8 digits; +45/0045; spaces in pairs or fours)."""
    eight = st.text(alphabet="0123456789", min_size=8, max_size=8)

    def styles(digits: str) -> list[str]:
        pairs = " ".join(digits[i : i + 2] for i in range(0, 8, 2))
        return [
            digits,
            pairs,
            f"{digits[:4]} {digits[4:]}",
            f"+45 {digits}",
            f"+45{digits}",
            f"0045 {digits}",
            f"+45 {pairs}",
        ]

    return eight.flatmap(lambda digits: st.sampled_from(styles(digits)))


@given(phone_numbers(), hostile_text, hostile_text)
@example("31129012", "ring på ", " i dag")  # 31.12.90 + 12: looks like a CPR number's start
@example("+4531129012", "tlf. ", ".")
@example("0045 01019012", "", "")
def test_an_ordinary_phone_number_is_never_masked(phone: str, before: str, after: str) -> None:
    before, after = not_next_to_digit(before, after)
    masked, _ = mask_cpr(before + phone + after)
    assert masked == mask_cpr(before)[0] + phone + mask_cpr(after)[0]


@given(phone_numbers(), no_digits, no_digits)
def test_text_with_a_phone_number_and_no_other_digits_is_unchanged(
    phone: str, before: str, after: str
) -> None:
    text = before + phone + after
    assert mask_cpr(text) == (text, False)


def _impossible_date(digits: str) -> bool:
    day, month, year2, digit7 = int(digits[:2]), int(digits[2:4]), int(digits[4:6]), int(digits[6])
    century = (
        1900
        if digit7 <= 3
        else (2000 if year2 <= 36 else 1900)
        if digit7 in (4, 9)
        else (2000 if year2 <= 57 else 1800)
    )
    try:
        dt.date(century + year2, month, day)
    except ValueError:
        return True
    return False


@given(
    st.text(alphabet="0123456789", min_size=10, max_size=10),
    st.sampled_from(["", "-", " "]),
    no_digits,
    no_digits,
)
@example("2902001234", "-", "", "")  # 29 February 1900 (digit 7 = 1): no such day
@example("3204901234", "", "", "")
def test_ten_digits_without_a_real_date_are_not_masked(
    digits: str, separator: str, before: str, after: str
) -> None:
    assume(_impossible_date(digits))
    text = f"{before}{digits[:6]}{separator}{digits[6:]}{after}"
    assert mask_cpr(text) == (text, False)


@given(st.integers(0, 10**30).filter(lambda n: len(str(n)) != 10), no_digits, no_digits)
@example(31129012345, "", "")  # 11 digits that start with a CPR number
@example(131129012, "konto ", "")
def test_a_number_of_any_other_length_is_not_masked(number: int, before: str, after: str) -> None:
    text = f"{before}{number}{after}"
    assert mask_cpr(text) == (text, False)


@given(hostile_text)
def test_masking_is_idempotent(text: str) -> None:
    once, _ = mask_cpr(text)
    assert mask_cpr(once) == (once, False)


@given(cpr_numbers())
def test_spellings_are_all_masked(cpr: str) -> None:
    for typed in spellings(cpr):
        assert mask_cpr(typed) == (CPR_MASK, True)
