"""Adding a municipality or a question is one place each, and the suite notices a gap (issue 11, item 8).

A municipality is its profile (bot/data/municipalities/<id>.yml): the municipality question's
options and button labels, the free-text matcher and Rasa's lookups and synonyms derive from it.
A question is its entry in bot/data/questions.yml plus its wording, which must be complete:
`label_gaps` lists what is missing, and the tests below add a fake profile or question to a copy
of bot/data/ (tests/bot/data_dir.py) to show that these checks catch it. The recipes are in
docs/architecture.md ("## Recipes").
"""

from __future__ import annotations

import datetime as dt
import importlib.util
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any, Iterator

import pytest

from bot import wording
from bot.analytics import texts as analytics_texts
from bot.conversation import Questionnaire, State, Turn
from bot.datafiles import Copy, load_yaml
from bot.drafts.dialogue import STEPS
from bot.errors import DataFileError
from bot.legal import pension_age
from bot.municipality import find_municipality, profile, profiles
from bot.parse import parse_choice
from bot.questions import OTHER_MUNICIPALITY, question, questions
from bot.rules import OFFERS, Ask, decide
from tests.bot.data_dir import DataDir, use_data_copy

TODAY = dt.date(2026, 11, 30)
NOW = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.timezone.utc)
ROOT = Path(__file__).resolve().parents[2]
# Facts the rules never ask for: "who" is said in passing ("min søn på 8 ...") or by an entity,
# and only chooses the grammar; "hospital_plan_conflict" is asked when answers said in passing
# contradict each other (no hospital stay, but a plan), which the walk below starts from.
SAID_IN_PASSING = frozenset({"who"})


@pytest.fixture()
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DataDir]:
    yield from use_data_copy(tmp_path, monkeypatch)


@cache
def walk_the_rules() -> dict[str, set[str]]:
    """Every fact `decide()` can ask, with the outcomes reached after asking it.

    Walks the question graph: from each age group (and a contradiction said in passing) and each
    topic, every option of every question asked, until an outcome. The municipality is asked last
    and changes no route, so one of its options stands for all.
    """
    asked: dict[str, set[str]] = {}
    seen: set[tuple[str | None, frozenset[tuple[str, Any]]]] = set()
    starts = [{"age": age} for age in (8, 40, pension_age() + 5)]
    starts.append({"age": 40, "hospital_stay": "no", "rehab_plan": "yes"})
    for topic in (None, *(o for o in OFFERS if o != "none")):
        stack: list[dict[str, Any]] = [dict(s) for s in starts]
        while stack:
            facts = stack.pop()
            key = (topic, frozenset(facts.items()))
            if key in seen:
                continue
            seen.add(key)
            decision = decide(facts, topic=topic, today=TODAY)  # type: ignore[arg-type]
            if isinstance(decision, Ask):
                asked.setdefault(decision.fact, set())
                options = question(decision.fact).options
                for value in options[:1] if decision.fact == "municipality" else options:
                    stack.append({**facts, decision.fact: value})
            else:
                for fact in facts:
                    asked.setdefault(fact, set()).add(decision.offer)
    return asked


def label_gaps(fact: str) -> list[str]:
    """What a question lacks: its entry, its texts in copy_da.yml (citizen, staff, why, staff-panel
    label, analyst's short name, unknown line) and its option labels."""
    if fact not in questions():
        return [f"questions.yml questions.{fact}"]
    spec = question(fact)
    copy = Copy("copy_da.yml")
    parts = [
        "citizen",
        "staff",
        "why",
        "label",
        "short",
        *(["unknown"] if "dont_know" in spec.options else []),
    ]
    wanted = [(copy, f"questions.{fact}.{part}") for part in parts]
    gaps = []
    for source, path in wanted:
        try:
            source.text(path)
        except (DataFileError, KeyError):
            gaps.append(f"{source.file} {path}")
    for value in spec.options:
        try:
            wording.option_label(fact, value)
        except DataFileError:
            gaps.append(f"option label of {fact}={value}")
    return gaps


# -- questions --------------------------------------------------------------------------------


def test_every_fact_the_rules_can_ask_is_a_question_with_all_its_wording() -> None:
    asked = walk_the_rules()
    assert {fact: label_gaps(fact) for fact in asked if label_gaps(fact)} == {}
    assert set(questions()) - set(asked) == SAID_IN_PASSING  # no question the rules never ask
    assert all(label_gaps(fact) == [] for fact in SAID_IN_PASSING)


def test_the_walk_reaches_every_outcome_and_each_route_reads_its_facts() -> None:
    """Which routes read a fact is derived from the rules (questions.yml no longer keeps `routes`)."""
    asked = walk_the_rules()
    assert set().union(*asked.values()) == set(OFFERS)
    assert asked["rehab_plan"] >= {"rehabilitation"} and asked["doctor_referral"] == {"free_physiotherapy"}
    assert "hospital_plan_conflict" in asked and asked["parents_can_train"] >= {"home_training"}


@pytest.mark.parametrize(
    ("file", "path", "gap"),
    [
        ("copy_da.yml", ("questions", "goal", "staff"), "copy_da.yml questions.goal.staff"),
        ("copy_da.yml", ("questions", "goal", "why"), "copy_da.yml questions.goal.why"),
        ("copy_da.yml", ("questions", "goal", "label"), "copy_da.yml questions.goal.label"),
        ("copy_da.yml", ("questions", "goal", "short"), "copy_da.yml questions.goal.short"),
        ("copy_da.yml", ("questions", "goal", "unknown"), "copy_da.yml questions.goal.unknown"),
        ("copy_da.yml", ("options", "regain"), "option label of goal=regain"),
    ],
)
def test_a_missing_label_is_a_gap_the_suite_names(
    data_dir: DataDir, file: str, path: tuple[str, ...], gap: str
) -> None:
    def drop(data: Any) -> None:
        node = data
        for part in path[:-1]:
            node = node[part]
        del node[path[-1]]

    data_dir.edit(file, drop)
    assert label_gaps("goal") == [gap]


def test_a_new_question_without_its_wording_is_a_gap(data_dir: DataDir) -> None:
    """Only questions.yml changed: the gap check names every text the question still needs."""
    data_dir.edit(
        "questions.yml",
        lambda d: d["questions"].update(
            {"new_fact": {"kind": "yes_no", "options": ["yes", "no", "dont_know"]}}
        ),
    )
    assert label_gaps("new_fact") == [
        "copy_da.yml questions.new_fact.citizen",
        "copy_da.yml questions.new_fact.staff",
        "copy_da.yml questions.new_fact.why",
        "copy_da.yml questions.new_fact.label",
        "copy_da.yml questions.new_fact.short",
        "copy_da.yml questions.new_fact.unknown",
    ]
    assert set(questions()) - set(walk_the_rules()) == SAID_IN_PASSING | {"new_fact"}  # and no rule asks it


def test_a_fact_the_rules_ask_without_a_question_is_a_gap() -> None:
    assert label_gaps("no_such_fact") == ["questions.yml questions.no_such_fact"]


def test_every_draft_step_has_a_short_name_and_a_missing_one_raises() -> None:
    """The analyst pages name questions and draft steps; a missing name is an error, not the raw id."""
    assert analytics_texts.question_label("goal") == "Mål med træningen"
    assert all(analytics_texts.question_label(step.name).startswith("Udkast:") for step in STEPS)
    assert analytics_texts.question_label("draft_offer") == "Udkast: tilbud om ansøgning"
    with pytest.raises(DataFileError, match="no_such_fact"):
        analytics_texts.question_label("no_such_fact")


def test_derived_option_lists_cannot_also_be_written(data_dir: DataDir) -> None:
    data_dir.edit("questions.yml", lambda d: d["questions"]["municipality"].update({"options": ["aarhus"]}))
    with pytest.raises(DataFileError, match="derived"):
        questions()


# -- municipalities ---------------------------------------------------------------------------


def test_the_municipality_question_offers_every_profile_by_its_short_name() -> None:
    spec = question("municipality")
    assert spec.options == [*profiles(), OTHER_MUNICIPALITY]
    for municipality_id, prof in profiles().items():
        assert wording.option_label("municipality", municipality_id) == prof.short_name
        assert find_municipality(f"jeg bor i {prof.short_name}") == municipality_id
        assert parse_choice("municipality", prof.short_name) == municipality_id
        assert analytics_texts.municipality_name(municipality_id) == prof.name
    assert wording.option_label("municipality", OTHER_MUNICIPALITY) == "En anden kommune"


def _gen_nlu() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_nlu_vocabulary", ROOT / "scripts" / "gen_nlu_vocabulary.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def add_testrup(data: DataDir) -> None:
    """A sixth municipality: a copy of Ballerup's profile under another id and name, nothing else."""
    raw = {**load_yaml("municipalities/ballerup.yml"), "id": "testrup", "name": "Testrup Kommune"}
    raw.update(short_name="Testrup", aliases=["testrup", "testrup kommune"])
    data.write("municipalities/testrup.yml", raw)


def test_a_new_profile_alone_is_a_button_an_answer_and_rasa_vocabulary(data_dir: DataDir) -> None:
    """Adding a sixth municipality is its profile; the generated NLU files are then stale (make lint)."""
    add_testrup(data_dir)
    assert "testrup" in question("municipality").options
    assert profile("testrup").contact("adults").phone == "44 77 31 17"
    state = State(facts={"age": 80, "hospital_stay": "yes", "rehab_plan": "yes"}, pending="municipality")
    result = Questionnaire(now=NOW).turn(state, Turn("Testrup"))
    assert result.state.facts["municipality"] == "testrup"
    assert ("testrup", "Testrup") in wording.question_message("municipality", state.facts).options
    gen = _gen_nlu()
    assert "Testrup" in gen.render_lookups() and "- synonym: testrup" in gen.render_synonyms()
    assert (
        gen.main(["--check"]) == 1
    )  # tests/bot/test_vocabulary.py's up-to-date check fails until regenerated


def test_a_profile_without_a_short_name_is_rejected(data_dir: DataDir) -> None:
    data_dir.edit("municipalities/ballerup.yml", lambda d: d.pop("short_name"))
    with pytest.raises(DataFileError, match="short_name"):
        profiles()
