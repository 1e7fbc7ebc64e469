"""The staff side panel: facts so far, the rule trace and the legal basis, for phone staff.

`staff_panel(state, today)` is what the staff page shows beside the conversation
(`custom.staff` on every staff turn): the answers in the order given, each
criterion the rules have read (met, failed or unknown, the one being asked as
unknown), the legal basis once there is an outcome, and the outcome text to
read aloud to the citizen.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot import wording
from bot.conversation import State
from bot.rules import Ask, Criterion, decide


def _criterion(c: Criterion) -> dict[str, str]:
    return {
        "id": c.id,
        "label": wording.text(f"questions.{c.id}.label"),
        "status": c.status,
        "status_label": wording.text(f"staff_panel.statuses.{c.status}"),
    }


def _trace(state: State, today: dt.date) -> list[Criterion]:
    if state.outcome is not None:
        return [Criterion(c["id"], c["status"]) for c in state.outcome.get("criteria", [])]
    decision = decide(state.facts, topic=state.topic, today=today)
    if not isinstance(decision, Ask):
        return []
    return list(decision.criteria)  # the criterion being asked, if any, last and unknown


def staff_panel(state: State, *, today: dt.date, read_aloud: str | None = None) -> dict[str, Any]:
    """`custom.staff`: facts, criteria, legal basis and the text to read to the citizen."""
    facts = [
        {
            "fact": fact,
            "label": wording.question_message(fact, state.facts).text,
            "value": wording.answer_label(fact, state.facts[fact]),
        }
        for fact in state.order
        if fact in state.facts
    ]
    legal = [ref.get("citation", "") for ref in (state.outcome or {}).get("legal_basis", [])]
    return {
        "facts": facts,
        "criteria": [_criterion(c) for c in _trace(state, today)],
        "legal_basis": [c for c in legal if c],
        "read_aloud": read_aloud if state.outcome is not None else None,
        "pending": state.pending,
    }

