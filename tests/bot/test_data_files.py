"""Profiles, questions, legal references and copy load, validate and agree with each other."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from pydantic import ValidationError

from bot import wording
from bot.datafiles import DATA_DIR, load_yaml
from bot.legal import legal_data, refs_in_force
from bot.municipality import Profile, national_default, profile, profiles
from bot.questions import questions
from bot.rules import OFFERS

ENGLISH = re.compile(r"\b(the|and|you|your|please|sorry|error|yes|no|click|training|help)\b", re.IGNORECASE)


def _texts(node: object) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [t for v in node.values() for t in _texts(v)]
    return []


def test_every_profile_file_is_a_municipality_with_the_same_keys() -> None:
    files = {p.stem for p in (DATA_DIR / "municipalities").glob("*.yml")}
    assert set(profiles()) == files - {"default"} and len(profiles()) >= 5  # the five seed municipalities
    keys = {tuple(sorted(load_yaml(f"municipalities/{m}.yml"))) for m in [*profiles(), "default"]}
    assert len(keys) == 1


def test_a_profile_missing_a_key_is_rejected() -> None:
    raw = dict(load_yaml("municipalities/hjoerring.yml"))
    del raw["special_schools"]
    with pytest.raises(ValidationError):
        Profile.parse_obj(raw)


def test_bad_opening_hours_are_rejected() -> None:
    raw = dict(load_yaml("municipalities/hjoerring.yml"))
    raw["contacts"] = {
        **raw["contacts"],
        "children": {**raw["contacts"]["children"], "hours": {"mon": ["9-8"]}},
    }
    with pytest.raises(ValidationError):
        Profile.parse_obj(raw)


def test_missing_contact_area_falls_back_to_national_default() -> None:
    """Brønderslev has no children's contact in the seed: the national default answers."""
    assert profile("broenderslev").contact("children") == national_default().contacts["children"]
    assert profile("hjoerring").contact("children").phone == "72 33 58 50"


@pytest.mark.parametrize(
    ("when", "open_"),
    [("2026-11-23T08:30", True), ("2026-11-23T09:30", False), ("2026-11-21T08:30", False)],
)
def test_open_now_in_copenhagen_time(when: str, open_: bool) -> None:
    """Hjørring's Træningsenheden answers weekdays 8-9 Danish time."""
    local = dt.datetime.fromisoformat(when).replace(tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert profile("hjoerring").contact("children").is_open(local) is open_
    assert profile("ballerup").contact("adults").is_open(local) is None


def test_every_provision_has_a_reference_in_force_today() -> None:
    for provision in legal_data().provisions:
        assert refs_in_force(provision, dt.date(2026, 11, 23))


def test_every_question_has_wording_buttons_and_why() -> None:
    for fact, spec in questions().items():
        message = wording.question_message(fact, {})
        assert message.text and wording.question_message(fact, {}, staff=True).text.startswith("Spørg borgeren")
        assert wording.why_question(fact)
        assert len(message.options) >= 2 and all(label for _, label in message.options), fact
        assert spec.options


def test_every_offer_has_title_and_description() -> None:
    for offer in OFFERS:
        assert wording.text(f"offers.{offer}.title")


def test_no_english_in_danish_copy() -> None:
    texts = _texts(load_yaml("copy_da.yml"))
    assert texts
    offenders = [t for t in texts if ENGLISH.search(t)]
    assert offenders == []
