"""Questions as data (`bot/data/questions.yml`).

Two option lists are not written there but derived, so that each has one source: who is asking
(`RELATIONS`, also who fills in a draft) and the municipality (one option per profile in
`bot/data/municipalities/`, then "other").
"""

from __future__ import annotations

from functools import cache
from typing import Any, Literal, get_args

from pydantic import BaseModel, ValidationError

from bot.datafiles import load_yaml
from bot.errors import DataFileError
from bot.municipality import profiles

Kind = Literal["yes_no", "number", "choice"]
Answer = int | str
Relation = Literal["self", "parent", "relative", "professional"]
RELATIONS: tuple[Relation, ...] = get_args(Relation)  # who is asking; who fills in a draft
OTHER_MUNICIPALITY = "other"


class Question(BaseModel):
    fact: str
    kind: Kind
    options: list[str]
    min: int | None = None
    max: int | None = None

    class Config:
        frozen = True
        extra = "forbid"


def derived_options() -> dict[str, list[str]]:
    """The option lists that questions.yml does not write: each has its one source elsewhere."""
    return {"who": list(RELATIONS), "municipality": [*profiles(), OTHER_MUNICIPALITY]}


def _options(derived: dict[str, list[str]], fact: str) -> dict[str, Any]:
    return {"options": derived[fact]} if fact in derived else {}


@cache
def questions() -> dict[str, Question]:
    raw = load_yaml("questions.yml")["questions"]
    derived = derived_options()
    for fact in derived.keys() & raw.keys():
        if "options" in raw[fact]:
            raise DataFileError(f"questions.yml: the options of {fact!r} are derived; do not list them")
    try:
        return {fact: Question(fact=fact, **{**spec, **_options(derived, fact)}) for fact, spec in raw.items()}
    except (TypeError, ValidationError) as e:
        raise DataFileError(f"questions.yml: {e}") from e


def question(fact: str) -> Question:
    try:
        return questions()[fact]
    except KeyError as e:
        raise DataFileError(f"no question for fact {fact!r}") from e
