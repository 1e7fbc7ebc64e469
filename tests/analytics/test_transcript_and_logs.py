"""Transcripts hide draft answers and tokens; Rasa's broker errors do not copy citizens' text to logs."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.analytics.records import HIDDEN
from bot.analytics.transcript import REMOVED, transcript
from tests.analytics.events import Conversation


def draft_conversation() -> Conversation:
    c = Conversation(channel="citizen")
    c.user("jeg er 80, cpr 010150-1234").action("action_triage").ask("rehab_plan").slots(pending="rehab_plan")
    c.user("ja", "affirm").action("action_triage").outcome("rehabilitation").ask("person_name")
    c.slots(draft={"step": "person_name", "fields": {}})
    c.user("Åse Hansen", "handoff").action("action_handoff").ask("need_description")
    c.slots(draft={"step": "need_description", "fields": {"person_name": "Åse Hansen"}})
    c.user("Har sclerose og falder").action("action_triage")
    c.bot("Tjek dit udkast:\n• Navn: Åse Hansen\n• Behov: Har sclerose og falder")
    c.bot(None, question={"fact": "review"}, draft_review={"person_name": "Åse Hansen"})
    c.slots(
        draft={
            "step": "review",
            "fields": {"person_name": "Åse Hansen", "need_description": "Har sclerose og falder"},
        }
    )
    c.user("gem").action("action_triage")
    c.bot(
        "Gemt: https://k.dk/udkast/AbCdEfGhIjKlMnOpQrStUv. Hej Åse Hansen",
        draft={"reference": "TG-2026-000007"},
    )
    return c.slots(draft={"step": None, "reference": "TG-2026-000007"})


def test_transcript_hides_draft_answers_the_review_and_tokens() -> None:
    lines = transcript(draft_conversation().events)
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
