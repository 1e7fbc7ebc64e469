"""`summarise` over hand-made event lists: one rule per test, no Rasa, no database."""

from __future__ import annotations

import pytest

from bot.analytics.records import HIDDEN, blank_understood, clean, clean_text, minimise, summarise
from tests.analytics.events import Conversation


def finished_rehabilitation() -> Conversation:
    c = Conversation(channel="citizen", municipality="ballerup")
    c.user("jeg er 80 og kommet hjem fra sygehuset").action("action_triage").ask("rehab_plan")
    c.slots(pending="rehab_plan", order=["age", "hospital_stay"], facts={"age": 80})
    c.user("ja", "affirm").action("action_triage").outcome("rehabilitation").ask("draft_offer")
    return c.slots(order=["age", "hospital_stay", "rehab_plan"], draft={"step": "draft_offer"})


def test_a_finished_conversation_has_outcome_turns_questions_and_left_at_the_draft_offer() -> None:
    record = summarise("s1", finished_rehabilitation().events)
    assert record.outcome == "rehabilitation" and record.completed
    assert record.turns == 2 and record.questions_answered == 3
    assert record.questions_reached == ("rehab_plan", "draft_offer")
    assert record.last_question == "draft_offer"
    assert record.municipality == "ballerup" and record.channel == "citizen"
    assert record.fallbacks == 0 and not record.handoff_requested and not record.draft_created


def test_duration_runs_from_first_to_last_message() -> None:
    c = Conversation()
    c.user("hej", "greet", after=2).action("utter_greet").bot("Hej")
    c.user("min mor på 84", after=60).action("action_triage").ask("hospital_stay").slots(
        pending="hospital_stay"
    )
    record = summarise("s", c.events)
    assert 60 < record.duration_seconds < 61
    assert record.last_question == "hospital_stay" and record.outcome is None


def test_clarify_that_misses_is_a_fallback_but_clarify_that_parses_an_answer_is_not() -> None:
    c = Conversation()
    c.user("?", "nlu_fallback").action("action_clarify").bot("Jeg er ikke sikker").slots(misses=1)
    c.user("80", "nlu_fallback").action("action_clarify").ask("hospital_stay").slots(pending="hospital_stay")
    record = summarise("s", c.events)
    assert record.fallbacks == 1
    assert [(n.text, n.kind) for n in record.not_understood] == [("?", "fallback")]


def test_out_of_scope_is_not_understood_with_the_open_question() -> None:
    c = Conversation()
    c.user("min mor").action("action_triage").ask("age").slots(pending="age")
    c.user("hvornår hentes skraldet?", "out_of_scope").action("action_out_of_scope").ask("age").slots(
        pending="age"
    )
    (item,) = summarise("s", c.events).not_understood
    assert (item.text, item.kind, item.question) == ("hvornår hentes skraldet?", "out_of_scope", "age")


def test_answers_to_private_draft_fields_are_never_not_understood() -> None:
    """A name or a diagnosis NLU took for out of scope is still the draft's answer."""
    c = Conversation()
    c.user("ja").action("action_triage").ask("need_description").slots(draft={"step": "need_description"})
    c.user("har sclerose og falder", "out_of_scope").action("action_out_of_scope").ask("diagnoses")
    c.slots(draft={"step": "diagnoses"})
    c.user("ssss", "nlu_fallback").action("action_clarify").slots(misses=1, draft={"step": "diagnoses"})
    assert summarise("s", c.events).not_understood == ()


def test_a_draft_answer_nlu_took_for_handoff_is_not_a_handoff() -> None:
    c = Conversation()
    c.user("ja").action("action_triage").ask("person_name").slots(draft={"step": "person_name"})
    c.user("Test Person", "handoff").action("action_handoff").ask("date_of_birth")
    c.slots(draft={"step": "date_of_birth"})
    assert not summarise("s", c.events).handoff_requested


def test_handoff_requested_and_draft_created() -> None:
    c = Conversation()
    c.user("jeg vil tale med en medarbejder", "handoff").action("action_handoff").bot(
        None, handoff={"phone": "1"}
    )
    c.slots()
    c.user("gem").action("action_triage").bot("Gemt", draft={"reference": "TG-2026-000001", "url": "x"})
    c.slots(draft={"step": None, "reference": "TG-2026-000001"})
    record = summarise("s", c.events)
    assert record.handoff_requested and record.draft_created
    assert record.draft_references == ("TG-2026-000001",) and record.last_question is None


def test_staff_channel_and_municipality_fall_back_from_outcome_to_facts_to_metadata() -> None:
    c = Conversation(channel="staff", municipality="aarhus")
    c.user("hej", "greet").action("utter_greet")
    assert summarise("s", c.events).municipality == "aarhus"
    c.slots(facts={"municipality": "hjoerring"})
    assert summarise("s", c.events).municipality == "hjoerring"
    c.user("ja").action("action_triage").outcome("none", municipality="ballerup")
    record = summarise("s", c.events)
    assert record.municipality == "ballerup" and record.channel == "staff" and record.outcome == "none"


def test_cpr_numbers_and_draft_tokens_are_cleaned() -> None:
    text = "cpr 010116-1234 og https://kommune.dk/udkast/AbCdEfGhIjKlMnOpQrStUvWx123"
    cleaned = clean_text(text)
    assert "010116" not in cleaned and "AbCdEfGh" not in cleaned
    assert "[CPR-nummer fjernet]" in cleaned and "/udkast/[link fjernet]" in cleaned
    c = Conversation()
    c.user("sss 0202161234", "nlu_fallback").action("action_clarify").slots(misses=1)
    assert summarise("s", c.events).not_understood[0].text == "sss [CPR-nummer fjernet]"


def test_minimised_events_give_the_same_record() -> None:
    c = finished_rehabilitation()
    c.user("hvad med skraldet", "out_of_scope").action("action_out_of_scope").bot("Det kan jeg ikke")
    c.slots(draft={"step": "draft_offer"}).user("farvel", "goodbye").action("utter_goodbye").bot("Farvel")
    full = summarise("s", c.events)
    minimal = [m for e in c.events if (m := minimise(e)) is not None]
    assert summarise("s", minimal) == full
    assert all("value" not in m or m["name"] != "outcome" for m in minimal)


def test_blank_understood_keeps_only_not_understood_texts_and_the_unhandled_last_one() -> None:
    c = Conversation()
    c.user("min datter er 6").action("action_triage").ask("hospital_stay").slots(pending="hospital_stay")
    c.user("?", "nlu_fallback").action("action_clarify").slots(pending="hospital_stay", misses=1)
    c.user("nej tak", "deny")
    minimal = [m for e in c.events if (m := minimise(e)) is not None]
    texts = [e["text"] for e in blank_understood(minimal) if e["event"] == "user"]
    assert texts == ["", "?", "nej tak"]
    incomplete = minimal[: minimal.index(next(e for e in minimal if e.get("text") == "?")) + 2]
    assert incomplete[-1] == {
        "event": "action",
        "name": "action_clarify",
        "timestamp": incomplete[-1]["timestamp"],
    }
    assert [e["text"] for e in blank_understood(incomplete) if e["event"] == "user"] == ["", "?"]
    assert summarise("s", blank_understood(minimal)) == summarise("s", minimal)


def test_hidden_marker_is_danish() -> None:
    assert HIDDEN.startswith("[") and "udkast" in HIDDEN


def test_clean_masks_text_but_never_rewrites_conversation_ids() -> None:
    """A random hex id may hold ten digits that read as a CPR number; it is an id, not citizen text.

    (Seen once in CI: 'e-2506dbea31f2404599383b7191bf3430' came back from an export with a mask inside.)
    """
    sender = "e-2506dbea31f2404599383b7191bf3430"
    cleaned = clean({"conversation_id": sender, "sender_id": sender, "text": f"cpr {sender[13:23]}"})
    assert cleaned["conversation_id"] == cleaned["sender_id"] == sender
    assert cleaned["text"] == "cpr [CPR-nummer fjernet]"


@pytest.mark.parametrize("old_slot_names", [False, True], ids=["named-as-the-state", "stored-before-the-rename"])
def test_the_state_slots_are_read_by_their_names_and_by_their_old_names(old_slot_names: bool) -> None:
    """`order`, `pending`, `misses` (bot/state.py); conversations stored before the rename have
    `answer_order`, `pending_question`, `fallback_count`: both count, raw and minimised."""
    c = Conversation(old_slot_names=old_slot_names)
    c.user("min mor på 84").action("action_turn").slot("handled_as", "answer").ask("hospital_stay")
    c.slots(pending="hospital_stay", order=["age", "who"])
    c.user("blåbærgrød", "nlu_fallback").action("action_turn").slot("handled_as", "not_understood")
    c.ask("hospital_stay").slots(pending="hospital_stay", order=["age", "who"], misses=1)
    minimised = [kept for e in c.events if (kept := minimise(e)) is not None]
    for events in (c.events, minimised):
        record = summarise("s", events)
        assert record.questions_answered == 2 and record.last_question == "hospital_stay"
        assert [(n.text, n.kind, n.question) for n in record.not_understood] == [
            ("blåbærgrød", "fallback", "hospital_stay")
        ]
