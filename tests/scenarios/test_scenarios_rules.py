"""The scenario table through `bot.rules.decide` and `bot.wording.outcome_message` (no Rasa).

Three views of every case: the rules given all its facts (the offer, law, complaint body,
unknowns and wording); the conversation the bot would have (the opening's stated facts, then
one question at a time: it asks only what the case answers, never twice, and needs them all);
and the table itself (every fact a known question, every route, boundary age, municipality,
a seed sentence that is really in the seed, and docs/scenarios.md regenerated from it).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from bot import wording
from bot.parse import extract_facts
from bot.questions import questions
from bot.rules import Ask, Outcome, decide
from tests.scenarios import runner
from tests.scenarios.runner import Case

CASES = runner.load_cases()
OURS = tuple(m for m in runner.MUNICIPALITIES if m != "other")


def _now(case: Case) -> dt.datetime:
    return dt.datetime.combine(case.today, dt.time(10, 0), tzinfo=dt.timezone.utc)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_rules_give_the_expected_outcome(case: Case) -> None:
    decision = decide(case.facts, topic=case.topic, today=case.today)  # type: ignore[arg-type]
    assert not isinstance(decision, Ask), f"the rules still ask {decision.fact!r}, which the case does not answer"
    assert isinstance(decision, Outcome)
    message = wording.outcome_message(decision, case.facts, _now(case))
    problems = runner.check_outcome(case, message.payload, message.text)
    assert not problems, "\n".join([*problems, "--- the outcome text:", message.text])


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_the_conversation_asks_exactly_what_the_case_answers(case: Case) -> None:
    """As the bot would: the opening's facts (and the website's municipality), then one question at a time."""
    stated = extract_facts(case.opening)
    wrong = {f: v for f, v in stated.items() if case.facts.get(f) != v}
    assert not wrong, f"the opening states {wrong}, the case says { {f: case.facts.get(f) for f in wrong} }"
    known = dict(stated)
    if case.municipality in OURS:
        known["municipality"] = case.municipality  # channel metadata from the municipal site
    asked: list[str] = []
    for _ in range(len(case.facts) + 1):
        decision = decide(known, topic=case.topic, today=case.today)  # type: ignore[arg-type]
        if isinstance(decision, Outcome):
            break
        fact = decision.fact
        assert fact not in asked, f"{fact!r} asked twice (asked: {asked})"
        assert fact in case.facts, f"the bot asks {fact!r}, which the case does not answer (asked: {asked})"
        asked.append(fact)
        known[fact] = case.facts[fact]
    else:
        pytest.fail(f"no outcome after {asked}")
    assert decision.offer == case.expect.offer, f"offer {decision.offer!r} after asking {asked}"
    unused = set(case.facts) - set(asked) - set(known) - {"who"}
    assert not unused, f"the case answers {sorted(unused)}, which the bot never asks (asked: {asked})"


# -- the table itself --------------------------------------------------------------------------------
def test_the_table_has_enough_distinct_cases() -> None:
    assert len(CASES) >= 65
    duplicated = [i for i, n in Counter(c.id for c in CASES).items() if n > 1]
    assert not duplicated
    bad_ids = [c.id for c in CASES if not runner._ID.match(c.id)]
    assert not bad_ids


def test_every_fact_is_a_known_question_with_a_valid_answer() -> None:
    known = questions()
    problems = []
    for case in CASES:
        for fact, value in case.facts.items():
            if fact not in known:
                problems.append(f"{case.id}: {fact!r} is not a question in bot/data/questions.yml")
            elif known[fact].kind == "number":
                if not (isinstance(value, int) and (known[fact].min or 0) <= value <= (known[fact].max or 120)):
                    problems.append(f"{case.id}: {fact}={value!r} is not an age")
            elif value not in known[fact].options:
                problems.append(f"{case.id}: {fact}={value!r} not in {known[fact].options}")
        if "age" not in case.facts or "municipality" not in case.facts or "who" not in case.facts:
            problems.append(f"{case.id}: every case gives who, age and municipality")
    assert not problems, "\n".join(problems)


def test_every_route_age_boundary_municipality_and_topic_is_covered() -> None:
    assert {c.expect.offer for c in CASES} == set(runner.ROUTES)
    assert all(c.expect.offer == c.route for c in CASES), "a case is in the file of its expected offer"
    assert set(runner.BOUNDARY_AGES) <= {c.age for c in CASES}
    assert set(runner.MUNICIPALITIES) <= {c.municipality for c in CASES}
    assert set(runner.TOPICS) <= {c.topic for c in CASES}
    for age in runner.BOUNDARY_AGES:
        assert any(c.age == age and c.live for c in CASES), f"age {age} runs live too"


def test_unknowns_and_contradictions_are_covered() -> None:
    # the referral is the doctor's next step, not a criterion: "ved ikke" to it leaves nothing unknown
    unknown = [c for c in CASES if "dont_know" in {v for f, v in c.facts.items() if f != "doctor_referral"}]
    assert len(unknown) >= 10
    assert all(c.expect.unknowns for c in unknown), "a case with 'ved ikke' says which points stay unknown"
    conflicts = {c.facts.get("hospital_plan_conflict") for c in CASES}
    assert {"stay_with_plan", "no_plan", "dont_know"} <= conflicts
    assert all(c.facts.get("rehab_plan") == "yes" and c.facts.get("hospital_stay") == "no"
               for c in CASES if "hospital_plan_conflict" in c.facts)


def test_the_cases_named_in_issue_12_are_there() -> None:
    facts = [c.facts for c in CASES]
    # "Min datter på 6 har spastisk lammelse og går til kontrol på hospitalet": the children's criteria
    assert any(c.age == 6 and "kontrol på hospitalet" in c.opening and c.expect.offer == "maintenance_training"
               and "Sundhedsloven § 140" in c.expect.not_legal for c in CASES)
    assert any(f.get("hospital_stay") == "yes" and f.get("rehab_plan") == "dont_know" for f in facts)
    assert any(c.expect.offer == "home_training" and c.expect.unknowns is not None
               and len(c.expect.unknowns) == 3 for c in CASES)
    assert any(f.get("school_trains") == "yes" and f.get("school_covers_need") == "no" for f in facts)
    assert any(f.get("school_trains") == "yes" and f.get("school_covers_need") == "yes" for f in facts)
    assert any(c.age == 17 and c.expect.offer != "maintenance_training" and "fylder 18" in c.expect.must_not_say
               for c in CASES)
    assert any(c.age == 17 and c.expect.offer == "maintenance_training" and "fylder 18" in c.expect.must_say
               for c in CASES)


def test_the_topic_is_what_the_opening_names() -> None:
    wrong = {c.id: (c.topic, runner.topic_named(c.opening)) for c in CASES if c.topic != runner.topic_named(c.opening)}
    assert not wrong, f"case topic vs. the route the opening names: {wrong}"


def test_only_the_current_law_runs_live() -> None:
    early = [c.id for c in CASES if c.live and c.today < runner.LIVE_FROM]
    assert not early, f"the live bot runs on today's date; mark these live: false: {early}"
    assert sum(c.live for c in CASES) >= 55


def test_every_seed_sentence_is_in_its_seed() -> None:
    if not runner.SEEDS.is_dir():
        pytest.skip(f"{runner.SEEDS} is not on this machine")
    missing = []
    for case in CASES:
        path = case.seed.path()
        if not path.is_file() or runner.normalise(case.seed.quote) not in runner.normalise(path.read_text("utf-8")):
            missing.append(f"{case.id}: {case.seed.file}: {case.seed.quote!r}")
    assert not missing, "\n".join(missing)


def test_the_caseworkers_page_is_up_to_date() -> None:
    from tests.scenarios.render import render

    assert runner.DOC.read_text(encoding="utf-8") == render(CASES), (
        "docs/scenarios.md is out of date: run `make scenarios-doc` (or .venv/bin/python scripts/scenarios_md.py)"
    )
