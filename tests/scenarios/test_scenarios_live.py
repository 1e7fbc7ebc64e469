"""The scenario table through the running bot: Rasa's REST channel, the action server, the trained model.

Each case opens with the citizen's own words (free text, NLU and the free-text parser at work),
with the municipality as channel metadata when the municipal website embeds the bot (ours), and
then answers every question by its button payload `/inform{"fact": ..., "choice": ...}` from the
case's facts. The bot must ask only what the case answers, never the same thing twice, and end
with the expected `custom.outcome`. Cases for an earlier law period (`live: false`) run in the
rules tests only, because the live bot runs on today's date.
"""

from __future__ import annotations

import json
import uuid
from typing import Iterator

import pytest

from tests.live import MODEL, Servers
from tests.scenarios import runner
from tests.scenarios.runner import Case

pytestmark = pytest.mark.rasa

CASES = runner.live_cases()
OURS = tuple(m for m in runner.MUNICIPALITIES if m != "other")


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    """One real bot for this module (as tests/conversation/conftest.py starts it)."""
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` (make test does)")
    with Servers(tmp_path_factory.mktemp("scenarios")).running() as running:
        yield running


def button(fact: str, value: runner.Answer) -> str:
    return "/inform" + json.dumps({"fact": fact, "choice": str(value)}, ensure_ascii=False)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_the_live_bot_gives_the_expected_outcome(servers: Servers, case: Case) -> None:
    sender = f"scenario-{case.id}-{uuid.uuid4().hex[:8]}"
    metadata = {"municipality": case.municipality} if case.municipality in OURS else {}
    messages = servers.send(sender, case.opening, metadata)
    asked: list[str] = []
    for _ in range(len(case.facts) + 2):
        found = runner.outcome_in(messages)
        if found is not None:
            break
        question = runner.question_in(messages)
        assert question, f"neither a question nor an outcome after {asked}: {messages}"
        fact = question["fact"]
        assert fact not in asked, f"{fact!r} asked twice (asked: {asked})"
        assert fact in case.facts, f"the bot asks {fact!r}, which the case does not answer (asked: {asked})"
        offered = [option["value"] for option in question.get("options", [])]
        value = case.facts[fact]
        assert isinstance(value, int) or value in offered, f"{fact}: no button for {value!r} in {offered}"
        asked.append(fact)
        messages = servers.send(sender, button(fact, value), metadata)
    else:
        pytest.fail(f"no outcome after answering {asked}")
    payload, text = found
    problems = runner.check_outcome(case, payload, text, live=True)
    assert not problems, "\n".join([*problems, f"--- asked: {asked}", "--- the outcome text:", text])
