"""The response catalogue: every response used exists, buttons have payloads, no English."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import yaml

from bot.conversation import Questionnaire, Turn
from bot.datafiles import load_yaml
from bot.state import State

ROOT = Path(__file__).resolve().parent.parent
ENGLISH = re.compile(r"\b(the|and|you|your|please|sorry|error|click|training|help|hello|welcome)\b", re.I)


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def used_actions() -> set[str]:
    names: set[str] = set()
    for path in [*ROOT.glob("data/**/*.yml"), *ROOT.glob("tests/stories/*.yml")]:
        for block in (load(path) or {}).get("stories", []) + (load(path) or {}).get("rules", []):
            names |= {step["action"] for step in block.get("steps", []) if "action" in step}
    return names


def test_every_response_and_action_used_is_declared() -> None:
    domain = load(ROOT / "domain.yml")
    declared = set(domain.get("responses") or {}) | set(domain["actions"]) | {"action_restart"}
    assert used_actions() - declared == set()


def test_domain_has_no_copy_of_its_own() -> None:
    """All Danish copy is in bot/data/copy_da.yml; Rasa answers only through action_turn (issue 13)."""
    domain = load(ROOT / "domain.yml")
    assert not domain.get("responses")
    assert [t for t in _texts(load_yaml("copy_da.yml")["turn"]) if ENGLISH.search(t)] == []


def _texts(node: object) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [t for v in node.values() for t in _texts(v)]
    if isinstance(node, list):
        return [t for v in node for t in _texts(v)]
    return []


def test_every_question_reply_has_buttons_with_payloads() -> None:
    """Walk many answers; every reply that asks a question carries buttons with payloads."""
    questionnaire = Questionnaire(now=dt.datetime(2026, 11, 23, tzinfo=dt.timezone.utc))
    seen: set[str] = set()
    for first in ("min søn på 8 har CP", "jeg er 80", "jeg er 40", "hjemmetræning til min datter på 5"):
        state = State()
        result = questionnaire.answer(state, Turn(first))
        for answer in ("nej", "ja", "nej", "ja", "bevare", "andet", "nej", "ja", "ja", "Aarhus"):
            for reply in result.replies:
                if reply.custom and "question" in reply.custom:
                    seen.add(reply.custom["question"]["fact"])
                    assert reply.buttons and all(b.intent for b in reply.buttons)
                assert not ENGLISH.search(reply.text), reply.text
            if result.state.outcome:
                break
            result = questionnaire.answer(result.state, Turn(answer))
    assert {"hospital_stay", "municipality", "goal"} <= seen
