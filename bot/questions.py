"""Questions as data (`bot/data/questions.yml`)."""

from __future__ import annotations

from functools import cache
from typing import Literal

from pydantic import BaseModel, ValidationError

from bot.datafiles import load_yaml
from bot.errors import DataFileError

Kind = Literal["yes_no", "number", "choice"]
Answer = int | str


class Question(BaseModel):
    fact: str
    kind: Kind
    options: list[str]
    audience: Literal["child", "adult", "any"]
    routes: list[str]
    min: int | None = None
    max: int | None = None

    class Config:
        frozen = True
        extra = "forbid"


@cache
def questions() -> dict[str, Question]:
    raw = load_yaml("questions.yml")["questions"]
    try:
        return {fact: Question(fact=fact, **spec) for fact, spec in raw.items()}
    except (TypeError, ValidationError) as e:
        raise DataFileError(f"questions.yml: {e}") from e


def question(fact: str) -> Question:
    try:
        return questions()[fact]
    except KeyError as e:
        raise DataFileError(f"no question for fact {fact!r}") from e
