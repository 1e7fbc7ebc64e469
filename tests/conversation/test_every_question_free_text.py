"""Every question the bot asks, answered in free text as citizens write, through the real bot (issue 13).

Each question is reached by playing a scenario case (tests/scenarios) that asks it; then at least
six free-text answers per option are sent one by one, each followed by the question's "Ret"
payload so that the same question is asked again. The staff panel shows the answer as the bot
understood it. None may end in goodbye, delete-draft or the fallback.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from bot import wording
from bot.drafts.texts import text as draft_text
from bot.questions import questions
from tests.bot.test_vocabulary import ANSWERS as CHOICE_ANSWERS
from tests.conversation.test_live import custom
from tests.live import Servers
from tests.scenarios import runner

pytestmark = pytest.mark.rasa

STAFF = {"channel": "staff", "staff_initials": "TG"}
NEVER = (
    wording.text("turn.goodbye"),
    wording.text("fallback.first"),
    wording.text("fallback.second"),
    wording.text("fallback.second_answer"),
    draft_text("dialogue.no_draft"),
)
YES_NO: dict[str, list[str]] = {
    "yes": ["ja", "ja det er rigtigt", "jo", "ja, det passer", "jep", "ja helt sikkert"],
    "no": ["nej", "nej det er ikke tilfældet", "nej, det passer ikke", "nope", "nej slet ikke", "nej ikke rigtig"],
    "dont_know": ["ved ikke", "det ved jeg ikke", "aner det ikke", "jeg er ikke sikker", "måske", "vd ikke"],
}
AGES: dict[str, list[str]] = {
    "age": ["8", "hun er 82", "otte år", "toogfirs", "han er 45 år gammel", "17"],
}
# "who" is never asked by the rules (it is read from what the citizen says); the municipality is
# asked only without channel metadata, which is how the cases reach it.
NOT_ASKED = {"who"}


def answers_for(fact: str) -> dict[str, list[str]]:
    if fact in AGES:
        return AGES
    if fact in CHOICE_ANSWERS:
        return {value: texts[:6] for value, texts in CHOICE_ANSWERS[fact].items()}
    assert questions()[fact].kind == "yes_no", fact
    return YES_NO


def said(messages: list[dict[str, Any]]) -> str:
    return "\n".join(m.get("text") or "" for m in messages)


def button(fact: str, value: Any) -> str:
    return "/inform" + json.dumps({"fact": fact, "choice": str(value)}, ensure_ascii=False)


def reach(servers: Servers, fact: str) -> str:
    """A conversation in which `fact` is the pending question, played from a scenario case."""
    for case in runner.live_cases():
        if fact not in case.facts and fact != "age":
            continue
        sender = f"free-{fact}-{uuid.uuid4().hex[:8]}"
        opening = case.opening if fact != "age" else "hvilken træning kan man få hjælp til fra kommunen?"
        messages = servers.send(sender, opening, STAFF)
        for _ in range(len(case.facts) + 2):
            question = runner.question_in(messages)
            if question is None or question["fact"] not in case.facts:
                break
            if question["fact"] == fact:
                return sender
            messages = servers.send(sender, button(question["fact"], case.facts[question["fact"]]), STAFF)
    raise AssertionError(f"no scenario case asks {fact!r}")


ASKED = sorted(set(questions()) - NOT_ASKED)


@pytest.mark.parametrize("fact", ASKED)
def test_free_text_answers_to_every_question(servers: Servers, fact: str) -> None:
    sender = reach(servers, fact)
    expected_label = (lambda v: f"{v} år") if fact == "age" else (lambda v: wording.option_label(fact, v))
    wrong = []
    for value, texts in answers_for(fact).items():
        for text in texts:
            messages = servers.send(sender, text, STAFF)
            shown = {f["fact"]: f["value"] for f in custom(messages, "staff")["facts"]}
            want = expected_label(_age(text) if fact == "age" else value)
            if shown.get(fact) != want or any(t in said(messages) for t in NEVER):
                wrong.append((text, shown.get(fact), said(messages)[:100]))
            # the same question again: "Ret" for a question, "Tilbage" from an outcome's draft offer
            back = "/go_back" if runner.outcome_in(messages) else f'/correct{{"fact": "{fact}"}}'
            again = servers.send(sender, back, STAFF)
            assert runner.question_in(again) and runner.question_in(again)["fact"] == fact
    assert not wrong, wrong


def _age(text: str) -> int:
    return {"8": 8, "hun er 82": 82, "otte år": 8, "toogfirs": 82, "han er 45 år gammel": 45, "17": 17}[text]
