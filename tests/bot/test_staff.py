"""`bot.staff.staff_panel`: the panel shows the decision the turn made; it never decides itself."""

from __future__ import annotations

import datetime as dt

from bot.conversation import Questionnaire, Turn
from bot.rules import Ask, Criterion, Outcome, decide
from bot.staff import staff_panel
from bot.state import State

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.timezone.utc)
FACTS = {"age": 80, "hospital_stay": "yes", "rehab_plan": "yes", "municipality": "ballerup"}


def test_the_criteria_are_the_turns_decision_not_a_new_one() -> None:
    """Given an Ask, the panel shows its criteria, whatever the facts would decide now."""
    decision = Ask("rehab_plan", (Criterion("hospital_stay", "met"), Criterion("rehab_plan", "unknown")))
    panel = staff_panel(State(facts={"age": 80}, order=("age",), pending="rehab_plan"), decision)
    assert [(c["id"], c["status"]) for c in panel["criteria"]] == [
        ("hospital_stay", "met"),
        ("rehab_plan", "unknown"),
    ]
    assert panel["legal_basis"] == [] and panel["read_aloud"] is None and panel["pending"] == "rehab_plan"


def test_with_an_outcome_the_panel_reads_the_typed_outcome() -> None:
    outcome = decide(FACTS, today=NOW.date())
    assert isinstance(outcome, Outcome)
    state = State(facts=FACTS, order=tuple(FACTS), outcome=outcome)
    panel = staff_panel(state, outcome, read_aloud="Genoptræning ...")
    assert [c["id"] for c in panel["criteria"]] == [c.id for c in outcome.criteria]
    assert panel["legal_basis"] == [ref.cite() for ref in outcome.legal_basis] == ["Sundhedsloven § 140"]
    assert panel["read_aloud"] == "Genoptræning ..."


def test_every_turn_carries_the_decision_for_the_panel() -> None:
    """A turn that asks nothing new (here 'hvorfor?') still has the decision for the pending question."""
    facts = {"age": 8, "hospital_stay": "no"}
    state = State(facts=facts, order=tuple(facts), pending="child_disability", staff=True)
    result = Questionnaire(now=NOW).turn(state, Turn("hvorfor spørger du om det", "ask_why", confidence=0.95))
    expected = decide(facts, today=NOW.date())
    assert result.handler == "explain" and isinstance(result.decision, Ask) and result.decision == expected
    assert result.decision.criteria == expected.criteria != ()
