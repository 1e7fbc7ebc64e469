"""Legal references as versioned data (`bot/data/legal.yml`)."""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any, Mapping

from pydantic import BaseModel, ValidationError

from bot.datafiles import load_yaml
from bot.errors import DataFileError


class LegalRef(BaseModel):
    """One paragraph of one law, valid in a period."""

    law: str
    paragraph: str | None = None
    stk: str | None = None
    nr: str | None = None
    jf: str | None = None  # "jf. § 5": the paragraph read together with this one
    valid_from: dt.date
    valid_to: dt.date | None = None
    needs_confirmation: bool = False
    note: str | None = None

    class Config:
        frozen = True
        extra = "forbid"

    def in_force(self, on: dt.date) -> bool:
        return self.valid_from <= on and (self.valid_to is None or on <= self.valid_to)

    def cite(self) -> str:
        """Danish citation, e.g. 'Barnets lov § 90, nr. 3'."""
        if self.paragraph is None:
            return self.law
        parts = [f"{self.law} § {self.paragraph}"]
        if self.stk:
            parts.append(f"stk. {self.stk}")
        if self.nr:
            parts.append(f"nr. {self.nr}")
        if self.jf:
            parts.append(f"jf. {self.jf}")
        return ", ".join(parts)

    def payload(self) -> dict[str, Any]:
        """The machine-readable form used in `custom.outcome.legal_basis`."""
        return {
            "law": self.law,
            "paragraph": self.paragraph,
            "stk": self.stk,
            "nr": self.nr,
            "valid_from": self.valid_from.isoformat(),
            "needs_confirmation": self.needs_confirmation,
            "citation": self.cite(),
        }


class LegalData(BaseModel):
    pension_age: int
    senior_transition_until: dt.date
    provisions: dict[str, list[LegalRef]]

    class Config:
        extra = "forbid"


@cache
def legal_data() -> LegalData:
    try:
        return LegalData.parse_obj(load_yaml("legal.yml"))
    except ValidationError as e:
        raise DataFileError(f"legal.yml: {e}") from e


def refs_in_force(
    provision: str,
    on: dt.date,
    *,
    overrides: Mapping[str, list[LegalRef]] | None = None,
) -> tuple[LegalRef, ...]:
    """The references for `provision` in force on `on`, a municipality's override first."""
    refs = (overrides or {}).get(provision) or legal_data().provisions.get(provision)
    if refs is None:
        raise DataFileError(f"no legal provision {provision!r} in legal.yml")
    found = tuple(ref for ref in refs if ref.in_force(on))
    if not found:
        raise DataFileError(f"no reference for {provision!r} in force on {on}")
    return found


def pension_age() -> int:
    return legal_data().pension_age


def senior_transition_until() -> dt.date:
    """Ældreloven § 46: earlier SEL § 86 decisions stay valid until changed, at the latest this day."""
    return legal_data().senior_transition_until
