"""bot/rasa_channel.py, properties of `cut`: what Rasa's NLU reads of a message of any size.

Found by `make fuzz` (bench/fuzz.py): one 100 KB message to /webhooks/rest/webhook made Rasa's NLU
use 12 GB until the kernel killed Rasa; every conversation then got 503 from the web app.
"""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from bot.parse import MAX_MESSAGE
from bot.rasa_channel import cut
from tests.properties.strategies import cpr_numbers, hostile_text, huge_text, messages


@given(st.one_of(messages, hostile_text, huge_text))
@example("x" * 100 * 1024)
@example("\u00b2" * 12500)  # '²' is isdigit() but not a decimal digit: no CPR number is made of it
def test_at_most_one_character_more_than_the_core_reads(message: str) -> None:
    kept = cut(message)
    assert message.startswith(kept) and len(kept) <= MAX_MESSAGE + 1
    if len(message) <= MAX_MESSAGE + 1:
        assert kept == message
    else:
        assert not kept[-1:].isdecimal()  # the digits a CPR number is read from (bot/privacy.py's \d)


@given(st.integers(MAX_MESSAGE - 12, MAX_MESSAGE + 1), cpr_numbers(), st.sampled_from(["", "-", " "]))
def test_a_cpr_number_at_the_cut_is_dropped_whole(at: int, cpr: str, separator: str) -> None:
    message = "a" * at + " " + cpr[:6] + separator + cpr[6:] + " " + "b" * 200
    kept = cut(message)
    assert cpr[:6] not in kept or cpr[:6] + separator + cpr[6:] in kept
