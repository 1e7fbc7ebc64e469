"""The staff side panel: facts so far, the rule trace and the legal basis, for phone staff.

`staff_panel(state, decision)` is what the staff page shows beside the conversation
(`custom.staff` on every staff turn): the answers in the order given, each
criterion the rules have read (met, failed or unknown, the one being asked as
unknown), the legal basis once there is an outcome, and the outcome text to
read aloud to the citizen. The criteria come from the decision the turn made
(`bot.conversation.Result.decision`) or the outcome in the state; the panel
never decides itself.
"""

from __future__ import annotations

from typing import Any

from bot import wording
from bot.rules import Ask, Criterion, Decision
from bot.state import State


def _criterion(c: Criterion) -> dict[str, str]:
    return {
        "id": c.id,
        "label": wording.text(f"questions.{c.id}.label"),
        "status": c.status,
        "status_label": wording.text(f"staff_panel.statuses.{c.status}"),
    }


def _trace(state: State, decision: Decision | None) -> tuple[Criterion, ...]:
    if state.outcome is not None:
        return state.outcome.criteria
    if not isinstance(decision, Ask):
        return ()
    return decision.criteria  # the criterion being asked, if any, last and unknown


def staff_panel(state: State, decision: Decision | None, *, read_aloud: str | None = None) -> dict[str, Any]:
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
    legal = [ref.cite() for ref in state.outcome.legal_basis] if state.outcome is not None else []
    return {
        "facts": facts,
        "criteria": [_criterion(c) for c in _trace(state, decision)],
        "legal_basis": [c for c in legal if c],
        "read_aloud": read_aloud if state.outcome is not None else None,
        "pending": state.pending,
    }
