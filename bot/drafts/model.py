"""Draft applications: the input the conversation collects, its validation and CPR masking.

Validators are plain functions that return a Danish error message or None.
Every free-text value goes through `clean_text` (Unicode NFC, whitespace,
`bot.privacy.mask_cpr`) before it is validated or stored, and the caller is
told when a CPR number was removed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import unicodedata
from email.utils import parseaddr
from typing import Any, Literal, Mapping, get_args

from bot.config import DEFAULT_DRAFT_RETENTION_DAYS
from bot.drafts.texts import text, texts
from bot.errors import TraeningsguidenError
from bot.municipality import ContactArea, profiles
from bot.privacy import mask_cpr
from bot.questions import RELATIONS, Relation

DraftOffer = Literal["maintenance_training", "free_physiotherapy", "rehabilitation", "home_training"]
DRAFT_OFFERS: tuple[DraftOffer, ...] = get_args(DraftOffer)
CONTACT_AREAS: tuple[ContactArea, ...] = get_args(ContactArea)
FactValue = int | str | bool | None

NAME_MAX = 200
TEXT_MAX = 2000
MAX_AGE_YEARS = 130
ADULT_AGE = 18
DEFAULT_RETENTION_DAYS = DEFAULT_DRAFT_RETENTION_DAYS

# Free-text fields of `DraftInput`, masked for CPR numbers and length-checked.
SINGLE_LINE_FIELDS = ("person_name", "phone", "email", "created_by_staff_initials")
LONG_TEXT_FIELDS = ("need_description", "diagnoses", "current_care", "training_method", "school_trains_today")
FieldName = Literal[
    "person_name",
    "phone",
    "email",
    "created_by_staff_initials",
    "date_of_birth",
    "need_description",
    "diagnoses",
    "current_care",
    "training_method",
    "school_trains_today",
]

_BIDI_CONTROLS = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))
_SPACES = re.compile(r"[^\S\n]+")
_ANY_SPACE = re.compile(r"\s+")
_PHONE = re.compile(r"^(?:\+45|0045)?(\d{8})$")
_EMAIL = re.compile(
    r"^(?P<local>[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*)"
    r"@(?P<domain>(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[^\W\d_]{2,63})$"
)
_DMY = re.compile(r"^(\d{1,2})[.\-/](\d{1,2})[.\-/](\d{4})$")
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_DAY_MONTH_NAME = re.compile(r"^(\d{1,2})\.?\s*([^\W\d_]+)\.?\s*(\d{4})$")
_INITIALS = re.compile(r"^[^\W\d_]{2,10}$")


class DraftValidationError(TraeningsguidenError):
    """A draft could not be stored; `errors` maps field names to Danish messages."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__(", ".join(sorted(errors)))
        self.errors = dict(errors)


@dataclasses.dataclass(frozen=True)
class DraftInput:
    """Everything a draft application holds. Build it from checked fields (`check_field`)."""

    offer: DraftOffer
    municipality: str | None
    legal_basis: list[dict[str, Any]]  # as custom.outcome.legal_basis
    facts: dict[str, FactValue]  # the questionnaire's answers
    applicant_relation: Relation
    person_name: str
    date_of_birth: dt.date
    phone: str | None
    email: str | None
    need_description: str
    diagnoses: str | None = None
    current_care: str | None = None  # day care, school or other training today
    consent_health_info: bool = False
    training_method: str | None = None  # home training
    school_trains_today: str | None = None  # children's maintenance training
    created_by_staff_initials: str | None = None
    contact_area: ContactArea | None = None  # the outcome's; derived from offer and age when None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (dates as ISO strings)."""
        data = dataclasses.asdict(self)
        data["date_of_birth"] = self.date_of_birth.isoformat()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DraftInput:
        """The inverse of `to_dict`."""
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        values["date_of_birth"] = dt.date.fromisoformat(str(data["date_of_birth"]))
        return cls(**values)


@dataclasses.dataclass(frozen=True)
class Cleaned:
    """A free-text value after normalisation and CPR masking."""

    text: str
    cpr_removed: bool


@dataclasses.dataclass(frozen=True)
class FieldCheck:
    """One field as the citizen typed it, checked: the value to keep, or an error.

    `value` is a `datetime.date` for `date_of_birth`, a normalised string
    otherwise, and None for an empty optional field. `notice` is the Danish
    text to show when a CPR number was removed.
    """

    value: str | dt.date | None
    error: str | None
    cpr_removed: bool

    @property
    def notice(self) -> str | None:
        return text("errors.cpr_removed") if self.cpr_removed else None


@dataclasses.dataclass(frozen=True)
class Prepared:
    """A draft input made safe to store: masked, normalised, and its errors."""

    draft: DraftInput
    errors: dict[str, str]
    cpr_removed: bool

    @property
    def ok(self) -> bool:
        return not self.errors


# --- cleaning -----------------------------------------------------------------


def clean_text(raw: str, *, single_line: bool = False) -> Cleaned:
    """NFC, newlines unified, spaces collapsed, trimmed, CPR numbers masked."""
    value = unicodedata.normalize("NFC", raw).replace("\r\n", "\n").replace("\r", "\n")
    value = _ANY_SPACE.sub(" ", value) if single_line else _SPACES.sub(" ", value)
    value = "\n".join(line.strip() for line in value.split("\n")).strip()
    masked, found = mask_cpr(value)
    return Cleaned(masked, found)


def _bad_characters(value: str) -> bool:
    for char in value:
        if char in "\n\t":
            continue
        if unicodedata.category(char) in ("Cc", "Cs") or char in _BIDI_CONTROLS:
            return True
    return False


# --- validators: a Danish message or None ----------------------------------------


def validate_name(value: str) -> str | None:
    if not value.strip():
        return text("errors.required")
    if _bad_characters(value) or "\n" in value:
        return text("errors.control_characters")
    if len(value) > NAME_MAX:
        return text("errors.name_too_long", limit=NAME_MAX)
    return None


def validate_text(value: str | None, *, required: bool = False, limit: int = TEXT_MAX) -> str | None:
    """A long free text: required or not, at most `limit` characters (never cut)."""
    if value is None or not value.strip():
        return text("errors.required") if required else None
    if _bad_characters(value):
        return text("errors.control_characters")
    if len(value) > limit:
        return text("errors.too_long", limit=limit, length=len(value))
    return None


def validate_description(value: str) -> str | None:
    return validate_text(value, required=True)


def validate_phone(value: str | None) -> str | None:
    """Eight digits, spaces allowed, optionally +45. Empty is allowed (phone is optional)."""
    if value is None or not value.strip():
        return None
    return None if _PHONE.match(value.replace(" ", "")) else text("errors.phone")


def normalize_phone(value: str) -> str:
    """'+45 12345678' -> '12 34 56 78' (call after `validate_phone`)."""
    match = _PHONE.match(value.replace(" ", ""))
    if match is None:
        raise ValueError("not a Danish phone number")
    digits = match.group(1)
    return " ".join(digits[i : i + 2] for i in range(0, 8, 2))


def validate_email(value: str | None) -> str | None:
    """A bare address that `email.utils.parseaddr` reads back unchanged. Empty is allowed."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if len(value) > 254 or parseaddr(value) != ("", value):
        return text("errors.email")
    match = _EMAIL.match(value)
    if match is None or len(match.group("local")) > 64:
        return text("errors.email")
    return None


def parse_date(value: str) -> dt.date | None:
    """'1.2.2016', '01-02-2016', '1/2/2016', '2016-02-01' or '1. februar 2016'; None if unreadable.

    Raises ValueError for a well-formed but impossible date (31.2.2016).
    """
    compact = value.strip()
    if (match := _ISO.match(compact)) is not None:
        year, month, day = (int(g) for g in match.groups())
    elif (match := _DMY.match(_ANY_SPACE.sub("", compact))) is not None:
        day, month, year = (int(g) for g in match.groups())
    elif (match := _DAY_MONTH_NAME.match(compact)) is not None:
        months = [m.lower() for m in texts("months")]
        name = match.group(2).lower()
        found = [i for i, m in enumerate(months, 1) if m == name or (len(name) >= 3 and m.startswith(name))]
        if len(found) != 1:
            return None
        day, month, year = int(match.group(1)), found[0], int(match.group(3))
    else:
        return None
    return dt.date(year, month, day)


def check_date_of_birth(value: dt.date, today: dt.date) -> str | None:
    if value > today:
        return text("errors.date_future")
    if value < _years_before(today, MAX_AGE_YEARS):
        return text("errors.date_too_old", years=MAX_AGE_YEARS)
    return None


def validate_date_of_birth(value: str, today: dt.date) -> str | None:
    """A real date, not in the future and not more than 130 years ago."""
    try:
        parsed = parse_date(value)
    except ValueError:
        return text("errors.date_invalid")
    if parsed is None:
        return text("errors.date_format")
    return check_date_of_birth(parsed, today)


def validate_staff_initials(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    return None if _INITIALS.match(value) else text("errors.staff_initials")


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


# --- one field at a time (for the conversation) -----------------------------------


def check_field(name: FieldName, raw: str, *, today: dt.date) -> FieldCheck:
    """Clean, mask and validate one typed answer; the value is what to put in `DraftInput`."""
    cleaned = clean_text(raw, single_line=name in SINGLE_LINE_FIELDS or name == "date_of_birth")
    value = cleaned.text
    if name == "date_of_birth":
        error = validate_date_of_birth(value, today)
        parsed = None if error else parse_date(value)
        return FieldCheck(parsed, error, cleaned.cpr_removed)
    error = _validate_field(name, value)
    if error is not None:
        return FieldCheck(None, error, cleaned.cpr_removed)
    if not value:
        return FieldCheck(None, None, cleaned.cpr_removed)
    if name == "phone":
        value = normalize_phone(value)
    elif name == "created_by_staff_initials":
        value = value.upper()
    return FieldCheck(value, None, cleaned.cpr_removed)


def _validate_field(name: str, value: str | None) -> str | None:
    if name == "person_name":
        return validate_name(value or "")
    if name == "phone":
        return validate_phone(value)
    if name == "email":
        return validate_email(value)
    if name == "created_by_staff_initials":
        return validate_staff_initials(value)
    if name == "need_description":
        return validate_description(value or "")
    return validate_text(value)


# --- the whole draft ------------------------------------------------------------


def mask_input(draft: DraftInput) -> tuple[DraftInput, bool]:
    """`draft` with every free-text field (and text answer) cleaned and CPR-masked."""
    changes: dict[str, Any] = {}
    found = False
    for name in (*SINGLE_LINE_FIELDS, *LONG_TEXT_FIELDS):
        value = getattr(draft, name)
        if isinstance(value, str):
            cleaned = clean_text(value, single_line=name in SINGLE_LINE_FIELDS)
            found = found or cleaned.cpr_removed
            changes[name] = (
                cleaned.text if cleaned.text or name in ("person_name", "need_description") else None
            )
    facts: dict[str, FactValue] = {}
    for key, value in draft.facts.items():
        if isinstance(value, str):
            masked, hit = mask_cpr(value)
            found = found or hit
            value = masked
        facts[key] = value
    changes["facts"] = facts
    return dataclasses.replace(draft, **changes), found


def validate_input(
    draft: DraftInput, today: dt.date, *, retention_days: int = DEFAULT_RETENTION_DAYS
) -> dict[str, str]:
    """Every field's error, by field name; empty when the draft can be stored."""
    errors: dict[str, str] = {}

    def add(name: str, error: str | None) -> None:
        if error is not None:
            errors[name] = error

    if draft.offer not in DRAFT_OFFERS:
        add("offer", text("errors.offer"))
    if draft.municipality not in (None, "other") and (
        not isinstance(draft.municipality, str) or draft.municipality not in profiles()
    ):
        add("municipality", text("errors.municipality"))
    if draft.applicant_relation not in RELATIONS:
        add("applicant_relation", text("errors.relation"))
    if draft.contact_area is not None and draft.contact_area not in CONTACT_AREAS:
        add("contact_area", text("errors.offer"))
    if not isinstance(draft.date_of_birth, dt.date) or isinstance(draft.date_of_birth, dt.datetime):
        add("date_of_birth", text("errors.date_format"))
    else:
        add("date_of_birth", check_date_of_birth(draft.date_of_birth, today))
    for name in SINGLE_LINE_FIELDS + LONG_TEXT_FIELDS:
        value = getattr(draft, name)
        if value is not None and not isinstance(value, str):
            add(name, text("errors.required"))
        else:
            add(name, _validate_field(name, value))
    if draft.consent_health_info is not True:
        add("consent_health_info", text("errors.consent", days=retention_days))
    if not isinstance(draft.legal_basis, list) or not all(
        isinstance(ref, Mapping) and isinstance(ref.get("citation"), str) for ref in draft.legal_basis
    ):
        add("legal_basis", text("errors.legal_basis"))
    if not isinstance(draft.facts, Mapping) or not all(
        isinstance(k, str) and isinstance(v, int | str | bool | type(None)) for k, v in draft.facts.items()
    ):
        add("facts", text("errors.facts"))
    return errors


def prepare(draft: DraftInput, today: dt.date, *, retention_days: int = DEFAULT_RETENTION_DAYS) -> Prepared:
    """Mask, normalise and validate a whole draft (the store calls this before writing)."""
    masked, found = mask_input(draft)
    errors = validate_input(masked, today, retention_days=retention_days)
    if not errors:
        changes: dict[str, Any] = {}
        if masked.phone:
            changes["phone"] = normalize_phone(masked.phone)
        if masked.created_by_staff_initials:
            changes["created_by_staff_initials"] = masked.created_by_staff_initials.upper()
        masked = dataclasses.replace(masked, **changes)
    return Prepared(masked, errors, found)


# --- derived values ---------------------------------------------------------------


def age_on(date_of_birth: dt.date, day: dt.date) -> int:
    return day.year - date_of_birth.year - ((day.month, day.day) < (date_of_birth.month, date_of_birth.day))


def contact_area(draft: DraftInput, today: dt.date) -> ContactArea:
    """The outcome's contact area, else the one the offer and the person's age point to."""
    if draft.contact_area is not None:
        return draft.contact_area
    if draft.offer == "home_training":
        return "home_training"
    if draft.offer == "rehabilitation":
        return "rehabilitation"
    return "children" if age_on(draft.date_of_birth, today) < ADULT_AGE else "adults"


# --- a stored draft ------------------------------------------------------------------

EXPORT_SCHEMA = "traeningsguiden.draft.v1"


@dataclasses.dataclass(frozen=True)
class Draft:
    """A draft as read back from the store."""

    reference: str
    status: str
    created_at: dt.datetime  # UTC
    delete_after: dt.datetime  # UTC
    input: DraftInput


def draft_export(draft: Draft) -> dict[str, Any]:
    """The machine-readable draft for a caseworker's system (stable keys, ISO dates)."""
    d = draft.input
    return {
        "schema": EXPORT_SCHEMA,
        "reference": draft.reference,
        "status": draft.status,
        "created_at": draft.created_at.isoformat(),
        "delete_after": draft.delete_after.isoformat(),
        "offer": d.offer,
        "municipality": d.municipality,
        "contact_area": contact_area(d, draft.created_at.date()),
        "legal_basis": d.legal_basis,
        "applicant": {"relation": d.applicant_relation, "staff_initials": d.created_by_staff_initials},
        "person": {
            "name": d.person_name,
            "date_of_birth": d.date_of_birth.isoformat(),
            "phone": d.phone,
            "email": d.email,
        },
        "need": {
            "description": d.need_description,
            "diagnoses": d.diagnoses,
            "current_care": d.current_care,
            "training_method": d.training_method,
            "school_trains_today": d.school_trains_today,
        },
        "consent_health_info": d.consent_health_info,
        "facts": d.facts,
    }
