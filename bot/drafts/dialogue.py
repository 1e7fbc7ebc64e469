"""The conversation that turns a finished questionnaire into a draft application.

Steps are data (STEPS); each typed answer is checked by `bot.drafts.check_field`
(CPR masked, Danish error). Nothing personal is asked before consent, and
nothing is stored before the citizen has seen the whole draft and chosen
"Gem udkastet". Answers from the questionnaire are carried over, never asked.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import TYPE_CHECKING, Any, Callable, Literal, Mapping

from bot.drafts.model import DRAFT_OFFERS, DraftInput, check_field
from bot.drafts.texts import text as draft_text
from bot.drafts.texts import texts as draft_texts
from bot.drafts.urls import draft_url
from bot.parse import parse_yes_no
from bot.questions import RELATIONS
from bot.replies import Button, Reply
from bot.rules import Outcome
from bot.state import DraftState
from bot.text import fold

# The store (SQLAlchemy, cryptography) is loaded by the service's factory when a draft is saved,
# not when the conversation is imported.
if TYPE_CHECKING:
    from bot.drafts.store import DraftStore

StepKind = Literal["yes_no", "choice", "field"]


@dataclasses.dataclass(frozen=True)
class Step:
    name: str
    kind: StepKind
    optional: bool = False
    applies: Callable[[Mapping[str, Any], DraftState], bool] = lambda facts, draft: True


STEPS: tuple[Step, ...] = (
    Step("draft_offer", "yes_no"),
    Step("draft_consent", "yes_no"),
    Step("applicant_relation", "choice", applies=lambda facts, draft: "who" not in facts),
    Step("person_name", "field"),
    Step("date_of_birth", "field"),
    Step("phone", "field", optional=True),
    Step("email", "field", optional=True),
    Step("need_description", "field"),
    Step("diagnoses", "field", optional=True),
    Step("current_care", "field", optional=True),
    Step("municipality_may_obtain", "yes_no"),
    Step("training_method", "field", applies=lambda facts, draft: draft.offer == "home_training"),
    Step("review", "choice"),
)
_BY_NAME = {step.name: step for step in STEPS}
PERSONAL_FIELDS = tuple(s.name for s in STEPS if s.name not in ("draft_offer", "draft_consent", "review"))


@dataclasses.dataclass(frozen=True)
class DraftService:
    """Where drafts are stored and how their links start; one per process."""

    store: Callable[[], DraftStore]
    base_url: str
    conversation_id: str
    staff_initials: str | None = None  # staff mode: the draft is made on the citizen's behalf


def expects_text(draft: DraftState) -> bool:
    """A typed draft field is pending: any message (whatever its intent) is the answer, as written
    (Rasa's from_text), after CPR masking and the field's check."""
    step = _BY_NAME.get(str(draft.step))
    return step is not None and step.kind == "field"


def can_offer(outcome: Outcome | None) -> bool:
    return outcome is not None and outcome.offer in DRAFT_OFFERS


class DraftDialogue:
    """One turn of the draft conversation: (`DraftState`, message) -> (`DraftState`, replies)."""

    def __init__(self, *, now: dt.datetime, service: DraftService | None) -> None:
        self.now = now
        self.service = service

    # -- entry points ------------------------------------------------------------------
    def reads(self, draft: DraftState, text: str, intent: str | None, entities: Mapping[str, str]) -> bool:
        """Whether the message can be the answer to the pending step (the caller decides otherwise)."""
        step = _BY_NAME[str(draft.step)]
        if intent == "correct" and entities.get("fact") in PERSONAL_FIELDS:
            return True
        if entities.get("fact") == step.name and entities.get("choice"):
            return True
        if expects_text(draft):
            return True
        if step.kind == "yes_no":
            return _yes_no(text, intent) is not None
        if step.name == "review":
            return _save_word(text) is not None
        return _relation(text) is not None

    def offer(self, outcome: Outcome) -> tuple[DraftState, list[Reply]]:
        draft = DraftState(step="draft_offer", offer=outcome.offer)
        return draft, self._ask("draft_offer", draft)

    def answer(
        self,
        draft: DraftState,
        facts: Mapping[str, Any],
        outcome: Outcome | None,
        text: str,
        intent: str | None,
        entities: Mapping[str, str],
    ) -> tuple[DraftState, list[Reply]]:
        step = _BY_NAME[str(draft.step)]
        if intent == "correct" and entities.get("fact") in PERSONAL_FIELDS:
            target = str(entities["fact"])
            correcting = dataclasses.replace(draft, step=target, reviewing=True)
            return correcting, self._ask(target, correcting)
        fields = dict(draft.fields)
        value = entities.get("choice") if entities.get("fact") == step.name else None
        replies: list[Reply] = []
        if step.kind == "yes_no":
            answer = value if value in ("yes", "no") else _yes_no(text, intent)
            if answer is None:
                return draft, [
                    Reply(draft_text("dialogue.review_choice")),
                    *self._ask(step.name, draft),
                ]
            if step.name in ("draft_offer", "draft_consent") and answer == "no":
                return DraftState(), [Reply(draft_text("dialogue.declined"))]
            fields[step.name] = answer
        elif step.kind == "choice":
            if step.name == "review":
                if (value or _save_word(text)) != "save":
                    return draft, [
                        Reply(draft_text("dialogue.review_choice")),
                        *self._review(draft, facts),
                    ]
                return self._save(draft, facts, outcome)
            choice = value if value in RELATIONS else _relation(text)
            if choice is None:
                return draft, [Reply(draft_text("errors.relation")), *self._ask(step.name, draft)]
            fields[step.name] = choice
        else:
            raw = "" if step.optional and _is_skip(text) else (value or text)
            checked = check_field(step.name, raw, today=self.now.date())  # type: ignore[arg-type]
            if checked.notice:
                replies.append(Reply(checked.notice))
            if checked.error:
                return draft, [*replies, Reply(checked.error), *self._ask(step.name, draft)]
            if step.name == "email" and checked.value is None and not fields.get("phone"):
                return draft, [
                    *replies,
                    Reply(draft_text("dialogue.email_required")),
                    *self._ask(step.name, draft),
                ]
            fields[step.name] = (
                checked.value.isoformat() if isinstance(checked.value, dt.date) else checked.value
            )
        answered = dataclasses.replace(draft, fields=fields)
        following = "review" if draft.reviewing else self._next(step.name, facts, answered)
        new_draft = dataclasses.replace(answered, step=following)
        if following == "review":
            return new_draft, [*replies, *self._review(new_draft, facts)]
        return new_draft, [*replies, *self._ask(following, new_draft)]

    def back(self, draft: DraftState, facts: Mapping[str, Any]) -> tuple[DraftState, list[Reply]] | None:
        """'Tilbage' in a draft: the previous step asked again; None at the offer (leave the draft)."""
        current = str(draft.step)
        names = [s.name for s in STEPS]
        earlier = [s.name for s in STEPS[: names.index(current)] if s.applies(facts, draft)]
        if not earlier:
            return None
        went_back = dataclasses.replace(draft, step=earlier[-1], reviewing=False)
        return went_back, self.ask_again(went_back, facts)

    def ask_again(self, draft: DraftState, facts: Mapping[str, Any]) -> list[Reply]:
        """The pending draft step once more (after 'Dine svar', say)."""
        step = str(draft.step)
        return self._review(draft, facts) if step == "review" else self._ask(step, draft)

    def delete(self, draft: DraftState) -> tuple[DraftState, list[Reply]]:
        """'Slet mit udkast': only a draft this conversation made; anything else reads as no draft.

        A draft still being filled in (nothing stored yet) is dropped."""
        reference = draft.reference
        if not reference and draft.step:
            return DraftState(), [Reply(draft_text("dialogue.declined"))]
        if (
            not reference
            or self.service is None
            or not self.service.store().delete_owned(reference, self.service.conversation_id)
        ):
            return draft, [Reply(draft_text("dialogue.no_draft"))]
        return DraftState(), [
            Reply(draft_text("dialogue.deleted", reference=reference), custom={"draft_deleted": reference})
        ]

    # -- helpers -----------------------------------------------------------------------
    def _next(self, current: str, facts: Mapping[str, Any], draft: DraftState) -> str:
        names = [s.name for s in STEPS]
        for step in STEPS[names.index(current) + 1 :]:
            if step.applies(facts, draft):
                return step.name
        return "review"

    def _ask(self, name: str, draft: DraftState) -> list[Reply]:
        step = _BY_NAME[name]
        key = f"dialogue.{name}"
        if name == "draft_offer" and draft.offer == "free_physiotherapy":
            key = "dialogue.draft_offer_free_physiotherapy"
        wording = draft_text(key, days=self._retention_days())
        options: tuple[str, ...] = ()
        if step.kind == "yes_no":
            options = ("yes", "no")
        elif name == "applicant_relation":
            options = RELATIONS
        labels = {
            v: draft_text(f"values.{v}") if step.kind == "yes_no" else draft_text(f"relations.{v}")
            for v in options
        }
        buttons = tuple(Button(labels[v], "inform", {"fact": name, "choice": v}) for v in options)
        payload = {
            "fact": name,
            "kind": "text" if step.kind == "field" else "choice",
            "options": [{"value": v, "label": labels[v]} for v in options],
        }
        replies = [Reply(wording, buttons, {"question": payload})]
        if name == "training_method":
            replies.insert(0, Reply(draft_text("dialogue.home_training_attachments")))
        return replies

    def _review(self, draft: DraftState, facts: Mapping[str, Any]) -> list[Reply]:
        fields = draft.fields
        lines = [draft_text("dialogue.review_intro")]
        buttons = [Button(draft_text("dialogue.save"), "inform", {"fact": "review", "choice": "save"})]
        for name in PERSONAL_FIELDS:
            if name not in fields:
                continue
            label = (
                draft_text(f"fields.{name}")
                if name != "municipality_may_obtain"
                else draft_text("dialogue.municipality_may_obtain")
            )
            value = fields[name]
            shown = (
                draft_text(f"values.{value}")
                if value in ("yes", "no")
                else (
                    draft_text(f"relations.{value}")
                    if value in RELATIONS
                    else (value or draft_text("values.not_given"))
                )
            )
            lines.append(f"• {label}: {shown}")
            buttons.append(Button(draft_text("dialogue.correct", field=label), "correct", {"fact": name}))
        payload = {
            "fact": "review",
            "kind": "choice",
            "options": [{"value": "save", "label": draft_text("dialogue.save")}],
        }
        review = {**({"offer": draft.offer} if draft.offer else {}), **fields}  # as the draft slot has it
        return [Reply("\n".join(lines), tuple(buttons), {"question": payload, "draft_review": review})]

    def _save(
        self, draft: DraftState, facts: Mapping[str, Any], outcome: Outcome | None
    ) -> tuple[DraftState, list[Reply]]:
        offer = next((o for o in DRAFT_OFFERS if outcome is not None and o == outcome.offer), None)
        if self.service is None or outcome is None or offer is None:
            return draft, [Reply(draft_text("dialogue.unavailable"))]
        fields = draft.fields
        relation = fields.get("applicant_relation") or facts.get("who") or "self"
        school = facts.get("school_trains")
        draft_input = DraftInput(
            offer=offer,
            municipality=outcome.municipality,
            legal_basis=[ref.payload() for ref in outcome.legal_basis],
            facts={**dict(facts), "municipality_may_obtain": fields.get("municipality_may_obtain")},
            applicant_relation=relation,  # type: ignore[arg-type]  # one of RELATIONS
            person_name=str(fields["person_name"]),
            date_of_birth=dt.date.fromisoformat(str(fields["date_of_birth"])),
            phone=fields.get("phone"),
            email=fields.get("email"),
            need_description=str(fields["need_description"]),
            diagnoses=fields.get("diagnoses"),
            current_care=fields.get("current_care"),
            consent_health_info=True,  # given at the draft_consent step; nothing is asked before it
            training_method=fields.get("training_method"),
            created_by_staff_initials=self.service.staff_initials,
            school_trains_today=None
            if school is None
            else draft_text(f"values.{school}")
            if school in ("yes", "no")
            else None,
        )
        from bot.drafts.store import idempotency_key  # loaded by `store()` already

        store = self.service.store()
        conversation = self.service.conversation_id
        created = store.create(
            draft_input, idempotency_key(conversation, outcome), self.now, owner=conversation
        )
        url = draft_url(self.service.base_url, created.token)
        saved = DraftState(reference=created.reference, url=url)
        reply = Reply(
            draft_text("dialogue.saved", reference=created.reference, url=url, days=store.retention_days),
            custom={"draft": {"reference": created.reference, "url": url}},
        )
        return saved, [reply]

    def _retention_days(self) -> int:
        return self.service.store().retention_days if self.service else 30


def _yes_no(text: str, intent: str | None) -> str | None:
    if intent in ("affirm", "deny"):
        return "yes" if intent == "affirm" else "no"
    answer = parse_yes_no(text)
    return answer if answer in ("yes", "no") else None  # a draft step has no "Ved ikke"


def _relation(text: str) -> str | None:
    """Who fills in the draft, from free text ('mig selv', 'jeg er hans mor', 'pårørende')."""
    folded = fold(text)
    for relation, pattern in (
        ("professional", r"fagperson|sygeplejerske|laege|paedagog|terapeut|sagsbehandler"),
        ("parent", r"foraelder|mor til|far til|mit barn|min (soen|datter)|hans (mor|far)|hendes (mor|far)"),
        ("relative", r"paaroerende|datter|soen|barnebarn|aegtefaelle|mand|kone|nabo"),
        ("self", r"\bmig\b|\bselv\b|\bjeg\b"),
    ):
        if re.search(pattern, folded):
            return relation
    return None


def _save_word(text: str) -> str | None:
    return "save" if re.search(r"\b(gem|ja|send|ok|det er rigtigt)\b", fold(text)) else None


def _is_skip(text: str) -> bool:
    words = draft_texts("dialogue.skip_words")
    return fold(text).strip(" .!") in {fold(w) for w in words}
