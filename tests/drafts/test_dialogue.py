"""The draft conversation after an outcome: consent first, fields checked, review, save, delete."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from bot.conversation import Questionnaire, Result, Turn
from bot.drafts.dialogue import DraftService
from bot.drafts.store import DraftStore
from bot.state import DraftState, State

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.timezone.utc)
REHAB = ("hun er 80 og lige kommet hjem fra sygehuset", "ja", "Ballerup")


@pytest.fixture()
def store(tmp_path: Path) -> DraftStore:
    return DraftStore(f"sqlite:///{tmp_path / 'drafts.db'}", key=Fernet.generate_key())


def questionnaire(
    store: DraftStore, conversation: str = "conv-1", initials: str | None = None
) -> Questionnaire:
    service = DraftService(
        store=lambda: store,
        base_url="http://127.0.0.1:8080",
        conversation_id=conversation,
        staff_initials=initials,
    )
    return Questionnaire(now=NOW, drafts=service)


def say(q: Questionnaire, state: State, *texts: str) -> Result:
    result = Result(state, ())
    for text in texts:
        result = q.answer(result.state, Turn(text))
    return result


def button(q: Questionnaire, state: State, fact: str, choice: str) -> Result:
    entities = [{"entity": "fact", "value": fact}, {"entity": "choice", "value": choice}]
    return q.answer(state, Turn("/inform", "inform", entities))


def asked(result: Result) -> Any:
    found = [r.custom["question"]["fact"] for r in result.replies if r.custom and "question" in r.custom]
    return found[-1] if found else None


def rows(store: DraftStore) -> list[Any]:
    with store.engine.connect() as conn:
        return list(conn.execute(sa.select(store.table)).fetchall())


def test_outcome_offers_a_draft_and_no_declines_politely(store: DraftStore) -> None:
    q = questionnaire(store)
    result = say(q, State(), *REHAB)
    assert result.state.outcome and asked(result) == "draft_offer"
    declined = say(q, result.state, "nej tak")
    assert "Intet er gemt" in declined.replies[0].text
    assert declined.state.draft == DraftState() and declined.state.outcome == result.state.outcome
    assert rows(store) == []


def test_consent_is_asked_before_anything_personal_and_refusal_stores_nothing(store: DraftStore) -> None:
    q = questionnaire(store)
    result = say(q, State(), *REHAB, "ja")
    assert asked(result) == "draft_consent"
    consent_text = result.replies[-1].text
    assert "30 dage" in consent_text and "Intet bliver sendt" in consent_text and "slet" in consent_text
    refused = say(q, result.state, "nej")
    assert "Intet er gemt" in refused.replies[0].text and rows(store) == []


@pytest.mark.parametrize(("offer", "consent"), [("gerne", "ja"), ("bestemt", "helt sikkert"), ("ja", "aldrig")])
def test_the_draft_steps_read_yes_and_no_as_the_questionnaire_does(store: DraftStore, offer: str, consent: str) -> None:
    """One yes/no parser: 'bestemt' and 'helt sikkert' (once only the questionnaire's) answer a draft step."""
    q = questionnaire(store)
    result = say(q, say(q, State(), *REHAB).state, offer, consent)
    if consent == "aldrig":
        assert "Intet er gemt" in result.replies[0].text and rows(store) == []
    else:
        assert asked(result) == "applicant_relation"


def fill(q: Questionnaire, state: State) -> Result:
    result = say(q, state, "ja", "ja")
    assert asked(result) == "applicant_relation"  # 'who' was not said in the questionnaire
    result = button(q, result.state, "applicant_relation", "self")
    return say(
        q,
        result.state,
        "Else Testesen",
        "1.2.1946",
        "12 34 56 78",
        "spring over",
        "Jeg er svag efter min hofteoperation og skal træne gang.",
        "ved ikke",
        "nej",
        "ja",
    )


def test_full_draft_with_review_correction_and_save(store: DraftStore) -> None:
    q = questionnaire(store)
    result = fill(q, say(q, State(), *REHAB).state)
    assert asked(result) == "review"
    review = result.replies[-1]
    assert "Else Testesen" in review.text and "12 34 56 78" in review.text
    assert rows(store) == []  # nothing stored before the citizen chose "Gem udkastet"
    fix = q.answer(result.state, Turn("/correct", "correct", [{"entity": "fact", "value": "phone"}]))
    assert asked(fix) == "phone"
    bad = say(q, fix.state, "1234")
    assert "8 cifre" in bad.replies[0].text and asked(bad) == "phone"
    fixed = say(q, bad.state, "87654321")
    assert asked(fixed) == "review" and "87 65 43 21" in fixed.replies[-1].text
    saved = button(q, fixed.state, "review", "save")
    draft = saved.replies[-1].custom["draft"]  # type: ignore[index]
    assert draft["reference"].startswith("TG-2026-") and draft["url"].startswith(
        "http://127.0.0.1:8080/udkast/"
    )
    assert saved.state.draft.reference == draft["reference"]
    stored = rows(store)
    assert len(stored) == 1 and "Else Testesen" not in str(stored[0])  # encrypted at rest
    token = draft["url"].rsplit("/", 1)[1]
    loaded = store.get_by_token(token, NOW)
    assert loaded is not None and loaded.input.person_name == "Else Testesen"
    assert loaded.input.phone == "87 65 43 21" and loaded.input.offer == "rehabilitation"


def test_a_draft_made_by_staff_carries_their_initials_and_a_citizens_none(store: DraftStore) -> None:
    for conversation, initials in (("staff-call", "AB"), ("citizen-chat", None)):
        q = questionnaire(store, conversation, initials)
        ready = fill(q, say(q, State(staff=initials is not None), *REHAB).state)
        saved = button(q, ready.state, "review", "save")
        token = saved.replies[-1].custom["draft"]["url"].rsplit("/", 1)[1]  # type: ignore[index]
        loaded = store.get_by_token(token, NOW)
        assert loaded is not None and loaded.input.created_by_staff_initials == initials


def test_retrying_the_save_does_not_create_a_second_draft(store: DraftStore) -> None:
    q = questionnaire(store)
    ready = fill(q, say(q, State(), *REHAB).state)
    first = button(q, ready.state, "review", "save")
    second = button(q, ready.state, "review", "save")  # the same turn delivered twice
    assert first.replies[-1].custom == second.replies[-1].custom
    assert len(rows(store)) == 1


def test_delete_my_draft_removes_the_row(store: DraftStore) -> None:
    q = questionnaire(store)
    saved = button(q, fill(q, say(q, State(), *REHAB).state).state, "review", "save")
    deleted = q.delete_draft(saved.state)
    assert "slettet" in deleted.replies[0].text and rows(store) == []
    again = q.delete_draft(deleted.state)
    assert "ikke noget gemt udkast" in again.replies[0].text


def test_another_conversation_cannot_delete_a_draft_named_in_its_slot(store: DraftStore) -> None:
    """Issue 10: a forged `draft` slot with someone else's reference deletes nothing and reveals nothing."""
    owner = questionnaire(store, conversation="citizen-a")
    saved = button(owner, fill(owner, say(owner, State(), *REHAB).state).state, "review", "save")
    stranger = questionnaire(store, conversation="citizen-b")
    forged = stranger.delete_draft(saved.state)
    unknown = stranger.delete_draft(State(draft=DraftState(reference="TG-2026-999999")))
    assert [r.text for r in forged.replies] == [r.text for r in unknown.replies]
    assert "ikke noget gemt udkast" in forged.replies[0].text
    assert len(rows(store)) == 1
    assert "slettet" in owner.delete_draft(saved.state).replies[0].text and rows(store) == []


def test_cpr_in_description_is_masked_and_citizen_told(store: DraftStore) -> None:
    q = questionnaire(store)
    state = say(q, State(), *REHAB, "ja", "ja").state
    state = button(q, state, "applicant_relation", "self").state
    result = say(q, state, "Else Testesen", "1.2.1946", "12345678", "spring over")
    described = say(q, result.state, "Mit cpr er 010146-1234, jeg har brug for træning")
    assert "CPR-nummer" in described.replies[0].text
    assert "010146" not in str(described.state.draft)


@pytest.mark.parametrize(
    ("field_inputs", "error"),
    [
        (("Else", "31.2.1946"), "findes ikke"),
        (("Else", "1.2.2099"), "fremtiden"),
        (("Else", "hundrede"), "dag, måned og år"),
        (("",), "Udfyld"),
    ],
)
def test_bad_fields_get_a_danish_message_and_the_question_again(
    store: DraftStore, field_inputs: tuple[str, ...], error: str
) -> None:
    q = questionnaire(store)
    state = say(q, State(), *REHAB, "ja", "ja").state
    state = button(q, state, "applicant_relation", "self").state
    result = say(q, state, *field_inputs)
    assert any(error in r.text for r in result.replies)
    assert asked(result) in ("person_name", "date_of_birth")


def test_email_required_when_phone_skipped(store: DraftStore) -> None:
    q = questionnaire(store)
    state = say(q, State(), *REHAB, "ja", "ja").state
    state = button(q, state, "applicant_relation", "self").state
    result = say(q, state, "Else Testesen", "1.2.1946", "spring over", "spring over")
    assert "e-mailadresse" in result.replies[0].text and asked(result) == "email"
    bad = say(q, result.state, "ikke en mail")
    assert "gyldig e-mailadresse" in bad.replies[0].text


def test_home_training_asks_method_and_reminds_attachments(store: DraftStore) -> None:
    q = questionnaire(store)
    result = say(
        q, State(), "vi vil gerne hjemmetræne vores datter på 6", "nej", "ja", "ja", "ja", "ja", "Aarhus"
    )
    assert result.state.outcome and result.state.outcome.offer == "home_training"
    result = say(q, result.state, "ja", "ja")
    assert asked(result) == "person_name"  # 'who' (parent) carried over from the questionnaire
    result = say(
        q,
        result.state,
        "Lille Testesen",
        "1.2.2020",
        "12345678",
        "spring over",
        "Hun har CP.",
        "cerebral parese",
        "børnehave",
        "ja",
    )
    assert asked(result) == "training_method"
    assert any("tids- og faseplan" in r.text for r in result.replies)


def test_free_physiotherapy_draft_is_a_summary_for_the_doctor(store: DraftStore) -> None:
    q = questionnaire(store)
    result = say(
        q, State(), "jeg har sclerose, kan jeg få vederlagsfri fysioterapi?", "54", "nej", "nej", "Ballerup"
    )
    assert result.state.outcome and result.state.outcome.offer == "free_physiotherapy"
    assert "til lægen" in result.replies[-1].text


def test_no_draft_offered_for_none(store: DraftStore) -> None:
    q = questionnaire(store)
    result = say(q, State(), "jeg er 72", "nej", "bevare", "nej", "andet", "ja", "Brønderslev")
    assert result.state.outcome and result.state.outcome.offer == "none"
    assert result.state.draft == DraftState() and asked(result) is None


def test_back_during_a_draft_goes_back_one_draft_step_and_never_becomes_an_answer(store: DraftStore) -> None:
    """'Tilbage' while the name is asked: the previous draft step again, not a name "/go_back"."""
    q = questionnaire(store)
    result = say(q, State(), *REHAB, "ja", "ja")
    result = button(q, result.state, "applicant_relation", "self")
    result = say(q, result.state, "Else Testesen")
    assert asked(result) == "date_of_birth"
    back = q.go_back(result.state)
    assert asked(back) == "person_name"
    assert back.state.facts == result.state.facts and back.state.outcome == result.state.outcome
    again = say(q, back.state, "Else Andersen")
    assert asked(again) == "date_of_birth" and again.state.draft.fields["person_name"] == "Else Andersen"
    first = q.go_back(say(q, State(), *REHAB).state)  # at the draft offer: back to the last question
    assert first.state.draft == DraftState() and asked(first) == "municipality"


def test_your_answers_during_a_draft_shows_them_and_asks_the_draft_step_again(store: DraftStore) -> None:
    q = questionnaire(store)
    result = say(q, State(), *REHAB, "ja", "ja")
    result = button(q, result.state, "applicant_relation", "self")
    shown = q.summary(result.state)
    assert "Dine svar" in shown.replies[0].text and not shown.replies[0].buttons  # no "Ret" mid-draft
    assert asked(shown) == "person_name" and shown.state == result.state
