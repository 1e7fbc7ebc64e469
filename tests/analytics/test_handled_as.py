"""Issue 13: one action (`action_turn`) runs every turn; the slot `handled_as` says what it did."""

from __future__ import annotations

from bot.analytics.records import minimise, summarise
from tests.analytics.events import Conversation


def test_handled_as_reads_like_the_actions_of_the_per_intent_design() -> None:
    c = Conversation()
    c.user("min mor på 84").action("action_turn").slot("handled_as", "answer").ask("hospital_stay")
    c.slots(pending="hospital_stay")
    c.user("blåbærgrød", "nlu_fallback").action("action_turn").slot("handled_as", "not_understood")
    c.bot("Jeg forstod ikke dit svar.").ask("hospital_stay").slots(pending="hospital_stay", misses=1)
    c.user("hvornår hentes skraldet?", "out_of_scope").action("action_turn").slot(
        "handled_as", "out_of_scope"
    )
    c.ask("hospital_stay").slots(pending="hospital_stay", misses=1)
    c.user("en medarbejder tak", "handoff").action("action_turn").slot("handled_as", "handoff")
    c.slots(pending="municipality", misses=1)
    c.user("tak", "thanks").action("action_turn").slot("handled_as", "thanks").slots(
        pending="municipality", misses=1
    )
    record = summarise("s", c.events)
    assert [(n.text, n.kind) for n in record.not_understood] == [
        ("blåbærgrød", "fallback"),
        ("hvornår hentes skraldet?", "out_of_scope"),
    ]
    assert record.handoff_requested and record.fallbacks == 2


def test_minimise_keeps_handled_as() -> None:
    kept = minimise({"event": "slot", "name": "handled_as", "value": "handoff", "timestamp": 1.0})
    assert kept is not None and kept["value"] == "handoff"
