"""Municipality profiles: one YAML file each under `bot/data/municipalities/`."""

from __future__ import annotations

import datetime as dt
import re
from functools import cache
from typing import Any, Literal, Mapping
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, ValidationError, validator

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


HoursKind = Literal["telefontid", "aabningstid"]


class Contact(BaseModel):
    """Where to turn for one contact area, as a seed states it.

    `hours_kind` says what the hours are: phone hours ("telefontid", Hjørring, Brønderslev) or
    opening hours ("aabningstid", København, Aarhus). `inferred` marks a contact the seed does not
    give for this service (reused from another service, or the national default); `source` says
    which seed sentence the contact rests on, or why it is inferred.
    """

    name: str
    address: str | None
    phone: str | None
    email: str | None
    hours: dict[Weekday, list[str]] | None
    hours_kind: HoursKind | None
    inferred: bool
    source: str

    class Config:
        frozen = True
        extra = "forbid"

    @validator("hours")
    def _hours_parse(cls, value: dict[str, list[str]] | None) -> dict[str, list[str]] | None:
        for spans in (value or {}).values():
            for span in spans:
                _parse_span(span)
        return value

    @validator("hours_kind")
    def _kind_with_hours(cls, value: HoursKind | None, values: Mapping[str, Any]) -> HoursKind | None:
        if "hours" not in values:  # the hours failed validation; that error is reported
            return value
        if values["hours"] is not None and value is None:
            raise ValueError(
                "hours need a hours_kind: telefontid (phone hours) or aabningstid (opening hours)"
            )
        if values["hours"] is None and value is not None:
            raise ValueError(f"hours_kind {value!r} without hours")
        return value

    @validator("source")
    def _source_given(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a contact needs a source: the seed sentence, or why it is inferred")
        return value

    def spans(self, weekday: Weekday) -> list[tuple[dt.time, dt.time]]:
        return [_parse_span(s) for s in (self.hours or {}).get(weekday, [])]

    def is_open(self, now: dt.datetime) -> bool | None:
        """Open (or answering the phone) at `now` (any timezone)? None when the hours are unknown."""
        if self.hours is None:
            return None
        local = now.astimezone(TIMEZONE)
        weekday = WEEKDAYS[local.weekday()]
        return any(start <= local.time() < end for start, end in self.spans(weekday))


ComplaintTopic = Literal["decision", "content", "provider"]


class ComplaintsContact(BaseModel):
    """Where a municipality's seed says complaints go, when that differs from the contact.

    `about`: complaints about the decision (klage over afgørelsen), the content of the training
    (indholdet i træningstilbuddet) or the provider (leverandøren). Exposed for the complaint
    guidance (`Profile.complaints`).
    """

    name: str
    address: str
    phone: str | None
    email: str | None
    about: list[ComplaintTopic]
    source: str

    class Config:
        frozen = True
        extra = "forbid"


class SpecialSchool(BaseModel):
    """A special school that trains its pupils itself; one school, every name it goes by."""

    name: str
    aliases: list[str] = []
    note: str | None = None

    class Config:
        frozen = True
        extra = "forbid"

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


class Profile(BaseModel):
    id: str
    name: str
    short_name: str  # the label of its button when the bot asks for the municipality
    aliases: list[str]
    contacts: dict[ContactArea, Contact | None]
    complaints: ComplaintsContact | None
    # YAML key `special_schools`; `special_schools` below gives every name and alias for matching.
    schools: list[SpecialSchool] = Field(alias="special_schools")
    legal_overrides: dict[str, list[LegalRef]]

    class Config:
        frozen = True
        extra = "forbid"

    @validator("schools")
    def _one_entry_per_school(cls, value: list[SpecialSchool]) -> list[SpecialSchool]:
        seen: set[str] = set()
        for school in value:
            for name in school.names:
                if fold(name) in seen:
                    raise ValueError(
                        f"special school {name!r} is listed twice; give one entry with its aliases"
                    )
                seen.add(fold(name))
        return value

    @property
    def special_schools(self) -> tuple[str, ...]:
        """Every name and alias of the profile's special schools, for matching free text."""
        return tuple(name for school in self.schools for name in school.names)

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
    if any(c is not None and not c.inferred for c in profile.contacts.values()):
        raise DataFileError("default.yml contacts come from no seed: mark them inferred")
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


PHONE_AREAS: tuple[ContactArea, ...] = ("adults", "rehabilitation", "children", "home_training")


def phone_contact(municipality_id: str | None) -> Contact | None:
    """The municipality's first contact with a phone number (areas in `PHONE_AREAS` order), for
    "ring til ..." when the bot cannot answer; None when none has one or the id is unknown."""
    try:
        prof = profile(municipality_id)
    except UnknownMunicipalityError:
        return None
    for area in PHONE_AREAS:
        contact = prof.contact(area)
        if contact.phone:
            return contact
    return None


def find_municipality(text: str) -> str | None:
    """The id of a municipality named in free text, by its aliases."""
    folded = f" {fold(text)} "
    for prof in profiles().values():
        for alias in (prof.id, *prof.aliases):
            if re.search(rf"(?<![a-z]){re.escape(fold(alias))}(?![a-z])", folded):
                return prof.id
    return None
