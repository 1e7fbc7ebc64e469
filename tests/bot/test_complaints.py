"""Complaint guidance (bot/data/complaints.yml): right body per law, in force on every date, valid data."""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any

import pytest

from bot.complaints import complaint_for, complaints_data, parse_complaints
from bot.datafiles import load_yaml
from bot.errors import DataFileError
from bot.legal import legal_data, refs_in_force

TODAY = dt.date(2026, 11, 30)
BEFORE_BARNETS_LOV = dt.date(2023, 6, 1)
DATES = [
    BEFORE_BARNETS_LOV,
    dt.date(2023, 12, 31),
    dt.date(2024, 1, 1),
    dt.date(2025, 6, 30),
    dt.date(2025, 7, 1),
    TODAY,
]
SOCIAL = [
    "rehabilitation_without_hospital",
    "rehabilitation_without_hospital_senior",
    "maintenance_adult",
    "maintenance_senior",
    "maintenance_child",
    "home_training",
]
HEALTH_140 = ["rehabilitation_after_hospital", "rehabilitation_child_after_hospital"]


def raw() -> Any:
    return copy.deepcopy(load_yaml("complaints.yml"))


@pytest.mark.parametrize("on", [TODAY, BEFORE_BARNETS_LOV])
def test_every_provision_in_legal_yml_has_guidance_in_force(on: dt.date) -> None:
    for provision in legal_data().provisions:
        complaint = complaint_for(provision, area="adults", on=on)
        assert complaint is not None, provision
        assert complaint.lines and complaint.decides, provision
    for area in ("children", "adults"):
        assert complaint_for(None, area=area, on=on) is not None


@pytest.mark.parametrize("provision", SOCIAL)
@pytest.mark.parametrize("on", DATES)
def test_social_decisions_go_to_ankestyrelsen_via_the_municipality_within_4_weeks(
    provision: str, on: dt.date
) -> None:
    complaint = complaint_for(provision, area="adults", on=on)
    assert complaint is not None
    assert complaint.body == "Ankestyrelsen"
    assert complaint.decides == "kommunen" and complaint.in_writing
    text = " ".join(complaint.lines)
    assert "4 uger" in text
    assert "sende klagen til kommunen" in text and "ikke direkte til Ankestyrelsen" in text
    assert "ser på sagen igen" in text  # genvurdering
    assert "generelle serviceniveau" in text
    assert "Retssikkerhedsloven § 67, stk. 1" in complaint.legal
    assert "Retssikkerhedsloven § 66" in complaint.legal
    assert "Retssikkerhedsloven § 60, stk. 3" in complaint.legal


@pytest.mark.parametrize("provision", HEALTH_140)
def test_sundhedsloven_140_goes_to_styrelsen_for_patientklager(provision: str) -> None:
    for on in DATES:
        complaint = complaint_for(provision, area="adults", on=on)
        assert complaint is not None
        assert complaint.body == "Styrelsen for Patientklager"
        assert complaint.law == "Sundhedsloven"
        assert "Styrelsen for Patientklager" in " ".join(complaint.lines)
        assert "Ankestyrelsen" not in " ".join(complaint.lines)


def test_a_child_after_hospital_is_the_hospital_doctors_decision() -> None:
    complaint = complaint_for("rehabilitation_child_after_hospital", area="children", on=TODAY)
    assert complaint is not None and complaint.decides == "lægen på sygehuset"
    assert "lægen på sygehuset" in complaint.lines[0]


def test_free_physiotherapy_has_no_municipal_decision_the_doctor_decides() -> None:
    complaint = complaint_for("free_physiotherapy", area="adults", on=TODAY)
    assert complaint is not None
    assert complaint.body == "" and not complaint.in_writing
    assert complaint.decides == "lægen, via henvisning"
    text = " ".join(complaint.lines)
    assert "ingen afgørelse" in text and "tal med lægen" in text and "Ankestyrelsen" not in text
    assert complaint.needs_confirmation  # the complaint routes for treatment are not in DOMAIN.md


@pytest.mark.parametrize("provision", ["maintenance_child", "home_training"])
def test_children_before_2024_serviceloven_after_barnets_lov(provision: str) -> None:
    before = complaint_for(provision, area="children", on=dt.date(2023, 12, 31))
    after = complaint_for(provision, area="children", on=dt.date(2024, 1, 1))
    assert before is not None and after is not None
    assert before.law == "Serviceloven"
    assert after.law == "Barnets lov"
    assert complaint_for(provision, area="children", on=BEFORE_BARNETS_LOV).law == "Serviceloven"  # type: ignore[union-attr]


@pytest.mark.parametrize("provision", ["maintenance_senior", "rehabilitation_without_hospital_senior"])
def test_seniors_before_july_2025_serviceloven_after_aeldreloven_30(provision: str) -> None:
    before = complaint_for(provision, area="adults", on=dt.date(2025, 6, 30))
    after = complaint_for(provision, area="adults", on=dt.date(2025, 7, 1))
    assert before is not None and after is not None
    assert before.law == "Serviceloven" and "Ældreloven § 30, stk. 1" not in before.legal
    assert after.law == "Ældreloven" and after.legal[0] == "Ældreloven § 30, stk. 1"
    assert after.body == before.body == "Ankestyrelsen"


def test_none_says_you_may_always_apply_and_get_a_written_decision() -> None:
    for area, law in (("children", "Barnets lov"), ("adults", "Serviceloven eller ældreloven")):
        complaint = complaint_for(None, area=area, on=TODAY)
        assert complaint is not None
        assert complaint.lines[0] == "Du kan altid søge kommunen om træning og få en skriftlig afgørelse."
        assert complaint.body == "Ankestyrelsen" and complaint.in_writing and complaint.law == law
        assert "4 uger" in " ".join(complaint.lines)
    assert complaint_for(None, area="children", on=BEFORE_BARNETS_LOV).law == "Serviceloven"  # type: ignore[union-attr]
    with pytest.raises(ValueError):
        complaint_for(None, area="rehabilitation", on=TODAY)


def test_the_law_of_each_entry_matches_legal_yml_at_its_boundaries() -> None:
    """A period in complaints.yml names the same law as legal.yml on its first and last day."""
    data = complaints_data()
    for provision, entries in data.provisions.items():
        for entry in entries:
            for day in (entry.valid_from, entry.valid_to or TODAY):
                laws = {ref.law for ref in refs_in_force(provision, day)}
                assert entry.law in laws, (provision, day, laws)


def test_lines_are_plain_danish_without_placeholders_or_the_wrong_person() -> None:
    for key, line in complaints_data().texts.items():
        assert "{" not in line and line.endswith("."), key
        assert line[0].isupper(), key
        for wrong in (" til du", " på du", " for du", " med du", "dit barn", "din mor", "personen"):
            assert wrong not in f" {line}", (key, wrong)


def test_before_covers_from_there_is_no_guidance_and_unknown_provisions_raise() -> None:
    assert complaint_for("maintenance_adult", area="adults", on=dt.date(2010, 1, 1)) is None
    with pytest.raises(DataFileError):
        complaint_for("no_such_provision", area="adults", on=TODAY)


def test_payload_is_json() -> None:
    complaint = complaint_for("maintenance_child", area="children", on=TODAY)
    assert complaint is not None
    payload = json.loads(json.dumps(complaint.payload()))
    assert payload["body"] == "Ankestyrelsen" and payload["lines"] == list(complaint.lines)
    assert set(payload) >= {"decides", "in_writing", "body", "lines", "needs_confirmation", "legal"}


def test_the_shipped_file_is_valid() -> None:
    parse_complaints(raw())


def test_a_gap_in_validity_is_rejected() -> None:
    data = raw()
    data["provisions"]["maintenance_child"][1]["valid_from"] = dt.date(2024, 2, 1)
    with pytest.raises(DataFileError, match="gap"):
        parse_complaints(data)


def test_an_overlap_in_validity_is_rejected() -> None:
    data = raw()
    data["provisions"]["maintenance_senior"][1]["valid_from"] = dt.date(2025, 6, 1)
    with pytest.raises(DataFileError, match="overlap"):
        parse_complaints(data)


def test_an_entry_that_ends_is_rejected() -> None:
    data = raw()
    data["provisions"]["maintenance_adult"][0]["valid_to"] = dt.date(2030, 1, 1)
    with pytest.raises(DataFileError, match="open-ended"):
        parse_complaints(data)


def test_an_unknown_provision_is_rejected() -> None:
    data = raw()
    data["provisions"]["maintenance_pet"] = data["provisions"]["maintenance_adult"]
    with pytest.raises(DataFileError, match=r"not in legal\.yml"):
        parse_complaints(data)


def test_an_unknown_line_key_a_placeholder_or_an_extra_field_is_rejected() -> None:
    data = raw()
    data["provisions"]["maintenance_adult"][0]["lines"] = ["decides_municipality", "no_such_line"]
    with pytest.raises(DataFileError, match="no_such_line"):
        parse_complaints(data)
    data = raw()
    data["texts"]["in_writing"] = "Kommunen sender afgørelsen til {subj}."
    with pytest.raises(DataFileError, match="placeholder"):
        parse_complaints(data)
    data = raw()
    data["provisions"]["maintenance_adult"][0]["deadline"] = "4 uger"
    with pytest.raises(DataFileError):
        parse_complaints(data)
    data = raw()
    del data["none"]["adults"]
    with pytest.raises(DataFileError):
        parse_complaints(data)
