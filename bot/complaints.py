"""Complaint guidance (klagevejledning) as versioned data (`bot/data/complaints.yml`).

For every provision in `bot/data/legal.yml`, and for a 'none' outcome per contact area, the data
says who decides, whether the decision comes in writing, where a complaint goes and the Danish
lines to show, each in a validity period. `complaint_for` picks the entry in force on a date.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from functools import cache
from typing import Any, Literal, Mapping

from pydantic import BaseModel, ValidationError, root_validator, validator

from bot.datafiles import load_yaml
from bot.errors import DataFileError
from bot.legal import legal_data

ComplaintArea = Literal["children", "adults"]
COMPLAINTS_FILE = "complaints.yml"


@dataclasses.dataclass(frozen=True)
class Complaint:
    """The complaint guidance for one outcome on one date, ready to show."""

    decides: str  # Danish: who decides
    in_writing: bool
    body: str  # "Ankestyrelsen" / "Styrelsen for Patientklager" / "" when there is no decision
    lines: tuple[str, ...]  # the Danish guidance lines, ready to show, in order
    needs_confirmation: bool
    legal: tuple[str, ...]  # citations, e.g. "Retssikkerhedsloven § 67, stk. 1"
    law: str = ""  # the law the decision is made under, e.g. "Barnets lov"

    def payload(self) -> dict[str, Any]:
        """JSON-able, for `custom.outcome.complaint`."""
        return {
            "decides": self.decides,
            "in_writing": self.in_writing,
            "body": self.body,
            "lines": list(self.lines),
            "needs_confirmation": self.needs_confirmation,
            "legal": list(self.legal),
            "law": self.law,
        }


class ComplaintEntry(BaseModel):
    """The guidance for one provision (or 'none' area) in one period."""

    valid_from: dt.date
    valid_to: dt.date | None = None
    law: str
    decides: str
    in_writing: bool
    body: str
    lines: list[str]  # keys into ComplaintsData.texts
    legal: list[str]
    needs_confirmation: bool = False
    source: str

    class Config:
        frozen = True
        extra = "forbid"

    @validator("decides", "law", "source")
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value

    @validator("lines")
    def _some_lines(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("an entry needs at least one line")
        return value

    @validator("valid_to")
    def _ends_after_start(cls, value: dt.date | None, values: Mapping[str, Any]) -> dt.date | None:
        start = values.get("valid_from")
        if value is not None and start is not None and value < start:
            raise ValueError(f"valid_to {value} is before valid_from {start}")
        return value

    def in_force(self, on: dt.date) -> bool:
        return self.valid_from <= on and (self.valid_to is None or on <= self.valid_to)


def _check_periods(name: str, entries: list[ComplaintEntry], covers_from: dt.date) -> None:
    """Entries must run without gap or overlap from `covers_from` to an open end."""
    if not entries:
        raise ValueError(f"{name}: no entries")
    ordered = sorted(entries, key=lambda e: e.valid_from)
    if ordered[0].valid_from != covers_from:
        raise ValueError(f"{name}: starts {ordered[0].valid_from}, not at covers_from {covers_from}")
    for before, after in itertools.pairwise(ordered):
        if before.valid_to is None:
            raise ValueError(f"{name}: entry from {before.valid_from} is open-ended but another follows")
        expected = before.valid_to + dt.timedelta(days=1)
        if after.valid_from != expected:
            kind = "gap" if after.valid_from > expected else "overlap"
            raise ValueError(f"{name}: {kind} between {before.valid_to} and {after.valid_from}")
    if ordered[-1].valid_to is not None:
        raise ValueError(f"{name}: the last entry ends {ordered[-1].valid_to}; it must be open-ended")


class ComplaintsData(BaseModel):
    covers_from: dt.date
    texts: dict[str, str]
    provisions: dict[str, list[ComplaintEntry]]
    none: dict[ComplaintArea, list[ComplaintEntry]]

    class Config:
        frozen = True
        extra = "forbid"

    @validator("texts")
    def _plain_texts(cls, value: dict[str, str]) -> dict[str, str]:
        for key, line in value.items():
            if not line.strip():
                raise ValueError(f"text {key!r} is blank")
            if "{" in line or "}" in line:
                raise ValueError(f"text {key!r} has a placeholder; write around the person instead")
        return value

    @validator("provisions")
    def _known_provisions(cls, value: dict[str, list[ComplaintEntry]]) -> dict[str, list[ComplaintEntry]]:
        unknown = set(value) - set(legal_data().provisions)
        if unknown:
            raise ValueError(f"provisions not in legal.yml: {sorted(unknown)}")
        return value

    @validator("none")
    def _both_areas(
        cls, value: dict[ComplaintArea, list[ComplaintEntry]]
    ) -> dict[ComplaintArea, list[ComplaintEntry]]:
        missing = set(ComplaintArea.__args__) - set(value)  # type: ignore[attr-defined]
        if missing:
            raise ValueError(f"none lacks {sorted(missing)}")
        return value

    @root_validator(skip_on_failure=True)
    def _consistent(cls, values: dict[str, Any]) -> dict[str, Any]:
        covers_from: dt.date = values["covers_from"]
        texts: dict[str, str] = values["texts"]
        groups: dict[str, list[ComplaintEntry]] = {
            **values["provisions"],
            **{f"none.{area}": entries for area, entries in values["none"].items()},
        }
        for name, entries in groups.items():
            _check_periods(name, entries, covers_from)
            for entry in entries:
                missing = [key for key in entry.lines if key not in texts]
                if missing:
                    raise ValueError(f"{name} from {entry.valid_from}: no text for {missing}")
        return values

    def entries(self, provision: str | None, area: str) -> list[ComplaintEntry]:
        if provision is not None:
            found = self.provisions.get(provision)
            if found is None:
                raise DataFileError(f"no complaint guidance for provision {provision!r} in {COMPLAINTS_FILE}")
            return found
        if area not in self.none:
            raise ValueError(f"area must be 'children' or 'adults', not {area!r}")
        return self.none[area]


def parse_complaints(raw: Any) -> ComplaintsData:
    """Validate raw YAML data; DataFileError when it is wrong."""
    try:
        return ComplaintsData.parse_obj(raw)
    except ValidationError as e:
        raise DataFileError(f"{COMPLAINTS_FILE}: {e}") from e


@cache
def complaints_data() -> ComplaintsData:
    """The complaint guidance, validated once."""
    return parse_complaints(load_yaml(COMPLAINTS_FILE))


def complaint_for(provision: str | None, *, area: str, on: dt.date) -> Complaint | None:
    """The complaint guidance for an outcome's provision on a date.

    provision None = a 'none' outcome: guidance for applying anyway and complaining about the
    written decision (area 'children' or 'adults'). None when `on` is before the data's
    `covers_from` (no guidance for that time). Unknown provision: DataFileError.
    """
    data = complaints_data()
    entries = data.entries(provision, area)
    entry = next((e for e in entries if e.in_force(on)), None)
    if entry is None:
        return None
    return Complaint(
        decides=entry.decides,
        in_writing=entry.in_writing,
        body=entry.body,
        lines=tuple(data.texts[key] for key in entry.lines),
        needs_confirmation=entry.needs_confirmation,
        legal=tuple(entry.legal),
        law=entry.law,
    )
