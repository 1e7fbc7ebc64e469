"""Contacts true to the seeds: phone hours vs opening hours, inferred contacts, no invented addresses,
København's special schools, Brønderslev's complaints address."""

from __future__ import annotations

import copy
import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from bot import wording
from bot.datafiles import load_yaml
from bot.municipality import Profile, SpecialSchool, national_default, profile, profiles
from bot.parse import extract_facts
from bot.text import fold

CET = dt.timezone(dt.timedelta(hours=1))
MONDAY_0830 = dt.datetime(2026, 11, 23, 8, 30, tzinfo=CET)
MONDAY_0930 = dt.datetime(2026, 11, 23, 9, 30, tzinfo=CET)
MONDAY_1230 = dt.datetime(2026, 11, 23, 12, 30, tzinfo=CET)
SATURDAY_1000 = dt.datetime(2026, 11, 28, 10, 0, tzinfo=CET)
SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"
SEED_OF = {  # the source document of each profile's contact details (one entry per profile)
    "koebenhavn": "000_393561140320648f.txt",
    "hjoerring": "001_29b1484054e3baef.txt",
    "aarhus": "002_209912e70c523cc1.txt",
    "broenderslev": "003_c0e73a1cf4534751.txt",
    "ballerup": "004_23c2b04adf866a47.txt",
}


def raw(municipality: str) -> Any:
    return copy.deepcopy(load_yaml(f"municipalities/{municipality}.yml"))


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text).lower()


# --- telefontid vs åbningstid -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("municipality", "area", "kind"),
    [
        ("hjoerring", "children", "telefontid"),
        ("broenderslev", "adults", "telefontid"),
        ("koebenhavn", "children", "aabningstid"),
        ("aarhus", "home_training", "aabningstid"),
        ("ballerup", "adults", None),
    ],
)
def test_hours_kind_follows_the_seed(municipality: str, area: str, kind: str | None) -> None:
    assert profile(municipality).contact(area).hours_kind == kind  # type: ignore[arg-type]


def test_phone_hours_are_called_telefontid() -> None:
    contact = profile("hjoerring").contact("children")
    open_lines = wording.contact_lines(contact, MONDAY_0830)
    assert "Telefontid: mandag-fredag kl. 8.00-9.00" in open_lines
    assert "Telefonen er åben lige nu." in open_lines
    closed_lines = wording.contact_lines(contact, MONDAY_0930)
    assert closed_lines[-1] == "Telefonen er lukket lige nu. Telefontiden er mandag-fredag kl. 8.00-9.00."
    for lines in (open_lines, closed_lines):
        joined = "\n".join(lines)
        assert "Åbent" not in joined and "åbent" not in joined and "Åbningstid" not in joined
        assert "Der er lukket" not in joined


def test_broenderslev_phone_hours_with_a_break() -> None:
    contact = profile("broenderslev").contact("adults")
    assert wording.format_hours(contact) == (
        "mandag-torsdag kl. 8.00-9.00 og 10.00-14.00, fredag kl. 8.00-9.00 og 10.00-13.30"
    )
    assert "Telefonen er åben lige nu." in wording.contact_lines(contact, MONDAY_1230)
    assert wording.contact_lines(contact, MONDAY_0930)[-1].startswith(
        "Telefonen er lukket lige nu. Telefontiden er"
    )


def test_opening_hours_are_called_aabningstider() -> None:
    contact = profile("koebenhavn").contact("children")
    open_lines = wording.contact_lines(contact, MONDAY_1230)
    assert (
        "Åbningstider: mandag-onsdag kl. 9.00-15.00, torsdag kl. 13.00-17.00, fredag kl. 9.00-13.00"
        in open_lines
    )
    assert open_lines[-1] == "Der er åbent lige nu."
    closed_lines = wording.contact_lines(contact, SATURDAY_1000)
    assert closed_lines[-1] == "Der er lukket lige nu."
    assert not any("Telefon" in line and "tid" in line for line in open_lines + closed_lines)


def test_unknown_hours_and_documents_without_now() -> None:
    ballerup = wording.contact_lines(profile("ballerup").contact("adults"), MONDAY_0830)
    assert ballerup[-1] == "Se telefontid og åbningstider på kommunens hjemmeside."
    document = wording.contact_lines(profile("hjoerring").contact("children"), None)
    assert "Telefontid: mandag-fredag kl. 8.00-9.00" in document
    assert not any("lige nu" in line for line in document)


def test_payload_carries_kind_label_and_open_text() -> None:
    payload = wording.contact_payload(profile("hjoerring").contact("children"), MONDAY_0930)
    assert payload["hours_kind"] == "telefontid" and payload["hours_label"] == "Telefontid"
    assert payload["open_now"] is False
    assert payload["open_text"] == "Telefonen er lukket lige nu. Telefontiden er mandag-fredag kl. 8.00-9.00."
    assert payload["inferred"] is False and payload["inferred_note"] is None
    assert payload["address"] is None
    aarhus = wording.contact_payload(profile("aarhus").contact("home_training"), MONDAY_0830)
    assert aarhus["hours_label"] == "Åbningstider" and aarhus["open_text"] == "Der er åbent lige nu."
    ballerup = wording.contact_payload(profile("ballerup").contact("adults"), MONDAY_0830)
    assert ballerup["hours_kind"] is None and ballerup["open_text"] is None and ballerup["open_now"] is None


def test_hours_need_a_kind_and_a_kind_needs_hours() -> None:
    data = raw("hjoerring")
    data["contacts"]["children"]["hours_kind"] = None
    with pytest.raises(ValidationError, match="hours_kind"):
        Profile.parse_obj(data)
    data = raw("ballerup")
    data["contacts"]["adults"]["hours_kind"] = "telefontid"
    with pytest.raises(ValidationError, match="without hours"):
        Profile.parse_obj(data)
    data = raw("hjoerring")
    data["contacts"]["children"]["hours_kind"] = "åbent"
    with pytest.raises(ValidationError):
        Profile.parse_obj(data)


# --- inferred contacts --------------------------------------------------------------------------

HINT = "Kontaktoplysningerne er ikke bekræftet for dette tilbud; spørg kommunens borgerservice, hvis du er i tvivl."


@pytest.mark.parametrize(
    ("municipality", "area"),
    [
        ("broenderslev", "rehabilitation"),  # seed 003 covers maintenance training only
        ("aarhus", "children"),  # seed 002 covers home training only
        ("koebenhavn", "home_training"),  # seed 000 covers maintenance training for children only
        ("hjoerring", "adults"),  # national default
        ("other", "children"),  # national default
    ],
)
def test_inferred_contacts_carry_the_hint(municipality: str, area: str) -> None:
    contact = profile(municipality).contact(area)  # type: ignore[arg-type]
    assert contact.inferred
    assert contact.source.startswith(("Inferred", "National default"))
    assert wording.contact_lines(contact, MONDAY_0830)[-1] == HINT
    assert wording.contact_payload(contact, MONDAY_0830)["inferred_note"] == HINT


@pytest.mark.parametrize(
    ("municipality", "area"),
    [
        ("hjoerring", "children"),
        ("broenderslev", "adults"),
        ("aarhus", "home_training"),
        ("koebenhavn", "children"),
        ("ballerup", "adults"),
        ("ballerup", "rehabilitation"),
    ],
)
def test_seed_contacts_carry_no_hint(municipality: str, area: str) -> None:
    contact = profile(municipality).contact(area)  # type: ignore[arg-type]
    assert not contact.inferred
    assert HINT not in wording.contact_lines(contact, MONDAY_0830)


def test_every_contact_states_its_source_and_the_default_is_inferred() -> None:
    for prof in [*profiles().values(), national_default()]:
        for area, contact in prof.contacts.items():
            if contact is not None:
                assert contact.source.strip(), (prof.id, area)
    assert all(c is not None and c.inferred for c in national_default().contacts.values())
    data = raw("hjoerring")
    del data["contacts"]["children"]["source"]
    with pytest.raises(ValidationError):
        Profile.parse_obj(data)


# --- nothing invented ---------------------------------------------------------------------------


def test_hjoerring_has_no_invented_address() -> None:
    """Seed 001: training happens 'primært på Sundhedscenter Hjørring': a place, not a contact address."""
    contact = profile("hjoerring").contact("children")
    assert contact.address is None
    assert not any("Sundhedscenter" in line for line in wording.contact_lines(contact, MONDAY_0830))


def test_every_stated_detail_is_in_the_contacts_source() -> None:
    """Address, phone and e-mail of every contact from a seed appear in the seed sentence quoted as its source."""
    for prof in profiles().values():
        for area, contact in prof.contacts.items():
            if contact is None or contact.inferred:
                continue
            source = _squash(contact.source)
            for detail in (contact.address, contact.phone, contact.email):
                if detail:
                    assert _squash(detail).replace(",", "") in source.replace(",", ""), (
                        prof.id,
                        area,
                        detail,
                    )


@pytest.mark.skipif(not SEEDS.is_dir(), reason="the seeds are not beside the repository")
def test_every_detail_is_in_the_municipalitys_seed() -> None:
    assert set(SEED_OF) == set(profiles()), "every profile names the seed its details come from"
    for municipality, seed in SEED_OF.items():
        text = _squash((SEEDS / seed).read_text(encoding="utf-8")).replace(",", "")
        prof = profile(municipality)
        details = [
            detail
            for contact in (*prof.contacts.values(), prof.complaints)
            if contact is not None
            for detail in (contact.name, contact.address, contact.phone, contact.email)
            if detail
        ]
        for detail in details:
            assert _squash(detail).replace(",", "") in text, (municipality, detail)
        for school in prof.schools:
            for name in school.names:
                assert _squash(name) in text, (municipality, name)


# --- København's special schools ----------------------------------------------------------------


def find_special_school(prof: Profile, text: str) -> SpecialSchool | None:
    """The special school named in free text, by its name or an alias."""
    folded = fold(text)
    return next((s for s in prof.schools if any(fold(name) in folded for name in s.names)), None)


def test_friluftskolen_and_skolen_ved_sundet_are_one_school() -> None:
    kbh = profile("koebenhavn")
    matches = [s for s in kbh.schools if {"Friluftskolen", "Skolen ved Sundet"} & set(s.names)]
    assert len(matches) == 1
    assert matches[0].name == "Friluftskolen" and matches[0].aliases == ["Skolen ved Sundet"]
    assert [s.name for s in kbh.schools].count("Skolen ved Sundet") == 0
    assert len(kbh.schools) == 6
    assert find_special_school(kbh, "hun går på skolen ved sundet") == matches[0]
    assert find_special_school(kbh, "han går på Friluftskolen") == matches[0]
    assert find_special_school(kbh, "han går i almindelig skole") is None


def test_the_parser_still_finds_a_school_by_its_alias() -> None:
    assert "Skolen ved Sundet" in profile("koebenhavn").special_schools
    assert extract_facts("min søn på 9 går på Skolen ved Sundet").get("school_trains") == "yes"
    assert extract_facts("min søn på 9 går på Friluftskolen").get("school_trains") == "yes"


def test_a_school_listed_twice_is_rejected() -> None:
    data = raw("koebenhavn")
    data["special_schools"].append({"name": "Skolen ved Sundet"})
    with pytest.raises(ValidationError, match="listed twice"):
        Profile.parse_obj(data)


# --- Brønderslev's two addresses ----------------------------------------------------------------


def test_broenderslev_applications_and_complaints_at_two_addresses() -> None:
    prof = profile("broenderslev")
    assert prof.contact("adults").address == "Rådhusgade 5, 9330 Dronninglund"
    assert prof.complaints is not None
    assert prof.complaints.address == "Ny Rådhusplads 1, 9700 Brønderslev"
    assert prof.complaints.name == "Visitationen, Ældre og Hjælpemidler"
    assert "decision" in prof.complaints.about and "content" in prof.complaints.about
    assert profile("hjoerring").complaints is None and national_default().complaints is None
