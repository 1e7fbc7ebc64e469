"""Eligibility: named facts in, the next question or an outcome out.

The rules read facts through `_Evaluation.answer`; an unknown fact stops the
evaluation and becomes the next question. So the bot asks only what the route
needs, in the order the rules read it, and never what it already knows.
Legal references come from `bot.legal` (versioned data); Danish wording from
`bot.wording`. Nothing here knows about Rasa.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Literal, Mapping

from bot.legal import LegalRef, pension_age, refs_in_force, senior_transition_until
from bot.municipality import ContactArea, profile
from bot.questions import Answer, question

Offer = Literal["maintenance_training", "free_physiotherapy", "rehabilitation", "home_training", "none"]
OFFERS: tuple[Offer, ...] = (
    "maintenance_training",
    "free_physiotherapy",
    "rehabilitation",
    "home_training",
    "none",
)
Topic = Literal["maintenance_training", "free_physiotherapy", "rehabilitation", "home_training"] | None
AgeGroup = Literal["child", "adult", "senior"]
Status = Literal["met", "failed", "unknown"]
YES, NO, DONT_KNOW = "yes", "no", "dont_know"

# Criteria the answer "no" satisfies (exclusions): "can the person train alone?", "does the school's
# training cover the need?"
_EXCLUSIONS = frozenset({"can_train_alone", "already_free_physio", "regain_alone", "school_covers_need"})
# Choice answers that satisfy a criterion besides "yes": lack of motivation that is part of the illness
# does not count against rehabilitation (Ballerup: "medmindre manglende motivation er en del af sygdomsbilledet").
_ALSO_MET = {"motivated": frozenset({"illness"})}
_HOME_TRAINING_CRITERIA = ("significant_permanent", "special_day_offer", "parents_can_train")
_SENIOR_LAW = "Ældreloven"


@dataclasses.dataclass(frozen=True)
class Criterion:
    """One eligibility criterion as the rules saw it."""

    id: str
    status: Status


@dataclasses.dataclass(frozen=True)
class Ask:
    """The evaluation needs this fact next; `criteria` are those it read on the way (staff's rule trace)."""

    fact: str
    criteria: tuple[Criterion, ...] = dataclasses.field(default=(), compare=False)  # a by-product


@dataclasses.dataclass(frozen=True)
class Outcome:
    """Where the citizen is routed, and why."""

    offer: Offer
    variant: str
    reasons: tuple[str, ...]
    criteria: tuple[Criterion, ...]
    next_steps: tuple[str, ...]
    legal_basis: tuple[LegalRef, ...]
    contact_area: ContactArea
    municipality: str | None
    age_group: AgeGroup
    why_not: Mapping[Offer, str]
    provision: str | None = None  # what the offer rests on (bot/data/legal.yml); None for 'none'
    unknowns: tuple[str, ...] = ()  # facts answered "ved ikke" that the outcome rests on


Decision = Ask | Outcome


@dataclasses.dataclass(frozen=True)
class _Gate:
    """A criterion that, failed, ends in 'none': its reason code (also the variant) and what to do."""

    fact: str
    reason: str
    steps: tuple[str, ...]


_CHILD_DISABILITY = _Gate("child_disability", "child_no_disability", ("ordinary_offers", "ask_gp"))
_ALREADY_FREE_PHYSIO = _Gate("already_free_physio", "already_free_physio", ("keep_free_physio",))
_SCHOOL_COVERS_NEED = _Gate("school_covers_need", "school_trains", ("talk_to_school",))
_CHILD_EVERYDAY = _Gate("special_training_need", "child_everyday_training_enough", ("ordinary_offers",))
_ADULT_MAINTENANCE_GATES = (
    _Gate("can_train_alone", "can_train_alone", ("ordinary_offers",)),
    _Gate("risk_of_loss", "no_risk_of_loss", ("ordinary_offers", "other_services")),
    _Gate("needs_therapist", "no_therapist_need", ("ordinary_offers",)),
)
_REHABILITATION_GATES = (
    _Gate("regain_alone", "can_regain_alone", ("self_training", "apply_anyway")),
    _Gate("motivated", "not_motivated", ("when_ready", "apply_anyway")),
)


class _Need(Exception):
    def __init__(self, fact: str) -> None:
        super().__init__(fact)
        self.fact = fact


def age_group(age: Answer) -> AgeGroup:
    """'child' under 18, 'senior' from pension age, else 'adult'; buttons give the group."""
    if isinstance(age, int):
        if age < 18:
            return "child"
        return "senior" if age >= pension_age() else "adult"
    if age in ("child", "adult", "senior"):
        return age  # type: ignore[return-value]
    raise ValueError(f"not an age: {age!r}")


def criterion_status(fact: str, value: Answer) -> Status:
    if value == DONT_KNOW:
        return "unknown"
    if value in _ALSO_MET.get(fact, ()):
        return "met"
    satisfied = (value == NO) if fact in _EXCLUSIONS else (value == YES)
    return "met" if satisfied else "failed"


class _Evaluation:
    def __init__(self, facts: Mapping[str, Answer], topic: Topic, today: dt.date) -> None:
        self.facts = facts
        self.topic = topic
        self.today = today
        self.reasons: list[str] = []
        self.criteria: list[Criterion] = []
        self.unknowns: list[str] = []

    def answer(self, fact: str) -> Answer:
        question(fact)  # a fact the rules read must have a question
        if fact not in self.facts:
            raise _Need(fact)
        value = self.facts[fact]
        if value == DONT_KNOW and fact not in self.unknowns:
            self.unknowns.append(fact)
        return value

    def check(self, fact: str) -> Status:
        """Read a criterion fact and record how it stands (unknown while it is being asked)."""
        if fact not in self.facts:
            self.criteria.append(Criterion(fact, "unknown"))
        status = criterion_status(fact, self.answer(fact))
        self.criteria.append(Criterion(fact, status))
        return status

    def reason(self, code: str) -> None:
        self.reasons.append(code)

    def all_met(self, *facts: str) -> bool:
        """Every one of these criteria was read and met (none merely unknown)."""
        return all(criterion_status(f, self.facts[f]) == "met" for f in facts if f in self.facts)

    def outcome(
        self,
        offer: Offer,
        *,
        variant: str,
        provision: str | None,
        area: ContactArea,
        steps: tuple[str, ...],
        group: AgeGroup,
    ) -> Outcome:
        municipality = self.answer("municipality")
        assert isinstance(municipality, str)
        prof = profile(municipality)
        legal = refs_in_force(provision, self.today, overrides=prof.legal_overrides) if provision else ()
        if any(ref.law == _SENIOR_LAW for ref in legal):
            steps = (*steps, "senior_which_law")
            if self.today <= senior_transition_until():
                steps = (*steps, "senior_transition")
        return Outcome(
            offer=offer,
            variant=variant,
            reasons=tuple(self.reasons),
            criteria=tuple(self.criteria),
            next_steps=steps + self._age_steps(offer),
            legal_basis=legal,
            contact_area=area,
            municipality=None if municipality == "other" else municipality,
            age_group=group,
            why_not=_why_not(offer, self.facts, group, self.reasons),
            provision=provision,
            unknowns=tuple(self.unknowns),
        )

    def _age_steps(self, offer: Offer) -> tuple[str, ...]:
        age = self.facts.get("age")
        if age == 17 and offer == "maintenance_training":
            return ("child_training_ends_at_18",)
        if age in (18, 19):
            return ("turned_18",)
        return ()


def decide(facts: Mapping[str, Answer], *, topic: Topic = None, today: dt.date) -> Decision:
    """The next question to ask, or the outcome when the facts suffice."""
    evaluation = _Evaluation(facts, topic, today)
    try:
        group = age_group(evaluation.answer("age"))
        if group == "child":
            return _child(evaluation)
        return _adult(evaluation, group)
    except _Need as need:
        return Ask(need.fact, tuple(evaluation.criteria))


def _hospital_plan(ev: _Evaluation) -> Answer | None:
    """The genoptræningsplan after a hospital stay: 'yes', 'no', 'dont_know', or None without a stay.

    A stay needs a plan for rehabilitation after hospital (Sundhedsloven § 140: "efter udskrivning
    fra sygehus ... jf. § 84 om genoptræningsplaner"). "No stay" but "a plan" is a contradiction: ask.
    """
    stay = ev.answer("hospital_stay")
    if stay == NO and ev.facts.get("rehab_plan") == YES:
        conflict = ev.answer("hospital_plan_conflict")
        if conflict == "stay_with_plan":
            return YES
        if conflict == DONT_KNOW:
            ev.reason("hospital_plan_unknown")
            return DONT_KNOW
        return None
    if stay == YES:
        plan = ev.answer("rehab_plan")
        if plan == YES:
            return YES
        ev.reason("hospital_plan_unknown" if plan == DONT_KNOW else "hospital_without_plan")
        return plan
    if stay == DONT_KNOW:
        ev.reason("hospital_stay_unknown")
    return None


def _child(ev: _Evaluation) -> Outcome:
    if _hospital_plan(ev) == YES:
        ev.reason("child_after_hospital")
        return ev.outcome(
            "rehabilitation",
            variant="child_after_hospital",
            provision="rehabilitation_child_after_hospital",
            area="children",
            steps=("ask_hospital_doctor", "ask_gp_free_physio"),
            group="child",
        )
    if stop := _first_failed(ev, (_CHILD_DISABILITY,), area="children", group="child"):
        return stop
    if ev.all_met("child_disability"):
        ev.reason("child_disability")
    if ev.topic == "home_training":
        for fact in _HOME_TRAINING_CRITERIA:
            if ev.check(fact) == "failed":
                ev.reason(f"home_training_{fact}_failed")
                break
        else:
            met = ev.all_met(*_HOME_TRAINING_CRITERIA)
            ev.reason("home_training_wanted" if met else "home_training_partly_unknown")
            return ev.outcome(
                "home_training",
                variant="child",
                provision="home_training",
                area="home_training",
                steps=(
                    "home_training_application",
                    "home_training_conditions",
                    "home_training_assessment",
                    "home_training_follow_up",
                    "home_training_compensation",
                ),
                group="child",
            )
    if ev.topic == "free_physiotherapy":
        diagnosis = ev.answer("diagnosis_type")
        if diagnosis in ("severe_physical", "progressive"):
            return _free_physiotherapy(ev, diagnosis, group="child")
    if stop := _first_failed(ev, (_CHILD_EVERYDAY,), area="children", group="child"):
        return stop
    if ev.answer("school_trains") == YES:
        if stop := _first_failed(ev, (_SCHOOL_COVERS_NEED,), area="children", group="child"):
            return stop
        if ev.facts.get("school_covers_need") == NO:
            ev.reason("school_training_not_enough")
    if stop := _first_failed(ev, (_ALREADY_FREE_PHYSIO,), area="children", group="child"):
        return stop
    met = ev.all_met("child_disability", "special_training_need", "already_free_physio")
    ev.reason("child_special_training_need" if met else "child_criteria_partly_unknown")
    return ev.outcome(
        "maintenance_training",
        variant="child",
        provision="maintenance_child",
        area="children",
        steps=("apply_children", "child_decision", "parents_attend"),
        group="child",
    )


def _adult(ev: _Evaluation, group: AgeGroup) -> Outcome:
    senior = group == "senior"
    plan = _hospital_plan(ev)
    if plan == YES:
        ev.reason("hospital_with_plan")
        return ev.outcome(
            "rehabilitation",
            variant="after_hospital",
            provision="rehabilitation_after_hospital",
            area="rehabilitation",
            steps=("plan_sent_by_hospital", "rehab_letter", "free_choice_after_7_days", "transport_172"),
            group=group,
        )
    if ev.topic == "free_physiotherapy":
        diagnosis = ev.answer("diagnosis_type")
        if diagnosis in ("severe_physical", "progressive"):
            return _free_physiotherapy(ev, diagnosis, group=group)
    goal = ev.answer("goal")
    if goal == "regain":
        ev.reason("goal_regain")
        if ev.check("can_improve") != "failed":
            if stop := _first_failed(ev, _REHABILITATION_GATES, area="adults", group=group):
                return stop
            met = ev.all_met("can_improve", "regain_alone", "motivated")
            ev.reason("can_improve" if met else "rehabilitation_partly_unknown")
            if ev.facts.get("motivated") == "illness":
                ev.reason("motivation_part_of_illness")
            steps: tuple[str, ...] = ("apply_visitation", "visitation_letter")
            if plan in (NO, DONT_KNOW):
                steps = ("ask_hospital_for_plan", *steps)
            return ev.outcome(
                "rehabilitation",
                variant="without_hospital_senior" if senior else "without_hospital",
                provision="rehabilitation_without_hospital_senior"
                if senior
                else "rehabilitation_without_hospital",
                area="adults",
                steps=steps,
                group=group,
            )
        ev.reason("cannot_improve")
    elif goal == "maintain":
        ev.reason("goal_maintain")
    if stop := _first_failed(ev, (_ALREADY_FREE_PHYSIO,), area="adults", group=group):
        return stop
    diagnosis = ev.answer("diagnosis_type")
    if diagnosis in ("severe_physical", "progressive"):
        return _free_physiotherapy(ev, diagnosis, group=group)
    if stop := _first_failed(ev, _ADULT_MAINTENANCE_GATES, area="adults", group=group):
        return stop
    met = ev.all_met("can_train_alone", "risk_of_loss", "needs_therapist")
    ev.reason("maintenance_criteria_met" if met else "maintenance_partly_unknown")
    return ev.outcome(
        "maintenance_training",
        variant="senior" if senior else "adult",
        provision="maintenance_senior" if senior else "maintenance_adult",
        area="adults",
        steps=("apply_visitation", "home_visit", "maintenance_decision", "group_training"),
        group=group,
    )


def _first_failed(
    ev: _Evaluation, gates: tuple[_Gate, ...], *, area: ContactArea, group: AgeGroup
) -> Outcome | None:
    """Check the gates in order; the first failed one gives its 'none' outcome."""
    for gate in gates:
        if ev.check(gate.fact) == "failed":
            ev.reason(gate.reason)
            return ev.outcome(
                "none", variant=gate.reason, provision=None, area=area, steps=gate.steps, group=group
            )
    return None


def _free_physiotherapy(ev: _Evaluation, diagnosis: Answer, *, group: AgeGroup) -> Outcome:
    """Vederlagsfri fysioterapi *may* apply: the doctor judges the diagnosis list and refers."""
    ev.reason(f"diagnosis_{diagnosis}")
    referral = ev.check("doctor_referral")
    if referral == "met":
        ev.reason("has_referral")
        steps: tuple[str, ...] = ("choose_physiotherapist", "referral_valid_one_year")
    else:
        ev.reason("needs_referral")
        steps = ("ask_doctor_for_referral", "choose_physiotherapist", "referral_valid_one_year")
    return ev.outcome(
        "free_physiotherapy",
        variant="child" if group == "child" else "adult",
        provision="free_physiotherapy",
        area="children" if group == "child" else "adults",
        steps=steps,
        group=group,
    )


def _why_not(
    offer: Offer, facts: Mapping[str, Answer], group: AgeGroup, reasons: list[str]
) -> dict[Offer, str]:
    """One reason code per other route, for the 'why not the others' lines."""
    child = group == "child"
    lines: dict[Offer, str] = {}
    if offer != "rehabilitation":
        if "hospital_plan_unknown" in reasons:
            lines["rehabilitation"] = "plan_unknown"
        elif "hospital_without_plan" in reasons:
            lines["rehabilitation"] = "child_no_plan" if child else "no_plan_no_regain"
        elif "can_regain_alone" in reasons:
            lines["rehabilitation"] = "can_regain_alone"
        elif "not_motivated" in reasons:
            lines["rehabilitation"] = "not_motivated"
        elif "cannot_improve" in reasons:
            lines["rehabilitation"] = "cannot_improve"
        else:
            lines["rehabilitation"] = "no_recent_loss"
    if offer != "free_physiotherapy":
        diagnosis = facts.get("diagnosis_type")
        if offer == "none" and facts.get("already_free_physio") == YES:
            lines["free_physiotherapy"] = "already_receiving"
        elif diagnosis == "other":
            lines["free_physiotherapy"] = "diagnosis_not_covered"
        else:
            lines["free_physiotherapy"] = "needs_diagnosis_and_referral"
    if offer != "home_training":
        lines["home_training"] = "parents_choice" if child else "children_only"
    if offer != "maintenance_training":
        if offer == "rehabilitation":
            lines["maintenance_training"] = "after_rehabilitation"
        elif offer == "free_physiotherapy":
            lines["maintenance_training"] = "other_law_covers"
        elif offer == "home_training":
            lines["maintenance_training"] = "home_training_instead"
        else:
            lines["maintenance_training"] = "criteria_not_met"
    return lines
