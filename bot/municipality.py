"""Municipality profiles: one YAML file each under `bot/data/municipalities/`."""

from __future__ import annotations

import datetime as dt
import re
from functools import cache
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ValidationError, validator

from bot.datafiles import DATA_DIR, load_yaml
from bot.errors import DataFileError, UnknownMunicipalityError
from bot.legal import LegalRef
from bot.text import fold

TIMEZONE = ZoneInfo("Europe/Copenhagen")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ContactArea = Literal["children", "adults", "rehabilitation", "home_training"]
_SPAN = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")


def _parse_span(span: str) -> tuple[dt.time, dt.time]:
    match = _SPAN.match(span)
    if match is None:
        raise ValueError(f"opening hours {span!r} are not HH:MM-HH:MM")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = dt.time(h1, m1), dt.time(h2, m2)
    if end <= start:
        raise ValueError(f"opening hours {span!r} end before they start")
    return start, end


class Contact(BaseModel):
    name: str
    address: str | None
    phone: str | None
    email: str | None
    hours: dict[Weekday, list[str]] | None

    class Config:
        frozen = True
        extra = "forbid"

    @validator("hours")
    def _hours_parse(cls, value: dict[str, list[str]] | None) -> dict[str, list[str]] | None:
        for spans in (value or {}).values():
            for span in spans:
                _parse_span(span)
        return value

    def spans(self, weekday: Weekday) -> list[tuple[dt.time, dt.time]]:
        return [_parse_span(s) for s in (self.hours or {}).get(weekday, [])]

    def is_open(self, now: dt.datetime) -> bool | None:
        """Open at `now` (any timezone)? None when the opening hours are unknown."""
        if self.hours is None:
            return None
        local = now.astimezone(TIMEZONE)
        weekday = WEEKDAYS[local.weekday()]
        return any(start <= local.time() < end for start, end in self.spans(weekday))


class Profile(BaseModel):
    id: str
    name: str
    aliases: list[str]
    contacts: dict[ContactArea, Contact | None]
    special_schools: list[str]
    legal_overrides: dict[str, list[LegalRef]]

    class Config:
        frozen = True
        extra = "forbid"

    @validator("contacts")
    def _all_areas(cls, value: dict[str, Contact | None]) -> dict[str, Contact | None]:
        missing = set(ContactArea.__args__) - set(value)  # type: ignore[attr-defined]
        if missing:
            raise ValueError(f"contacts lack {sorted(missing)}")
        return value

    def contact(self, area: ContactArea) -> Contact:
        """This profile's contact for `area`, else the national default's."""
        own = self.contacts.get(area)
        if own is not None:
            return own
        fallback = national_default().contacts[area]
        assert fallback is not None, "default.yml defines every area"
        return fallback


def _load(file_stem: str) -> Profile:
    try:
        profile = Profile.parse_obj(load_yaml(f"municipalities/{file_stem}.yml"))
    except ValidationError as e:
        raise DataFileError(f"municipality profile {file_stem}.yml: {e}") from e
    if profile.id != file_stem:
        raise DataFileError(f"{file_stem}.yml declares id {profile.id!r}")
    return profile


@cache
def national_default() -> Profile:
    profile = _load("default")
    if any(c is None for c in profile.contacts.values()):
        raise DataFileError("default.yml must define a contact for every area")
    return profile


@cache
def profiles() -> dict[str, Profile]:
    """Every municipality profile, validated once, by id."""
    stems = sorted(p.stem for p in (DATA_DIR / "municipalities").glob("*.yml"))
    return {stem: _load(stem) for stem in stems if stem != "default"}


def profile(municipality_id: str | None) -> Profile:
    """The profile for an id; the national default for None or 'other'."""
    if municipality_id in (None, "other"):
        return national_default()
    try:
        return profiles()[municipality_id]
    except KeyError as e:
        raise UnknownMunicipalityError(municipality_id) from e


def find_municipality(text: str) -> str | None:
    """The id of a municipality named in free text, by its aliases."""
    folded = f" {fold(text)} "
    for prof in profiles().values():
        for alias in (prof.id, *prof.aliases):
            if re.search(rf"(?<![a-z]){re.escape(fold(alias))}(?![a-z])", folded):
                return prof.id
    return None
