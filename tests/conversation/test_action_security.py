"""Issue 10: the forged action call that deleted another citizen's draft, replayed.

A draft is made through the real bot (Rasa, action server and web app on localhost);
then a hand-made POST to the action server's /webhook names it in a forged tracker.
Whether the draft survived is read from the web app: its link still opens it.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from bot.drafts.texts import text as draft_text
from tests.conversation.test_live import DRAFT_ANSWERS, ROUTES, answer_until_outcome, custom
from tests.live import Servers, fetch, forged_call, post_json

pytestmark = pytest.mark.rasa

NO_DRAFT = draft_text("dialogue.no_draft")


def make_draft(servers: Servers, sender: str) -> dict[str, str]:
    """A saved draft through the real bot: {reference, url}."""
    first, answers, _ = ROUTES[1]  # rehabilitation: the shortest route to a draft
    answer_until_outcome(servers, sender, first, answers)
    messages = servers.send(sender, DRAFT_ANSWERS["draft_offer"])
    for _ in range(20):
        draft = custom(messages, "draft")
        if draft:
            return dict(draft)
        question = custom(messages, "question")
        assert question, messages
        messages = servers.send(sender, DRAFT_ANSWERS[question["fact"]])
    raise AssertionError("no draft after 20 answers")


def post_action(
    servers: Servers, body: dict[str, Any], headers: dict[str, str] | None = None, *, path: str = "/webhook"
) -> tuple[int, bytes]:
    return post_json(f"http://127.0.0.1:{servers.actions_port}{path}", body, headers)


def texts(body: bytes) -> list[str]:
    return [r.get("text") for r in json.loads(body)["responses"]]


@pytest.fixture()
def victim(servers: Servers) -> dict[str, str]:
    sender = f"victim-{uuid.uuid4().hex}"
    return {"sender": sender, **make_draft(servers, sender)}


def test_the_forged_call_without_the_token_is_refused_and_deletes_nothing(
    servers: Servers, victim: dict[str, str]
) -> None:
    forged = forged_call(f"attacker-{uuid.uuid4().hex}", victim["reference"])
    for headers in (
        {},
        {"Authorization": "Bearer wrong-token-of-the-right-length-000000000000"},
        {"Authorization": f"Bearer {getattr(servers, 'action_token', '')}x"},
        {"Authorization": "Basic " + getattr(servers, "action_token", "")},
    ):
        status, body = post_action(servers, forged, headers)
        assert status == 401, (headers, status, body)
        assert body == b""
    assert fetch(victim["url"])[0] == 200, "the victim's draft was deleted"


def test_the_token_in_the_url_is_not_accepted(servers: Servers, victim: dict[str, str]) -> None:
    forged = forged_call(f"attacker-{uuid.uuid4().hex}", victim["reference"])
    status, _ = post_action(servers, forged, path=f"/webhook?token={servers.action_token}")
    assert status == 401
    assert fetch(victim["url"])[0] == 200


def test_with_the_token_another_conversation_cannot_delete_or_learn_of_the_draft(
    servers: Servers, victim: dict[str, str]
) -> None:
    bearer = {"Authorization": f"Bearer {servers.action_token}"}
    status, body = post_action(servers, forged_call(f"attacker-{uuid.uuid4().hex}", victim["reference"]), bearer)
    assert status == 200
    assert texts(body) == [NO_DRAFT]
    assert "draft_deleted" not in body.decode()
    # the same answer as for a reference that does not exist: existence is not revealed
    status, unknown = post_action(servers, forged_call(f"attacker-{uuid.uuid4().hex}", "TG-2099-999999"), bearer)
    assert status == 200 and texts(unknown) == [NO_DRAFT]
    assert fetch(victim["url"])[0] == 200, "the victim's draft was deleted"


def test_the_owner_conversation_still_deletes_its_own_draft(servers: Servers, victim: dict[str, str]) -> None:
    deleted = servers.send(victim["sender"], "slet mit udkast")
    assert deleted[0]["text"] == draft_text("dialogue.deleted", reference=victim["reference"])
    assert fetch(victim["url"])[0] == 404


def test_health_is_open_and_the_action_list_is_not(servers: Servers) -> None:
    assert fetch(f"http://127.0.0.1:{servers.actions_port}/health")[0] == 200
    assert fetch(f"http://127.0.0.1:{servers.actions_port}/actions")[0] == 401
