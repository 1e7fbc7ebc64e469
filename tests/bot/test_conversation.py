"""The questionnaire state machine: corrections, back, summary, handoff, bad input. No Rasa."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.conversation import Questionnaire, Result, Turn
from bot.privacy import CPR_MASK
from bot.state import State

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.timezone.utc)  # Monday 10:00 in Denmark


def q() -> Questionnaire:
    return Questionnaire(now=NOW)


def run(*turns: tuple[str, str | None], state: State | None = None) -> Result:
    result = Result(state or State(), ())
    for text, intent in turns:
        result = q().answer(result.state, Turn(text, intent))
    return result


def asked(result: Result) -> str | None:
    questions = [r.custom["question"]["fact"] for r in result.replies if r.custom and "question" in r.custom]
    return questions[-1] if questions else None


def test_long_first_message_skips_what_was_said() -> None:
    """'min søn på 8 har CP' gives age, who and disability: the next question is about hospital."""
    result = run(("min søn på 8 har CP, kan han få træning?", "ask_maintenance_training"))
    assert result.state.facts == {
        "age": 8,
        "who": "parent",
        "diagnosis_type": "severe_physical",
        "child_disability": "yes",
    }
    assert asked(result) == "hospital_stay"
    question = result.replies[-1].custom["question"]  # type: ignore[index]
    assert question["kind"] == "yes_no"
    assert [o["value"] for o in question["options"]] == ["yes", "no", "dont_know"]
    assert [b.label for b in result.replies[-1].buttons] == ["Ja", "Nej", "Ved ikke"]


def test_a_full_child_conversation_reaches_maintenance_training() -> None:
    result = run(
        ("min søn på 8 har CP", "ask_maintenance_training"),
        ("nej", "deny"),
        ("ja det har han", "affirm"),
        ("nej", "deny"),
        ("nej", "deny"),
        ("Hjørring", "inform"),
    )
    assert result.state.outcome is not None and result.state.outcome.offer == "maintenance_training"
    assert result.decision == result.state.outcome  # the typed outcome is kept; the payload is the reply's
    shown = [r for r in result.replies if r.custom and "outcome" in r.custom]
    outcome = shown[0].custom["outcome"]  # type: ignore[index]
    assert outcome["offer"] == "maintenance_training"
    assert outcome["legal_basis"][0]["law"] == "Barnets lov"
    assert outcome["contact"]["phone"] == "72 33 58 50"
    assert outcome["contact"]["open_now"] is False
    assert "Kommunen træffer afgørelsen" in shown[0].text
    assert result.replies[-1].custom["question"]["fact"] == "draft_offer"  # type: ignore[index]


def test_correction_reasks_only_what_is_affected() -> None:
    """'nej vent, hun er 19' turns the child into an adult: the adult questions follow, facts kept."""
    result = run(
        ("min datter på 8 har CP", "ask_maintenance_training"),
        ("nej", "deny"),
        ("nej vent, hun er 19", "correct"),
    )
    assert result.state.facts["age"] == 19
    assert result.state.facts["hospital_stay"] == "no"
    assert any("rettet" in r.text for r in result.replies)
    assert asked(result) == "goal"


def test_correction_of_an_answer_that_does_not_change_the_route() -> None:
    """Correcting the age from 8 to 9 keeps every child answer and asks the same next question."""
    before = run(("min søn på 8 har CP", None), ("nej", "deny"))
    after = q().answer(before.state, Turn("nej vent, han er 9", "correct"))
    assert after.state.facts["age"] == 9 and asked(after) == asked(before)


def test_button_answer_names_its_fact() -> None:
    """A button sends fact and value, so a stale button still sets the right fact."""
    state = run(("jeg er 80", None)).state
    result = q().answer(
        state,
        Turn(
            "/inform",
            "inform",
            [{"entity": "fact", "value": "hospital_stay"}, {"entity": "choice", "value": "yes"}],
        ),
    )
    assert result.state.facts["hospital_stay"] == "yes" and asked(result) == "rehab_plan"


def test_ret_button_from_summary_reasks_that_question() -> None:
    state = run(("jeg er 80", None), ("nej", "deny")).state
    summary = q().summary(state)
    assert "Dine svar" in summary.replies[0].text
    ret = [b for b in summary.replies[0].buttons if b.entities == {"fact": "age"}]
    assert ret and ret[0].intent == "correct"
    result = q().answer(state, Turn("/correct", "correct", [{"entity": "fact", "value": "age"}]))
    assert "age" not in result.state.facts and asked(result) == "age"
    assert result.state.facts["hospital_stay"] == "no"


def test_go_back_one_step_and_nothing_to_undo() -> None:
    state = run(("jeg er 80", None), ("nej", "deny")).state
    back = q().go_back(state)
    assert "hospital_stay" not in back.state.facts and asked(back) == "hospital_stay"
    empty = q().go_back(State())
    assert "ikke noget at gå tilbage" in empty.replies[0].text


def test_start_over_forgets_everything() -> None:
    state = run(("jeg er 80", None), ("nej", "deny")).state
    assert q().start_over(state).state == State()


def test_digression_explains_and_repeats_the_question() -> None:
    state = run(("jeg er 80", None)).state
    result = q().explain(state)
    assert result.replies[0].text.startswith("Derfor spørger jeg:")
    assert asked(result) == "hospital_stay" and result.state == state


def test_handoff_asks_municipality_then_gives_contact_and_continues() -> None:
    state = run(("jeg er 80", None)).state
    asking = q().handoff(state)
    assert asked(asking) == "municipality"
    done = q().answer(asking.state, Turn("Brønderslev", "inform"))
    handoff = [r for r in done.replies if r.custom and "handoff" in r.custom]
    assert handoff and handoff[0].custom["handoff"]["phone"] == "99 45 44 20"  # type: ignore[index]
    assert handoff[0].custom["handoff"]["open_now"] is True  # type: ignore[index]
    assert asked(done) == "hospital_stay"


def test_handoff_with_known_municipality_answers_at_once() -> None:
    state = run(("jeg bor i Ballerup og er 70", None)).state
    result = q().handoff(state)
    assert "44 77 31 17" in result.replies[0].text
    assert "Se telefontid og åbningstider" in result.replies[0].text  # Ballerup's hours are not in the seed


def test_fallback_first_clarifies_then_offers_a_person() -> None:
    first = q().not_understood(State(), Turn("blah blah", "nlu_fallback"))
    assert "forstod dig" in first.replies[0].text and len(first.replies[0].buttons) == 5
    second = q().not_understood(first.state, Turn("qwerty", "nlu_fallback"))
    assert "medarbejder" in second.replies[0].text
    assert asked(second) == "municipality"


def test_fallback_that_answers_the_question_is_used() -> None:
    state = run(("jeg er 80", None)).state
    result = q().not_understood(state, Turn("jo jo", "nlu_fallback"))
    assert result.state.facts["hospital_stay"] == "yes"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("hundrede", None),
        ("-3", "mellem 0 og 120"),
        ("200", "mellem 0 og 120"),
        ("🙂🙂🙂", "som et tal"),
        ("<script>alert(1)</script>", "som et tal"),
        ("", "som et tal"),
    ],
)
def test_bad_age_answers(text: str, message: str | None) -> None:
    """Wrong answers to the age question get a clear Danish message and the question again."""
    state = run(("hej", "ask_training_general")).state
    assert state.pending == "age"
    result = q().answer(state, Turn(text, "inform"))
    if message is None:
        assert result.state.facts["age"] == 100
        assert "100 år" in result.replies[0].text
    else:
        assert message in result.replies[0].text
        assert result.state.facts == state.facts and asked(result) == "age"


def test_bad_yes_no_answer_keeps_everything() -> None:
    state = run(("jeg er 80", None)).state
    result = q().answer(state, Turn("🙂", "inform"))
    assert "Ja, Nej eller Ved ikke" in result.replies[0].text
    assert result.state.facts == state.facts and asked(result) == "hospital_stay"


def test_cpr_number_is_masked_and_citizen_told_once() -> None:
    result = run(("min søn 010190-1234 er 8 år", None))
    assert "CPR-nummer" in result.replies[0].text
    assert all("010190" not in r.text for r in result.replies)
    assert result.state.facts["age"] == 8
    assert CPR_MASK not in str(result.state.facts)


def test_5000_characters_are_cut_and_said() -> None:
    text = "min mor på 84 " + "bliver dårligere og dårligere " * 200
    assert len(text) > 5000
    result = run((text, "ask_maintenance_training"))
    assert any("meget lang" in r.text for r in result.replies)
    assert result.state.facts["age"] == 84


def test_home_training_keyword_sets_topic() -> None:
    result = run(("hjemmetraening til vores datter på 6", None), ("nej", "deny"), ("ja", "affirm"))
    assert result.state.topic == "home_training" and asked(result) == "significant_permanent"


@pytest.mark.parametrize("text", [
    # found talking to the running bot (2026-12-02): the wish was lost in a long first message
    # (NLU: inform), and the outcome said "Hjemmetræning: ... Spørg mig, hvis det er aktuelt."
    "hej min søn er 7 aar og har cerebral parese, vi vil gerne selv træne ham derhjemme",
    "kan vi traene vores datter hjemme i stedet",
    "vi hjemmetrener vores dreng",
])
def test_parents_saying_they_would_train_the_child_at_home_ask_about_home_training(text: str) -> None:
    assert run((text, "inform")).state.topic == "home_training"


@pytest.mark.parametrize("text", [
    "jeg er 78 og kan godt træne selv derhjemme",  # an older citizen training alone
    "min mor kan ikke træne derhjemme",
    "vi kan ikke træne ham derhjemme",
])
def test_training_at_home_said_otherwise_is_no_wish_for_home_training(text: str) -> None:
    assert run((text, "inform")).state.topic is None


def test_staff_mode_phrases_questions_for_staff() -> None:
    result = run(("jeg er 80", None), state=State(staff=True))
    assert result.replies[-1].text.startswith("Spørg borgeren:")


def test_home_training_speaks_of_the_child_before_the_age_is_known() -> None:
    """Hjemmetræning is for children: "Hvor gammel er barnet?", not "personen"."""
    result = run(("hjemmetraening", "ask_home_training"))
    assert asked(result) == "age"
    assert result.replies[-1].text == "Hvor gammel er barnet?"
    other = run(("genoptraening", "ask_rehabilitation"))
    assert other.replies[-1].text == "Hvor gammel er personen?"
