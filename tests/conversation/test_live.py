"""Whole conversations through Rasa's REST channel against the real servers on localhost."""

from __future__ import annotations

import sqlite3
from typing import Any, Iterator

import pytest

from tests.live import Servers, fetch

pytestmark = pytest.mark.rasa


def custom(messages: list[dict[str, Any]], key: str) -> Any:
    found = [m["custom"][key] for m in messages if key in m.get("custom", {})]
    return found[-1] if found else None


def answer_until_outcome(
    servers: Servers,
    sender: str,
    first: str,
    answers: dict[str, str],
    *,
    metadata: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Send `first`, then answer each question by its fact (text as a citizen would type it)."""
    messages = servers.send(sender, first, metadata)
    for _ in range(20):
        outcome = custom(messages, "outcome")
        if outcome:
            return dict(outcome)
        question = custom(messages, "question")
        assert question, f"neither question nor outcome in {messages}"
        assert question["options"], "every question has buttons"
        messages = servers.send(sender, answers[question["fact"]], metadata)
    raise AssertionError("no outcome after 20 answers")


ROUTES = [
    (
        "min søn på 8 har cerebral parese, kan han få træning?",
        {
            "hospital_stay": "nej",
            "special_training_need": "ja",
            "school_trains": "nej",
            "already_free_physio": "nej",
            "municipality": "Hjørring",
        },
        "maintenance_training",
    ),
    (
        "jeg er 80 og lige kommet hjem fra sygehuset",
        {"rehab_plan": "ja", "municipality": "Ballerup"},
        "rehabilitation",
    ),
    (
        "min mor på 84 bliver dårligere gående, kan hun få træning",
        {
            "hospital_stay": "nej",
            "goal": "bevare det hun kan",
            "already_free_physio": "nej",
            "diagnosis_type": "andet",
            "can_train_alone": "nej",
            "risk_of_loss": "ja",
            "needs_therapist": "ja",
            "municipality": "Brønderslev",
        },
        "maintenance_training",
    ),
    (
        "jeg har sclerose, kan jeg få vederlagsfri fysioterapi?",
        {"age": "54", "hospital_stay": "nej", "doctor_referral": "nej", "municipality": "Ballerup"},
        "free_physiotherapy",
    ),
    (
        "vi vil gerne hjemmetræne vores datter",
        {
            "age": "6",
            "hospital_stay": "nej",
            "child_disability": "ja",
            "significant_permanent": "ja",
            "special_day_offer": "ja",
            "parents_can_train": "ja",
            "municipality": "Aarhus",
        },
        "home_training",
    ),
    (
        "jeg er 72 og kan selv træne, men vil gerne have vedligeholdende træning",
        {
            "hospital_stay": "nej",
            "goal": "bevare",
            "already_free_physio": "nej",
            "diagnosis_type": "andet",
            "can_train_alone": "ja",
            "municipality": "Brønderslev",
        },
        "none",
    ),
]


@pytest.mark.parametrize(
    ("first", "answers", "offer"), ROUTES, ids=[r[2] + str(i) for i, r in enumerate(ROUTES)]
)
def test_every_route_is_reachable(
    servers: Servers, sender: str, first: str, answers: dict[str, str], offer: str
) -> None:
    outcome = answer_until_outcome(servers, sender, first, answers)
    assert outcome["offer"] == offer
    assert outcome["legal_basis"] or offer == "none"
    assert outcome["next_steps"] and outcome["reasons"] and outcome["contact"]["name"]


def test_municipality_from_channel_metadata_is_not_asked(servers: Servers, sender: str) -> None:
    answers = {"rehab_plan": "ja"}
    outcome = answer_until_outcome(
        servers,
        sender,
        "jeg er 80 og lige kommet hjem fra sygehuset",
        answers,
        metadata={"municipality": "ballerup"},
    )
    assert outcome["municipality"] == "ballerup"


def test_every_reply_is_one_message_with_its_text_buttons_and_custom(servers: Servers, sender: str) -> None:
    """Through Rasa's REST channel (bot/rasa_channel.py): never a custom-only message, never a text cut
    at its blank lines; staff get the panel in the turn's last message."""
    staff = {"channel": "staff", "staff_initials": "AB", "municipality": "ballerup"}
    turns = [servers.send(sender, "jeg er 80 og lige kommet hjem fra sygehuset", staff)]
    turns.append(servers.send(sender, "ja", staff))
    for messages in turns:
        assert messages and all(m.get("text") for m in messages), messages
        assert [m for m in messages if "staff" in m.get("custom", {})] == [messages[-1]]
    asking = next(m for m in turns[0] if "question" in m.get("custom", {}))
    assert asking["custom"]["question"]["fact"] == "rehab_plan" and len(asking["buttons"]) == 3
    outcome = next(m for m in turns[1] if "outcome" in m.get("custom", {}))
    assert outcome["text"].startswith(outcome["custom"]["outcome"]["title"] + "\n")
    assert "\n\n" in outcome["text"]
    assert turns[1][-1]["custom"]["staff"]["read_aloud"] == outcome["text"]


def test_greeting_out_of_scope_and_handoff(servers: Servers, sender: str) -> None:
    greeting = servers.send(sender, "hej")
    assert "CPR-nummer" in " ".join(m.get("text", "") for m in greeting)
    scope = servers.send(sender, "hvornår bliver skraldet hentet?")
    assert "kun med kommunens træningstilbud" in scope[0]["text"]
    servers.send(sender, "jeg bor i Brønderslev")
    handoff = servers.send(sender, "jeg vil tale med en medarbejder")
    assert custom(handoff, "handoff")["phone"] == "99 45 44 20"


def test_cpr_number_is_not_echoed(servers: Servers, sender: str) -> None:
    messages = servers.send(sender, "min søn er 8 år, cpr 010116-1234")
    text = " ".join(m.get("text", "") for m in messages)
    assert "010116" not in text and "CPR-nummer" in text


@pytest.fixture(scope="module")
def own_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    """Servers only the restart tests use: a test that kills a server must not kill the shared ones."""
    with Servers(tmp_path_factory.mktemp("restarts")).running() as running:
        yield running


def test_dead_action_server_gets_a_danish_answer_and_loses_nothing(own_servers: Servers, sender: str) -> None:
    servers = own_servers
    first = servers.send(sender, "jeg er 80 og lige kommet hjem fra sygehuset")
    assert custom(first, "question")["fact"] == "rehab_plan"
    servers.stop_actions()
    try:
        down = servers.send(sender, "ja")
        assert down and "teknisk fejl" in down[0]["text"]
    finally:
        servers.start_actions()
    again = servers.send(sender, "ja")
    assert custom(again, "question")["fact"] == "municipality"


def test_restarted_rasa_resumes_the_conversation(own_servers: Servers, sender: str) -> None:
    servers = own_servers
    first = servers.send(sender, "min søn på 8 har cerebral parese")
    assert custom(first, "question")["fact"] == "hospital_stay"
    servers.stop_rasa()
    servers.start_rasa()
    after = servers.send(sender, "nej")
    assert custom(after, "question")["fact"] == "special_training_need"


def test_cpr_number_never_reaches_the_tracker_database(servers: Servers, sender: str) -> None:
    """The raw rows of Rasa's SQL tracker store hold the masked text only."""
    servers.send(sender, "min datter er 8 år, hendes cpr er 0202161234")
    with sqlite3.connect(servers.tracker_db) as db:
        rows = db.execute("SELECT data FROM events WHERE sender_id = ?", (sender,)).fetchall()
    assert rows
    raw = " ".join(row[0] for row in rows)
    assert "0202161234" not in raw and "020216" not in raw
    assert "CPR-nummer fjernet" in raw


DRAFT_ANSWERS = {
    "draft_offer": "ja",
    "draft_consent": "ja tak",
    "applicant_relation": '/inform{"fact": "applicant_relation", "choice": "relative"}',
    "person_name": 'Test <script>alert(1)</script> "Person"',
    "date_of_birth": "1.2.1950",
    "phone": "12 34 56 78",
    "email": "spring over",
    "need_description": "Har brug for træning efter et fald. cpr 010150-1234",
    "diagnoses": "ved ikke",
    "current_care": "nej",
    "municipality_may_obtain": "ja",
    "training_method": "ABM-metoden",
    "review": '/inform{"fact": "review", "choice": "save"}',
}


@pytest.mark.parametrize(
    ("first", "answers", "offer"),
    [r for r in ROUTES if r[2] != "none"],
    ids=[r[2] + str(i) for i, r in enumerate(ROUTES) if r[2] != "none"],
)
def test_every_route_ends_in_a_draft_that_opens_as_html_and_pdf(
    servers: Servers, sender: str, first: str, answers: dict[str, str], offer: str
) -> None:
    outcome = answer_until_outcome(servers, sender, first, answers)
    assert outcome["offer"] == offer
    messages = servers.send(sender, DRAFT_ANSWERS["draft_offer"])
    for _ in range(20):
        draft = custom(messages, "draft")
        if draft:
            break
        question = custom(messages, "question")
        assert question, messages
        messages = servers.send(sender, DRAFT_ANSWERS[question["fact"]])
    else:
        raise AssertionError("no draft after 20 answers")
    assert draft["reference"].startswith("TG-")
    status, body, kind = fetch(draft["url"])
    html = body.decode()
    assert status == 200 and "text/html" in kind
    assert "&lt;script&gt;" in html and "<script>alert" not in html and "010150" not in html
    status, pdf, kind = fetch(draft["url"] + ".pdf")
    assert status == 200 and pdf.startswith(b"%PDF")
    status, _, _ = fetch(draft["url"][:-4] + "xxxx")
    assert status == 404
    deleted = servers.send(sender, "slet mit udkast")
    assert "slettet" in deleted[0]["text"]
    assert fetch(draft["url"])[0] == 404
