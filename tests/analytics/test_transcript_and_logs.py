"""Transcripts hide draft answers and tokens; Rasa's broker errors do not copy citizens' text to logs."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.analytics.records import HIDDEN
from bot.analytics.transcript import REMOVED, Line, transcript
from tests.analytics.events import Conversation


def draft_conversation(*, one_message: bool = True) -> Conversation:
    c = Conversation(channel="citizen", one_message=one_message)
    c.user("jeg er 80, cpr 010150-1234").action("action_triage").ask("rehab_plan").slots(pending="rehab_plan")
    c.user("ja", "affirm").action("action_triage").outcome("rehabilitation").ask("person_name")
    c.slots(draft={"step": "person_name", "fields": {}})
    c.user("Åse Hansen", "handoff").action("action_handoff").ask("need_description")
    c.slots(draft={"step": "need_description", "fields": {"person_name": "Åse Hansen"}})
    c.user("Har sclerose og falder").action("action_triage")
    c.reply(
        "Tjek dit udkast:\n• Navn: Åse Hansen\n• Behov: Har sclerose og falder",
        question={"fact": "review"},
        draft_review={"person_name": "Åse Hansen"},
    )
    c.slots(
        draft={
            "step": "review",
            "fields": {"person_name": "Åse Hansen", "need_description": "Har sclerose og falder"},
        }
    )
    c.user("gem").action("action_triage")
    c.reply(
        "Gemt: https://k.dk/udkast/AbCdEfGhIjKlMnOpQrStUv. Hej Åse Hansen",
        draft={"reference": "TG-2026-000007"},
    )
    return c.slots(draft={"step": None, "reference": "TG-2026-000007"})


@pytest.mark.parametrize("one_message", [True, False], ids=["one-message", "stored-before-issue-11"])
def test_transcript_hides_draft_answers_the_review_and_tokens(one_message: bool) -> None:
    lines = transcript(draft_conversation(one_message=one_message).events)
    shown = " ".join(line.text for line in lines)
    assert (
        "Åse" not in shown and "sclerose" not in shown and "AbCdEfGh" not in shown and "010150" not in shown
    )
    assert HIDDEN in shown and REMOVED in shown and "[CPR-nummer fjernet]" in shown
    assert [line.question for line in lines if line.question] == [
        "rehab_plan",
        "person_name",
        "need_description",
        "review",
    ]
    assert any(line.hidden_review for line in lines)
    assert next(line.outcome for line in lines if line.outcome)["offer"] == "rehabilitation"
    assert any(line.draft_reference == "TG-2026-000007" for line in lines)
    assert not any("handoff" in line.notes for line in lines)  # the name NLU read as "handoff"


def bot_lines(lines: list[Line]) -> list[tuple[str, str | None, str | None, str | None]]:
    return [
        (line.text, line.question, (line.outcome or {}).get("offer"), line.draft_reference)
        for line in lines
        if line.speaker == "bot"
    ]


def test_one_line_per_bot_message_however_close_in_time() -> None:
    c = Conversation(channel="staff")
    c.user("jeg er 80").action("action_turn")
    c.bot("Tak.").reply("Har du været indlagt?", question={"fact": "hospital_stay"}, staff={"facts": []})
    c.slots(pending="hospital_stay")
    c.user("ja").action("action_turn").outcome("rehabilitation")
    c.bot(None, staff={"facts": []})  # a staff panel alone (a turn without replies) is no line
    c.slots()
    assert bot_lines(transcript(c.events)) == [
        ("Tak.", None, None, None),
        ("Har du været indlagt?", "hospital_stay", None, None),
        ("Resultat", None, "rehabilitation", None),
    ]


def test_stored_before_issue_11_custom_data_joins_the_text_before_it_in_its_turn() -> None:
    """By event order, not by time: a custom event seconds after its text still joins it, never a
    line of another turn; a custom event with no text before it in its turn stays a line."""
    c = Conversation(one_message=False)
    c.user("jeg er 80").action("action_turn").bot("Tak.").bot("Har du været indlagt?")
    c.bot(None, after=3.0, question={"fact": "hospital_stay"})
    c.bot(None, staff={"facts": []}).slots(pending="hospital_stay")
    c.user("ja").action("action_turn").bot(None, outcome={"offer": "rehabilitation", "legal_basis": []})
    c.slots()
    assert bot_lines(transcript(c.events)) == [
        ("Tak.", None, None, None),
        ("Har du været indlagt?", "hospital_stay", None, None),
        ("", None, "rehabilitation", None),
    ]


def test_transcript_marks_not_understood_and_handoff() -> None:
    c = Conversation()
    c.user("?", "nlu_fallback").action("action_clarify").bot("Jeg er ikke sikker").slots(misses=1)
    c.user("hvad med skraldet", "out_of_scope").action("action_out_of_scope").bot("Det kan jeg ikke").slots()
    c.user("medarbejder", "handoff").action("action_handoff").bot("Ring til os").slots()
    notes = [line.notes for line in transcript(c.events) if line.speaker == "user"]
    assert notes == [["fallback"], ["out_of_scope"], ["handoff"]]


def test_failed_broker_publish_is_logged_without_the_event(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from rasa.shared.core.domain import Domain

    from bot.rasa_tracker_store import MaskingSQLTrackerStore

    MaskingSQLTrackerStore(Domain.load("domain.yml"), dialect="sqlite", db=str(tmp_path / "t.db"))
    broker_log = logging.getLogger("rasa.core.brokers.pika")
    with caplog.at_level(logging.INFO, logger="rasa.core.brokers.pika"):
        broker_log.error(
            '{"event": "pika.events.publish.failed", "rasa_event": {"text": "min mor har sclerose"}, "level": "error"}'
        )
        broker_log.info("RabbitMQ connection to '127.0.0.1' was established.")
    messages = [record.getMessage() for record in caplog.records]
    assert "sclerose" not in " ".join(messages)
    assert "could not be published" in messages[0] and "established" in messages[1]
