"""Eligibility rules: every route, every criterion, the boundaries. No Rasa."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from bot import wording
from bot.parse import extract_facts
from bot.rules import Ask, Criterion, Outcome, age_group, decide

TODAY = dt.date(2026, 11, 23)

CHILD_MAINTENANCE = {
    "age": 8,
    "hospital_stay": "no",
    "child_disability": "yes",
    "special_training_need": "yes",
    "school_trains": "no",
    "already_free_physio": "no",
    "municipality": "koebenhavn",
}
ADULT_MAINTENANCE = {
    "age": 80,
    "hospital_stay": "no",
    "goal": "maintain",
    "already_free_physio": "no",
    "diagnosis_type": "other",
    "can_train_alone": "no",
    "risk_of_loss": "yes",
    "needs_therapist": "yes",
    "municipality": "broenderslev",
}


def outcome(facts: dict[str, Any], topic: Any = None, today: dt.date = TODAY) -> Outcome:
    decision = decide(facts, topic=topic, today=today)
    assert isinstance(decision, Outcome), decision
    return decision


def test_first_question_is_age() -> None:
    """With nothing known the rules ask the age first."""
    assert decide({}, today=TODAY) == Ask("age")


@pytest.mark.parametrize(
    ("age", "group"),
    [(0, "child"), (17, "child"), (18, "adult"), (66, "adult"), (67, "senior"), (120, "senior")],
)
def test_age_boundaries(age: int, group: str) -> None:
    """17 is a child, 18 an adult, 67 (pension age) a senior."""
    assert age_group(age) == group


def test_child_maintenance_training() -> None:
    """A child with a disability and a special training need not met elsewhere: maintenance."""
    result = outcome(CHILD_MAINTENANCE)
    assert result.offer == "maintenance_training"
    assert [ref.cite() for ref in result.legal_basis] == ["Barnets lov § 90, nr. 3"]
    assert {c.id: c.status for c in result.criteria} == {
        "child_disability": "met",
        "special_training_need": "met",
        "already_free_physio": "met",
    }


def test_child_maintenance_before_barnets_lov_cites_serviceloven_44() -> None:
    """Before 1 January 2024 the same case rested on SEL § 44 (legal refs are versioned)."""
    result = outcome(CHILD_MAINTENANCE, today=dt.date(2023, 12, 31))
    assert [ref.cite() for ref in result.legal_basis] == ["Serviceloven § 44"]


@pytest.mark.parametrize(
    ("fact", "value", "offer", "variant"),
    [
        ("child_disability", "no", "none", "child_no_disability"),
        ("special_training_need", "no", "none", "child_everyday_training_enough"),
        ("already_free_physio", "yes", "none", "already_free_physio"),
        ("child_disability", "dont_know", "maintenance_training", "child"),
        ("school_trains", "dont_know", "maintenance_training", "child"),
    ],
)
def test_child_maintenance_criteria(fact: str, value: str, offer: str, variant: str) -> None:
    """Each child criterion: 'no' (or 'yes' for an exclusion) fails it; 'ved ikke' leaves it to the municipality."""
    result = outcome({**CHILD_MAINTENANCE, fact: value})
    assert (result.offer, result.variant) == (offer, variant)


@pytest.mark.parametrize(("age", "offer"), [(17, "maintenance_training"), (18, None)])
def test_turning_18(age: int, offer: Any) -> None:
    """At 17 children's rules apply (with a note that they end); at 18 the adult questions start."""
    decision = decide({**CHILD_MAINTENANCE, "age": age}, today=TODAY)
    if offer:
        assert isinstance(decision, Outcome) and decision.offer == offer
        assert "child_training_ends_at_18" in decision.next_steps
    else:
        assert decision == Ask("goal")


def test_18_year_old_gets_adult_routes_and_a_note() -> None:
    """An 18-year-old is routed as an adult and told children's training does not carry over."""
    result = outcome({**ADULT_MAINTENANCE, "age": 18})
    assert result.offer == "maintenance_training" and result.variant == "adult"
    assert [ref.cite() for ref in result.legal_basis] == ["Serviceloven § 86, stk. 2"]
    assert "turned_18" in result.next_steps


def test_child_after_hospital_is_rehabilitation_by_hospital_doctor() -> None:
    """A child discharged with a genoptræningsplan: genoptræning granted by the hospital doctor."""
    result = outcome({"age": 5, "hospital_stay": "yes", "rehab_plan": "yes", "municipality": "aarhus"})
    assert (result.offer, result.variant) == ("rehabilitation", "child_after_hospital")
    assert "ask_hospital_doctor" in result.next_steps


def test_child_questions_in_order() -> None:
    """Only the child questions, one at a time, in the order the rules read them."""
    facts: dict[str, Any] = {"age": 8}
    asked = []
    for fact in (
        "hospital_stay",
        "child_disability",
        "special_training_need",
        "school_trains",
        "already_free_physio",
        "municipality",
    ):
        decision = decide(facts, today=TODAY)
        assert decision == Ask(fact)
        asked.append(fact)
        facts[fact] = CHILD_MAINTENANCE[fact]
    assert outcome(facts).offer == "maintenance_training"


HOME = {
    **CHILD_MAINTENANCE,
    "significant_permanent": "yes",
    "special_day_offer": "yes",
    "parents_can_train": "yes",
    "municipality": "aarhus",
}


def test_home_training() -> None:
    """Parents who want to home-train a child who meets the conditions: home training (Barnets lov § 85)."""
    result = outcome(HOME, topic="home_training")
    assert result.offer == "home_training"
    cites = [ref.cite() for ref in result.legal_basis]
    assert cites == ["Barnets lov § 82, stk. 1, nr. 3", "Barnets lov § 85"]
    assert "home_training_application" in result.next_steps


@pytest.mark.parametrize("fact", ["significant_permanent", "special_day_offer", "parents_can_train"])
def test_home_training_criterion_failed_falls_back_to_maintenance(fact: str) -> None:
    """A failed home-training condition is explained, and maintenance training is checked instead."""
    result = outcome({**HOME, fact: "no"}, topic="home_training")
    assert result.offer == "maintenance_training"
    assert f"home_training_{fact}_failed" in result.reasons


def test_home_training_is_only_checked_when_parents_raise_it() -> None:
    """Without the topic, the home-training questions are not asked."""
    result = outcome(HOME)
    assert result.offer == "maintenance_training"
    assert result.reasons == ("child_disability", "child_special_training_need")
    assert [c.id for c in result.criteria] == ["child_disability", "special_training_need", "already_free_physio"]
    assert [ref.cite() for ref in result.legal_basis] == ["Barnets lov § 90, nr. 3"]


def test_child_free_physiotherapy_when_asked_for() -> None:
    """A child with a severe physical disability whose parents ask about free physio: the doctor refers."""
    facts = {
        "age": 8,
        "hospital_stay": "no",
        "child_disability": "yes",
        "diagnosis_type": "severe_physical",
        "doctor_referral": "no",
        "municipality": "koebenhavn",
    }
    result = outcome(facts, topic="free_physiotherapy")
    assert result.offer == "free_physiotherapy" and "ask_doctor_for_referral" in result.next_steps


def test_adult_rehabilitation_after_hospital_with_plan() -> None:
    """Discharged with a genoptræningsplan: Sundhedsloven § 140, 7-day free choice."""
    result = outcome({"age": 80, "hospital_stay": "yes", "rehab_plan": "yes", "municipality": "ballerup"})
    assert (result.offer, result.variant) == ("rehabilitation", "after_hospital")
    assert [ref.cite() for ref in result.legal_basis] == ["Sundhedsloven § 140"]
    assert "free_choice_after_7_days" in result.next_steps


def test_hospital_without_plan_goes_on_to_ask_the_goal() -> None:
    """Discharged without a plan: not § 140; the goal decides."""
    assert decide({"age": 70, "hospital_stay": "yes", "rehab_plan": "no"}, today=TODAY) == Ask("goal")


def test_senior_rehabilitation_without_hospital_cites_aeldreloven_9_2_3() -> None:
    """Since 1 July 2025 a pensioner's rehabilitation outside hospital is ældreloven § 9, stk. 2, nr. 3 (§ 10)."""
    facts = {
        "age": 75,
        "hospital_stay": "yes",
        "rehab_plan": "no",
        "goal": "regain",
        "can_improve": "yes",
        "regain_alone": "no",
        "motivated": "yes",
        "municipality": "ballerup",
    }
    result = outcome(facts)
    assert result.offer == "rehabilitation" and result.variant == "without_hospital_senior"
    assert [r.cite() for r in result.legal_basis] == ["Ældreloven § 9, stk. 2, nr. 3", "Ældreloven § 10"]
    assert "senior_which_law" in result.next_steps
    assert result.next_steps[0] == "ask_hospital_for_plan"
    before = outcome(facts, today=dt.date(2025, 6, 30))
    assert [r.cite() for r in before.legal_basis] == ["Serviceloven § 86, stk. 1"]


def test_adult_rehabilitation_without_hospital() -> None:
    """Under pension age, after illness at home: Serviceloven § 86 stk. 1."""
    result = outcome(
        {
            "age": 50,
            "hospital_stay": "no",
            "goal": "regain",
            "can_improve": "dont_know",
            "regain_alone": "no",
            "motivated": "yes",
            "municipality": "ballerup",
        }
    )
    assert result.offer == "rehabilitation"
    assert [r.cite() for r in result.legal_basis] == ["Serviceloven § 86, stk. 1"]


def test_cannot_improve_goes_on_to_maintenance_questions() -> None:
    """No potential to improve: genoptræning fails, the maintenance questions follow."""
    decision = decide({"age": 50, "hospital_stay": "no", "goal": "regain", "can_improve": "no"}, today=TODAY)
    assert decision == Ask("already_free_physio")


def test_adult_maintenance_senior_cites_aeldreloven() -> None:
    """An 80-year-old meeting all five criteria: maintenance under ældreloven (to be confirmed)."""
    result = outcome(ADULT_MAINTENANCE)
    assert (result.offer, result.variant) == ("maintenance_training", "senior")
    assert result.legal_basis[0].law == "Ældreloven"


@pytest.mark.parametrize(
    ("fact", "value", "variant"),
    [
        ("can_train_alone", "yes", "can_train_alone"),
        ("risk_of_loss", "no", "no_risk_of_loss"),
        ("needs_therapist", "no", "no_therapist_need"),
        ("already_free_physio", "yes", "already_free_physio"),
    ],
)
def test_adult_maintenance_criteria(fact: str, value: str, variant: str) -> None:
    """Each adult criterion failing gives 'none' with its own explanation."""
    result = outcome({**ADULT_MAINTENANCE, fact: value})
    assert (result.offer, result.variant) == ("none", variant)
    assert result.legal_basis == ()


@pytest.mark.parametrize("fact", ["can_train_alone", "risk_of_loss", "needs_therapist"])
def test_adult_criteria_unknown_leaves_it_to_the_municipality(fact: str) -> None:
    """'Ved ikke' does not fail a criterion; it is recorded as unknown."""
    result = outcome({**ADULT_MAINTENANCE, fact: "dont_know"})
    assert result.offer == "maintenance_training"
    assert {c.id: c.status for c in result.criteria}[fact] == "unknown"


@pytest.mark.parametrize(
    ("diagnosis", "referral", "step"),
    [
        ("severe_physical", "yes", "choose_physiotherapist"),
        ("progressive", "no", "ask_doctor_for_referral"),
        ("progressive", "dont_know", "ask_doctor_for_referral"),
    ],
)
def test_adult_free_physiotherapy(diagnosis: str, referral: str, step: str) -> None:
    """Severe physical disability or progressive disease: vederlagsfri fysioterapi (§ 140a) via the doctor."""
    result = outcome({**ADULT_MAINTENANCE, "diagnosis_type": diagnosis, "doctor_referral": referral})
    assert result.offer == "free_physiotherapy"
    assert [r.cite() for r in result.legal_basis] == ["Sundhedsloven § 140a"]
    assert result.next_steps[0] == step


def test_free_physio_topic_asks_diagnosis_before_the_goal() -> None:
    """Asking about free physio: the diagnosis is asked before the goal."""
    decision = decide({"age": 60, "hospital_stay": "no"}, topic="free_physiotherapy", today=TODAY)
    assert decision == Ask("diagnosis_type")


def test_municipality_asked_last_and_other_uses_national_default() -> None:
    """The municipality is asked only when an outcome needs its contact; 'other' is allowed."""
    facts = {k: v for k, v in ADULT_MAINTENANCE.items() if k != "municipality"}
    assert decide(facts, today=TODAY) == Ask("municipality")
    assert outcome({**facts, "municipality": "other"}).municipality is None


def test_why_not_has_one_line_per_other_route() -> None:
    """Every outcome explains why not each of the other three routes."""
    for facts, topic in ((CHILD_MAINTENANCE, None), (ADULT_MAINTENANCE, None), (HOME, "home_training")):
        result = outcome(facts, topic)
        expected = {"maintenance_training", "free_physiotherapy", "rehabilitation", "home_training"} - {
            result.offer
        }
        assert set(result.why_not) == expected


def test_an_ask_carries_the_rule_trace_so_far_with_the_asked_criterion_unknown() -> None:
    """Staff see which criteria are met, failed or still being asked."""
    facts: dict[str, Any] = {"age": 8, "hospital_stay": "no", "child_disability": "yes"}
    decision = decide({**facts, "special_training_need": "yes"}, today=TODAY)
    assert isinstance(decision, Ask) and decision.fact == "school_trains"
    assert [(c.id, c.status) for c in decision.criteria] == [
        ("child_disability", "met"),
        ("special_training_need", "met"),
    ]
    covers = decide({**facts, "special_training_need": "yes", "school_trains": "yes"}, today=TODAY)
    assert isinstance(covers, Ask) and covers.fact == "school_covers_need"
    assert covers.criteria[-1] == Criterion("school_covers_need", "unknown")
    first = decide({"age": 8}, today=TODAY)
    assert isinstance(first, Ask) and first.criteria == ()  # hospital stay is a route, not a criterion


# -- issue 12: wrong routes and overclaims found against the seeds ------------------------------
NOW = dt.datetime(2026, 11, 30, 10, 0, tzinfo=dt.timezone.utc)


def rendered(result: Outcome, facts: dict[str, Any]) -> str:
    return wording.outcome_message(result, facts, NOW).text


def test_a_child_at_hospital_control_is_not_sent_to_hospital_rehabilitation() -> None:
    """'går til kontrol på hospitalet' is no stay: the children's criteria are asked (København seed)."""
    text = "Min datter på 6 har spastisk lammelse og går til kontrol på hospitalet"
    facts: dict[str, Any] = {**extract_facts(text)}
    assert "hospital_stay" not in facts and facts["child_disability"] == "yes"
    assert decide(facts, today=TODAY) == Ask("hospital_stay")
    result = outcome({**CHILD_MAINTENANCE, **facts, "hospital_stay": "no"})
    assert result.offer == "maintenance_training"
    assert "Sundhedsloven § 140" not in rendered(result, facts)


def test_a_child_after_a_stay_without_a_plan_goes_through_the_childrens_criteria() -> None:
    """Rehabilitation after hospital needs a stay *and* a plan; a lasting disability is maintenance."""
    facts = {**CHILD_MAINTENANCE, "hospital_stay": "yes"}
    assert decide(facts, today=TODAY) == Ask("rehab_plan")
    result = outcome({**facts, "rehab_plan": "no"})
    assert result.offer == "maintenance_training"
    assert result.why_not["rehabilitation"] == "child_no_plan"


def test_why_not_maintenance_after_rehabilitation_says_what_the_seeds_say() -> None:
    """Not 'kommer først på tale, når genoptræningen er slut' (in no seed): Ballerup's 'genoptræning
    efterfulgt af vedligeholdende træning' and København's 'ikke kunne ydes efter anden lovgivning'."""
    facts = {"age": 80, "hospital_stay": "yes", "rehab_plan": "yes", "municipality": "ballerup"}
    text = rendered(outcome(facts), facts)
    assert "kommer først på tale" not in text
    assert "genoptræning efterfulgt af vedligeholdende træning" in text


@pytest.mark.parametrize("diagnosis", ["severe_physical", "progressive"])
def test_free_physiotherapy_is_worded_as_possible_and_the_doctors_to_judge(diagnosis: str) -> None:
    """The card never states the disability as a fact; the doctor judges the list (Ballerup seed)."""
    facts = {**ADULT_MAINTENANCE, "diagnosis_type": diagnosis, "doctor_referral": "no", "who": "self"}
    result = outcome(facts)
    text = rendered(result, facts)
    assert result.offer == "free_physiotherapy"
    assert "kan være relevant" in text and "lægen" in text and "liste" in text
    assert "Du har et svært, varigt fysisk handicap" not in text
    assert "Du har en fremadskridende sygdom" not in text
    assert result.why_not["maintenance_training"] == "other_law_covers"
    assert "Vurderer lægen" in text  # what would change it: maintenance stays possible


def test_severe_disability_needs_the_24_hour_criterion_in_the_reason() -> None:
    facts = {**ADULT_MAINTENANCE, "diagnosis_type": "severe_physical", "doctor_referral": "yes"}
    assert "døgnets 24 timer" in rendered(outcome(facts), facts)


def test_dont_know_to_the_plan_is_shown_as_unknown_not_as_no_plan() -> None:
    facts = {**ADULT_MAINTENANCE, "hospital_stay": "yes", "rehab_plan": "dont_know"}
    result = outcome(facts)
    text = rendered(result, facts)
    assert "rehab_plan" in result.unknowns
    assert "har ikke en genoptræningsplan" not in text and "ikke lavet en genoptræningsplan" not in text
    assert "Det skal kommunen afklare med dig" in text
    assert result.why_not["rehabilitation"] == "plan_unknown"


def test_three_dont_knows_for_home_training_are_not_reported_as_met() -> None:
    facts = {**HOME, "significant_permanent": "dont_know", "special_day_offer": "dont_know"}
    facts["parents_can_train"] = "dont_know"
    result = outcome(facts, topic="home_training")
    text = rendered(result, facts)
    assert result.offer == "home_training"
    assert set(result.unknowns) == {"significant_permanent", "special_day_offer", "parents_can_train"}
    assert "home_training_partly_unknown" in result.reasons and "home_training_wanted" not in result.reasons
    assert "opfylder barnet betingelserne" not in text and "uafklarede" in text


REGAIN = {
    "age": 50,
    "hospital_stay": "no",
    "goal": "regain",
    "can_improve": "yes",
    "regain_alone": "no",
    "motivated": "yes",
    "municipality": "ballerup",
}


def test_rehabilitation_without_hospital_asks_potential_own_training_and_motivation_apart() -> None:
    """Ballerup: potential, 'ikke selvstændigt i stand til at forbedre', motivation: three questions."""
    facts: dict[str, Any] = {"age": 50, "hospital_stay": "no", "goal": "regain", "municipality": "ballerup"}
    for fact in ("can_improve", "regain_alone", "motivated"):
        assert decide(facts, today=TODAY) == Ask(fact)
        facts[fact] = REGAIN[fact]
    assert outcome(facts).offer == "rehabilitation"


def test_who_can_retrain_alone_gets_no_rehabilitation() -> None:
    """Ballerup: 'Borgere, hvor det fagligt vurderes, at de kan genoptræne sig selv' cannot receive it."""
    result = outcome({**REGAIN, "regain_alone": "yes"})
    assert (result.offer, result.variant) == ("none", "can_regain_alone")
    assert "apply_anyway" in result.next_steps


@pytest.mark.parametrize(("motivated", "offer"), [("no", "none"), ("illness", "rehabilitation")])
def test_motivation_unless_its_lack_is_part_of_the_illness(motivated: str, offer: str) -> None:
    """'medmindre manglende motivation er en del af sygdomsbilledet' is a rule, not help text."""
    result = outcome({**REGAIN, "motivated": motivated})
    assert result.offer == offer
    if motivated == "illness":
        assert "motivation_part_of_illness" in result.reasons


def test_home_training_asks_for_the_target_group_and_lists_the_aarhus_conditions() -> None:
    """Aarhus: 'berettiget til et særligt dagtilbud/er i målgruppen' - not attending one."""
    asked = wording.question_message("special_day_offer", {"age": 8}).text
    assert "målgruppen" in asked and "Går barnet i" not in asked
    facts = {**HOME}
    text = rendered(outcome(facts, topic="home_training"), facts)
    for condition in ("trivsel", "dokumenterbar og egnet", "mindst lige så god"):
        assert condition in text


@pytest.mark.parametrize(
    ("covers", "offer", "reason"),
    [
        ("yes", "none", "school_trains"),
        ("no", "maintenance_training", "school_training_not_enough"),
        ("dont_know", "maintenance_training", None),
    ],
)
def test_school_training_excludes_only_when_it_covers_the_need(covers: str, offer: str, reason: Any) -> None:
    """København: 'skoletilbud allerede tilbyder træning, der dækker barnets behov'."""
    result = outcome({**CHILD_MAINTENANCE, "school_trains": "yes", "school_covers_need": covers})
    assert result.offer == offer
    if reason:
        assert reason in result.reasons
    if covers == "dont_know":
        assert result.unknowns == ("school_covers_need",)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [("stay_with_plan", "rehabilitation"), ("no_plan", Ask("goal")), ("dont_know", Ask("goal"))],
)
def test_no_hospital_but_a_plan_is_a_contradiction_to_ask_about(answer: str, expected: Any) -> None:
    facts: dict[str, Any] = {"age": 70, "hospital_stay": "no", "rehab_plan": "yes", "municipality": "aarhus"}
    assert decide(facts, today=TODAY) == Ask("hospital_plan_conflict")
    decision = decide({**facts, "hospital_plan_conflict": answer}, today=TODAY)
    if isinstance(expected, str):
        assert isinstance(decision, Outcome) and decision.offer == expected
    else:
        assert decision == expected


def test_a_17_year_olds_ends_at_18_note_is_only_on_maintenance() -> None:
    facts = {"age": 17, "hospital_stay": "yes", "rehab_plan": "yes", "municipality": "aarhus"}
    assert "child_training_ends_at_18" not in outcome(facts).next_steps
    free = {**CHILD_MAINTENANCE, "age": 17, "diagnosis_type": "progressive", "doctor_referral": "no"}
    assert "child_training_ends_at_18" not in outcome(free, topic="free_physiotherapy").next_steps
    assert "child_training_ends_at_18" in outcome({**CHILD_MAINTENANCE, "age": 17}).next_steps


def test_senior_maintenance_cites_aeldreloven_10_jf_5_for_confirmation() -> None:
    result = outcome(ADULT_MAINTENANCE)
    assert [(r.cite(), r.needs_confirmation) for r in result.legal_basis] == [
        ("Ældreloven § 10, jf. § 5", True)
    ]
    assert {"senior_which_law", "senior_transition"} <= set(result.next_steps)
    later = outcome(ADULT_MAINTENANCE, today=dt.date(2027, 7, 2))
    assert "senior_transition" not in later.next_steps and "senior_which_law" in later.next_steps


def test_none_says_the_citizen_may_always_apply() -> None:
    facts = {**ADULT_MAINTENANCE, "can_train_alone": "yes"}
    result = outcome(facts)
    text = rendered(result, facts)
    assert result.offer == "none"
    assert "Der er ikke et træningstilbud at søge her" not in text
    assert "Du kan altid søge" in text


@pytest.mark.parametrize(
    ("facts", "topic", "body"),
    [
        ({"age": 80, "hospital_stay": "yes", "rehab_plan": "yes", "municipality": "ballerup"}, None, "Styrelsen for Patientklager"),
        (ADULT_MAINTENANCE, None, "Ankestyrelsen"),
        (CHILD_MAINTENANCE, None, "Ankestyrelsen"),
        (HOME, "home_training", "Ankestyrelsen"),
        ({**REGAIN, "age": 40}, None, "Ankestyrelsen"),
    ],
)
def test_every_outcome_leading_to_a_decision_has_complaint_guidance(facts: Any, topic: Any, body: str) -> None:
    result = outcome(facts, topic)
    message = wording.outcome_message(result, facts, NOW)
    assert message.payload["complaint"]["body"] == body
    assert "Afgørelse og klage:" in message.text
