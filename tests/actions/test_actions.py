"""The one Rasa action (`action_turn`) with trackers built in code: full event lists and messages."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any, Iterator

import pytest
from cryptography.fernet import Fernet
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.actions import PREVIOUS_ACTIONS, PREVIOUS_NAMES, ActionTurn, _QuestionnaireAction, draft_store
from bot import wording
from bot.config import DRAFT_DATABASE_URL_ENV, DRAFT_KEY_ENV
from bot.drafts.store import DraftStore
from bot.drafts.texts import text as draft_text
from tests.drafts.helpers import raw_rows, sample_input

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.timezone.utc)
SLOTS = (
    "handled_as",
    "facts",
    "order",
    "pending",
    "topic",
    "misses",
    "handoff_waiting",
    "outcome",
    "draft",
)


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_QuestionnaireAction, "clock", staticmethod(lambda: NOW))


def make_tracker(
    *,
    slots: dict[str, Any] | None = None,
    intent: str = "inform",
    text: str = "",
    entities: list[dict[str, Any]] | None = None,
    metadata: dict[str, Any] | None = None,
    confidence: float = 0.9,
    events: list[dict[str, Any]] | None = None,
    sender: str = "test-sender",
) -> Tracker:
    message = {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "entities": entities or [],
        "metadata": metadata or {},
    }
    return Tracker(sender, dict(slots or {}), message, events or [], False, None, {}, "action_listen")


def run(action: Any, tracker: Tracker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, {}))
    return events, dispatcher.messages


def slots_of(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e["event"] == "slot"}


def test_triage_first_message_sets_every_slot_and_asks_with_buttons() -> None:
    events, messages = run(
        ActionTurn(), make_tracker(intent="ask_maintenance_training", text="min søn på 8 har CP")
    )
    assert events == [
        SlotSet("handled_as", "answer"),
        SlotSet(
            "facts",
            {"age": 8, "who": "parent", "diagnosis_type": "severe_physical", "child_disability": "yes"},
        ),
        SlotSet("order", ["age", "who", "diagnosis_type", "child_disability"]),
        SlotSet("pending", "hospital_stay"),
        SlotSet("topic", "maintenance_training"),
        SlotSet("misses", 0.0),
        SlotSet("handoff_waiting", False),
        SlotSet("outcome", None),
        SlotSet("draft", {}),
    ]
    assert [b["payload"] for b in messages[0]["buttons"]] == [
        '/inform{"fact": "hospital_stay", "choice": "yes"}',
        '/inform{"fact": "hospital_stay", "choice": "no"}',
        '/inform{"fact": "hospital_stay", "choice": "dont_know"}',
    ]
    assert len(messages) == 1  # one message per reply: the question's text, buttons and custom together
    assert messages[0]["text"] and messages[0]["custom"] == {
        "question": {
            "fact": "hospital_stay",
            "kind": "yes_no",
            "options": [
                {"value": "yes", "label": "Ja"},
                {"value": "no", "label": "Nej"},
                {"value": "dont_know", "label": "Ved ikke"},
            ],
        }
    }


def test_triage_to_outcome_sets_outcome_slot_and_custom_payload() -> None:
    slots = {
        "facts": {"age": 80, "hospital_stay": "yes"},
        "order": ["age", "hospital_stay"],
        "pending": "rehab_plan",
    }
    events, messages = run(
        ActionTurn(),
        make_tracker(slots=slots, intent="affirm", text="ja", metadata={"municipality": "ballerup"}),
    )
    payloads = [m["custom"]["outcome"] for m in messages if "outcome" in m.get("custom", {})]
    assert len(payloads) == 1
    payload = payloads[0]  # custom.outcome: rendered in Danish for the page, never read back
    assert payload["offer"] == "rehabilitation" and payload["municipality"] == "ballerup"
    assert payload["legal_basis"][0] == {
        "law": "Sundhedsloven",
        "paragraph": "140",
        "stk": None,
        "nr": None,
        "valid_from": "2007-01-01",
        "needs_confirmation": False,
        "citation": "Sundhedsloven § 140",
    }
    assert set(payload) >= {"offer", "legal_basis", "municipality", "reasons", "next_steps", "title"}
    outcome_message = next(m for m in messages if "outcome" in m.get("custom", {}))
    assert outcome_message["text"].startswith("Genoptræning\n") and "\n\n" in outcome_message["text"]
    outcome = slots_of(events)["outcome"]  # the slot: the rules' typed outcome as JSON, codes only
    assert outcome["offer"] == "rehabilitation" and outcome["municipality"] == "ballerup"
    assert outcome["reasons"] == [r["code"] for r in payload["reasons"]]
    assert outcome["legal_basis"][0]["law"] == "Sundhedsloven" and "title" not in outcome
    assert slots_of(events)["pending"] is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hundrede", 100),
        ("-3", None),
        ("200", None),
        ("🙂", None),
        ("x" * 5000, None),
        ("<b>otte</b>", 8),
        ("<script>alert(8)</script>", None),
    ],
)
def test_triage_age_validation(text: str, expected: int | None) -> None:
    slots = {"facts": {}, "order": [], "pending": "age"}
    events, messages = run(ActionTurn(), make_tracker(slots=slots, text=text))
    facts = slots_of(events)["facts"]
    assert facts.get("age") == expected
    if expected is None:
        assert slots_of(events)["pending"] == "age"
        assert any("alder" in (m.get("text") or "").lower() for m in messages)


def test_triage_masks_cpr_and_keeps_it_out_of_slots() -> None:
    events, messages = run(ActionTurn(), make_tracker(text="jeg er 80, cpr 010190-1234"))
    assert "010190" not in repr(events) and "010190" not in repr(messages)
    assert "CPR-nummer" in messages[0]["text"]


def test_go_back_removes_last_answer() -> None:
    slots = {
        "facts": {"age": 80, "hospital_stay": "no"},
        "order": ["age", "hospital_stay"],
        "pending": "goal",
    }
    events, messages = run(
        ActionTurn(), make_tracker(slots=slots, intent="go_back", text="gå et skridt tilbage")
    )
    assert slots_of(events)["facts"] == {"age": 80}
    assert slots_of(events)["pending"] == "hospital_stay"
    assert messages[0]["text"] == "Vi går et skridt tilbage."


def test_show_answers_has_ret_buttons() -> None:
    slots = {"facts": {"age": 80}, "order": ["age"], "pending": "hospital_stay"}
    _, messages = run(
        ActionTurn(), make_tracker(slots=slots, intent="show_answers", text="hvad har jeg svaret")
    )
    assert messages[0]["buttons"][0]["payload"] == '/correct{"fact": "age"}'
    assert "80 år" in messages[0]["text"]


def test_explain_and_repeat_keep_state() -> None:
    slots = {"facts": {"age": 80}, "order": ["age"], "pending": "hospital_stay"}
    events, messages = run(ActionTurn(), make_tracker(slots=slots, intent="ask_why", text="hvorfor det?"))
    assert slots_of(events)["facts"] == {"age": 80} and messages[0]["text"].startswith("Derfor")
    _, repeated = run(ActionTurn(), make_tracker(slots=slots, intent="out_of_scope", text="hvad er klokken?"))
    assert repeated[0]["text"].startswith("Det kan jeg desværre ikke hjælpe med")
    assert repeated[1]["text"].startswith("Har personen for nylig")


def test_handoff_uses_municipality_from_channel_metadata() -> None:
    events, messages = run(
        ActionTurn(),
        make_tracker(intent="handoff", text="en medarbejder", metadata={"municipality": "aarhus"}),
    )
    assert "89 40 14 41" not in messages[0]["text"]  # adults: Aarhus' seed only covers children
    assert messages[0]["custom"]["handoff"]["name"] == "Din kommunes visitation (træning)"
    assert slots_of(events)["facts"] == {"municipality": "aarhus"}


def test_clarify_counts_misses() -> None:
    events, messages = run(ActionTurn(), make_tracker(intent="nlu_fallback", text="xyzzy"))
    assert slots_of(events)["misses"] == 1.0 and len(messages[0]["buttons"]) == 5
    assert slots_of(events)["handled_as"] == "not_understood"
    _, messages2 = run(
        ActionTurn(), make_tracker(slots=slots_of(events), intent="nlu_fallback", text="xyzzy")
    )
    assert "medarbejder" in messages2[0]["text"]


def test_start_over_clears_all_slots() -> None:
    slots = {
        "facts": {"age": 80},
        "order": ["age"],
        "pending": "hospital_stay",
        "outcome": {"offer": "none"},
    }
    events, messages = run(ActionTurn(), make_tracker(slots=slots, intent="start_over", text="nulstil"))
    assert slots_of(events) == {
        "handled_as": "start_over",
        "facts": {},
        "order": [],
        "pending": None,
        "topic": None,
        "misses": 0.0,
        "handoff_waiting": False,
        "outcome": None,
        "draft": {},
    }
    assert "forfra" in messages[0]["text"]


DOMAIN_INTENTS = (
    "greet", "goodbye", "thanks", "affirm", "deny", "dont_know", "inform", "correct", "go_back",
    "show_answers", "start_over", "ask_why", "handoff", "out_of_scope", "ask_maintenance_training",
    "ask_free_physiotherapy", "ask_rehabilitation", "ask_home_training", "ask_training_general",
    "delete_draft", "nlu_fallback",
)  # fmt: skip


@pytest.mark.parametrize("intent", DOMAIN_INTENTS)
def test_every_intent_runs_the_one_action_and_sets_every_slot(intent: str) -> None:
    events, messages = run(ActionTurn(), make_tracker(intent=intent, text="hmm"))
    assert tuple(slots_of(events)) == SLOTS and messages


@pytest.mark.parametrize(
    ("intent", "text", "confidence", "handled_as", "first_text"),
    [
        # nothing pending: the intent decides
        ("greet", "hej", 0.9, "greet", wording.text("turn.greet")),
        ("goodbye", "farvel", 0.9, "goodbye", wording.text("turn.goodbye")),
        ("thanks", "tak", 0.5, "thanks", wording.text("turn.thanks")),
        ("ask_training_general", "hvad kan I hjælpe med", 0.9, "training_general", wording.text("turn.training_general")),
        ("nlu_fallback", "xyzzy", 0.3, "not_understood", wording.text("fallback.first")),
        ("delete_draft", "slet det", 0.9, "delete_draft", "Du har ikke noget gemt udkast."),
    ],
)  # fmt: skip
def test_the_action_dispatches_by_intent(
    intent: str, text: str, confidence: float, handled_as: str, first_text: str
) -> None:
    events, messages = run(ActionTurn(), make_tracker(intent=intent, text=text, confidence=confidence))
    assert slots_of(events)["handled_as"] == handled_as
    assert messages[0]["text"] == first_text


@pytest.mark.parametrize(("confidence", "handled_as"), [(0.95, "goodbye"), (0.5, "not_understood")])
def test_the_nlu_confidence_decides_against_a_pending_question(confidence: float, handled_as: str) -> None:
    """'farvel' cannot answer a yes/no question: a confident goodbye says goodbye, an unsure one re-asks."""
    slots = {"facts": {"age": 80}, "order": ["age"], "pending": "hospital_stay"}
    events, messages = run(
        ActionTurn(), make_tracker(slots=slots, intent="goodbye", text="farvel", confidence=confidence)
    )
    assert slots_of(events)["handled_as"] == handled_as
    assert slots_of(events)["pending"] == "hospital_stay"
    if handled_as == "not_understood":
        assert messages[0]["text"].startswith(wording.text("turn.not_understood"))
        asking = next(m for m in messages if "question" in m["custom"])
        assert [b["title"] for b in asking["buttons"]] == [
            "Ja",
            "Nej",
            "Ved ikke",
        ]


def test_a_tracker_without_a_confidence_counts_as_sure() -> None:
    tracker = make_tracker(intent="goodbye", text="farvel")
    tracker.latest_message["intent"].pop("confidence")
    events, _ = run(ActionTurn(), tracker)
    assert slots_of(events)["handled_as"] == "goodbye"


@pytest.mark.parametrize("action", PREVIOUS_ACTIONS)
def test_the_previous_action_names_run_the_same_turn(action: Any) -> None:
    assert action().name() in PREVIOUS_NAMES
    events, messages = run(action(), make_tracker(intent="goodbye", text="farvel"))
    assert slots_of(events)["handled_as"] == "goodbye" and messages[0]["text"] == wording.text("turn.goodbye")


@pytest.mark.parametrize(
    ("intent", "text"),
    [
        ("handoff", "12 34 56 78"),
        ("out_of_scope", "hun kan ikke gå på trapper"),
        ("show_answers", "dine svar er vigtige"),
        ("ask_why", "hvorfor hun falder"),
        ("go_back", "tilbage til hverdagen"),
        ("goodbye", "Karen Jensen"),
        ("delete_draft", "slet ikke noget"),
        ("nlu_fallback", "qwerty"),
    ],
)
def test_a_typed_draft_field_takes_any_intent_as_its_answer(intent: str, text: str) -> None:
    """While a draft field waits for text, whatever NLU guessed, the message is the answer."""
    slots = {
        "facts": {"age": 80, "who": "self"},
        "outcome": {"offer": "rehabilitation"},
        "draft": {"step": "need_description", "fields": {"offer": "rehabilitation"}},
    }
    events, _ = run(ActionTurn(), make_tracker(slots=slots, intent=intent, text=text, confidence=0.99))
    assert slots_of(events)["draft"]["fields"]["need_description"] == text


@pytest.mark.parametrize("text", ["start forfra", "Stop"])
def test_start_over_is_obeyed_during_a_draft(text: str) -> None:
    slots = {"facts": {"age": 80}, "draft": {"step": "need_description", "fields": {}}}
    events, _ = run(ActionTurn(), make_tracker(slots=slots, intent="inform", text=text))
    assert slots_of(events)["draft"] == {}


STAFF = {"channel": "staff", "staff_initials": "ab", "municipality": "ballerup"}


def panel_of(messages: list[dict[str, Any]]) -> Any:
    panels = [m["custom"]["staff"] for m in messages if "staff" in (m.get("custom") or {})]
    assert len(panels) <= 1
    return panels[0] if panels else None


def test_every_message_is_one_whole_reply() -> None:
    """Text, buttons and custom of a reply in one message; no message of custom data alone."""
    slots = {"facts": {"age": 80}, "order": ["age"], "pending": "hospital_stay"}
    _, messages = run(ActionTurn(), make_tracker(slots=slots, intent="out_of_scope", text="hvad er klokken?"))
    assert [bool(m["text"]) for m in messages] == [True, True]
    assert messages[0]["custom"] == {} and messages[1]["custom"]["question"]["fact"] == "hospital_stay"
    assert [b["title"] for b in messages[1]["buttons"]] == ["Ja", "Nej", "Ved ikke"]


def test_the_staff_panel_rides_on_the_turns_last_message() -> None:
    slots = {"facts": {"age": 80}, "order": ["age"], "pending": "hospital_stay"}
    _, messages = run(
        ActionTurn(),
        make_tracker(slots=slots, intent="out_of_scope", text="hvad er klokken?", metadata=STAFF),
    )
    assert len(messages) == 2 and all(m["text"] for m in messages)
    assert "staff" not in messages[0]["custom"]
    assert set(messages[-1]["custom"]) == {"question", "staff"}


def test_staff_get_questions_phrased_for_them_and_the_side_panel() -> None:
    slots = {"facts": {"age": 8, "hospital_stay": "no"}, "order": ["age", "hospital_stay"]}
    slots["pending"] = "child_disability"
    events, messages = run(
        ActionTurn(), make_tracker(slots=slots, intent="affirm", text="ja", metadata=STAFF)
    )
    assert any(str(m.get("text", "")).startswith("Spørg borgeren:") for m in messages)
    panel = panel_of(messages)
    assert [(f["fact"], f["value"]) for f in panel["facts"]] == [
        ("age", "8 år"),
        ("hospital_stay", "Nej"),
        ("child_disability", "Ja"),
    ]
    assert [(c["id"], c["status"], c["status_label"]) for c in panel["criteria"]] == [
        ("child_disability", "met", "Opfyldt"),
        ("special_training_need", "unknown", "Ukendt"),
    ]
    assert panel["legal_basis"] == [] and panel["read_aloud"] is None
    assert panel["pending"] == slots_of(events)["pending"] == "special_training_need"


def test_citizens_get_no_side_panel_and_citizen_wording() -> None:
    _, messages = run(ActionTurn(), make_tracker(text="min søn på 8 har CP", metadata={"channel": "citizen"}))
    assert panel_of(messages) is None
    assert not any(str(m.get("text", "")).startswith("Spørg borgeren") for m in messages)


def test_staff_outcome_panel_has_the_legal_basis_and_the_text_to_read_aloud() -> None:
    slots = {
        "facts": {"age": 80, "hospital_stay": "yes"},
        "order": ["age", "hospital_stay"],
        "pending": "rehab_plan",
    }
    _, messages = run(ActionTurn(), make_tracker(slots=slots, intent="affirm", text="ja", metadata=STAFF))
    panel = panel_of(messages)
    outcome_text = next(m["text"] for m in messages if str(m.get("text", "")).startswith("Genoptræning"))
    assert panel["read_aloud"] == outcome_text
    assert panel["legal_basis"] == ["Sundhedsloven § 140"]


@pytest.mark.parametrize("payload", ["/go_back", "/show_answers"])
def test_the_pages_back_and_answers_buttons_are_obeyed_in_a_typed_draft_field(payload: str) -> None:
    """The button's payload is never saved as a name; typed words still are (test above)."""
    slots = {
        "facts": {"age": 80, "who": "self", "hospital_stay": "yes"},
        "order": ["age", "who", "hospital_stay"],
        "outcome": {"offer": "rehabilitation"},
        "draft": {"step": "date_of_birth", "fields": {"offer": "rehabilitation", "person_name": "Else"}},
    }
    events, _ = run(ActionTurn(), make_tracker(slots=slots, intent=payload[1:], text=payload, confidence=1.0))
    draft = slots_of(events)["draft"]
    assert payload not in str(draft)
    assert draft["step"] == ("person_name" if payload == "/go_back" else "date_of_birth")


def old_slot(name: str, value: Any) -> dict[str, Any]:
    """A slot event an action server wrote before the slots were renamed: Rasa keeps the event,
    but its domain no longer has the slot, so the tracker's slots do not show it."""
    return {"event": "slot", "name": name, "value": value, "timestamp": 1.0}


def test_a_conversation_begun_before_the_slot_rename_goes_on() -> None:
    """Deployed mid-conversation: the pending question, the order and the misses come from the events."""
    events = [
        {"event": "session_started", "timestamp": 0.5},
        old_slot("answer_order", ["age", "hospital_stay"]),
        old_slot("pending_question", "rehab_plan"),
        old_slot("fallback_count", 1.0),
    ]
    slots = {"facts": {"age": 80, "hospital_stay": "yes"}}
    tracker = make_tracker(
        slots=slots, intent="affirm", text="ja", metadata={"municipality": "ballerup"}, events=events
    )
    events_out, _ = run(ActionTurn(), tracker)
    after = slots_of(events_out)
    assert after["facts"]["rehab_plan"] == "yes" and after["outcome"]["offer"] == "rehabilitation"
    assert after["order"] == ["age", "hospital_stay", "rehab_plan"] and after["misses"] == 0.0
    assert not {"answer_order", "pending_question", "fallback_count"} & set(after)


def test_a_slot_set_under_its_new_name_since_wins_over_the_old_one() -> None:
    events = [old_slot("pending_question", "rehab_plan"), old_slot("pending", None)]
    slots = {"facts": {"age": 80, "hospital_stay": "yes"}, "pending": None}
    events_out, _ = run(ActionTurn(), make_tracker(slots=slots, intent="greet", text="hej", events=events))
    assert slots_of(events_out)["pending"] is None
    events = [old_slot("pending_question", "rehab_plan")]
    events_out, _ = run(ActionTurn(), make_tracker(slots=slots, intent="greet", text="hej", events=events))
    assert slots_of(events_out)["pending"] == "rehab_plan"


@pytest.fixture
def drafts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DraftStore]:
    """A real SQLite draft store, and the action server's own (`draft_store`) on the same file and
    key, opened from the environment it reads (TRAENINGSGUIDEN_DRAFT_DATABASE_URL and _DRAFT_KEY)."""
    url, key = f"sqlite:///{tmp_path / 'drafts.db'}", Fernet.generate_key()
    monkeypatch.setenv(DRAFT_DATABASE_URL_ENV, url)
    monkeypatch.setenv(DRAFT_KEY_ENV, key.decode())
    draft_store.cache_clear()
    store = DraftStore(url, key=key)
    yield store
    store.close()
    if draft_store.cache_info().currsize:
        draft_store().close()
    draft_store.cache_clear()


def saved_draft_slot(reference: str) -> dict[str, Any]:
    """The `draft` slot after the citizen saved a draft: its reference and address, nothing being filled in."""
    return {
        "step": None,
        "fields": {},
        "reference": reference,
        "url": f"http://127.0.0.1:8080/udkast/{reference}",
    }


def test_delete_draft_deletes_the_conversations_saved_draft(drafts: DraftStore) -> None:
    """ActionDeleteDraft's job, now `action_turn`'s: 'slet mit udkast' deletes this sender's saved draft."""
    created = drafts.create(sample_input(), "saved-in-this-conversation", NOW, owner="test-sender")
    slots = {"facts": {"age": 10}, "order": ["age"], "draft": saved_draft_slot(created.reference)}
    events, messages = run(
        ActionTurn(),
        make_tracker(slots=slots, intent="delete_draft", text="slet mit udkast", confidence=0.95),
    )
    assert raw_rows(drafts) == [] and drafts.get_by_token(created.token, NOW) is None
    assert messages[0]["text"] == draft_text("dialogue.deleted", reference=created.reference)
    assert messages[0]["custom"] == {"draft_deleted": created.reference}
    assert slots_of(events)["handled_as"] == "delete_draft"
    assert slots_of(events)["draft"] == {}


def test_delete_draft_from_another_conversation_deletes_nothing(drafts: DraftStore) -> None:
    """Another sender's tracker naming the same reference (a forged or copied slot) deletes nothing."""
    created = drafts.create(sample_input(), "saved-in-another-conversation", NOW, owner="test-sender")
    slot = saved_draft_slot(created.reference)
    events, messages = run(
        ActionTurn(),
        make_tracker(
            slots={"draft": slot},
            intent="delete_draft",
            text="slet mit udkast",
            confidence=0.95,
            sender="stranger",
        ),
    )
    assert len(raw_rows(drafts)) == 1 and drafts.get_by_token(created.token, NOW) is not None
    assert messages[0]["text"] == draft_text("dialogue.no_draft")
    assert slots_of(events)["handled_as"] == "delete_draft"
    assert slots_of(events)["draft"] == slot
