"""scripts/check_advisories.py: the reviewed advisory list against requirements.lock.

The committed list is checked as `make lint` checks it (a fresh interpreter, the real files);
the failure cases run the same script on a copy with one thing wrong.
"""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

PROJECT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT / "scripts"))

import check_advisories as ca  # noqa: E402

LOCK = PROJECT / "requirements.lock"
REVIEW = PROJECT / "security" / "advisories.yml"


def run(*args: str, cwd: Path = PROJECT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(PROJECT / "scripts" / "check_advisories.py"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def review() -> dict[str, Any]:
    loaded = yaml.safe_load(REVIEW.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def entry(**changes: Any) -> dict[str, Any]:
    """A well-formed entry for the aiohttp pinned in the lock, changed as asked."""
    base = {
        "id": "GHSA-8495-4g3g-x7pr",
        "aliases": ["CVE-2024-52304"],
        "package": "aiohttp",
        "pinned": ca.read_lock(LOCK)["aiohttp"],
        "affected": "<3.10.11",
        "fixed": "3.10.11",
        "what": "request smuggling through chunk extensions in the pure-Python parser",
        "verdict": "does not apply",
        "why": "the C parser (llhttp) is in use; the pure-Python parser never runs here",
        "source": "a test",
    }
    base.update(changes)
    return base


def problems_with(tmp_path: Path, change: Any, lock_text: str | None = None) -> str:
    """Run the checker on a copy of the review changed by `change(review)`; its stderr (must fail)."""
    data = copy.deepcopy(review())
    change(data)
    (tmp_path / "advisories.yml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    (tmp_path / "requirements.lock").write_text(
        lock_text or LOCK.read_text(encoding="utf-8"), encoding="utf-8"
    )
    done = run(
        "--no-pip-audit",
        "--lock",
        str(tmp_path / "requirements.lock"),
        "--review",
        str(tmp_path / "advisories.yml"),
    )
    assert done.returncode == 1, done.stdout + done.stderr
    return done.stderr


def test_the_committed_list_covers_every_pin_of_the_lock() -> None:
    done = run("--no-pip-audit")
    assert done.returncode == 0, done.stderr
    pins = ca.read_lock(LOCK)
    assert f"{len(pins)} pins reviewed" in done.stdout


def test_a_lock_change_needs_a_review(tmp_path: Path) -> None:
    pinned = ca.read_lock(LOCK)["aiohttp"]
    lock = LOCK.read_text(encoding="utf-8").replace(f"aiohttp=={pinned}\n", "aiohttp==3.9.6\n")
    err = problems_with(tmp_path, lambda r: None, lock_text=lock)
    assert f"aiohttp: the lock pins 3.9.6, the review covers {pinned}" in err
    # and each advisory reviewed for the old aiohttp must be looked at again
    assert "but the lock pins 3.9.6: review it again" in err


def test_a_new_pin_or_a_dropped_pin_needs_a_review(tmp_path: Path) -> None:
    lock = LOCK.read_text(encoding="utf-8") + "left-pad==1.0.0\n"
    assert "left-pad==1.0.0 is pinned but was not reviewed" in problems_with(tmp_path, lambda r: None, lock)
    err = problems_with(tmp_path, lambda r: r["packages"].update({"gone-package": "1.0"}))
    assert "gone-package is reviewed but no longer pinned" in err


def test_an_unquoted_version_is_refused(tmp_path: Path) -> None:
    # YAML reads 2.10 as the number 2.1: versions must be quoted
    err = problems_with(tmp_path, lambda r: r["packages"].update({"aiogram": 2.15}))
    assert "aiogram: quote the version" in err


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"verdict": "fine"}, "verdict must be one of applies, mitigated, does not apply"),
        ({"why": ""}, "why must say"),
        ({"why": "n/a"}, "why must say"),
        ({"verdict": "applies"}, "applies, so it needs a mitigation or an issue note"),
        ({"verdict": "mitigated"}, "mitigated, so it needs the mitigation"),
        ({"id": "ADV-1"}, "'ADV-1' is not a PYSEC, GHSA or CVE id"),
        ({"aliases": "CVE-2024-52304"}, "aliases must be a list"),
        ({"pinned": "3.9.4"}, "reviewed for aiohttp '3.9.4' but the lock pins"),
        ({"affected": "<3.9"}, "is outside its affected range <3.9"),
        ({"affected": "before 3.10"}, "affected must be a version range"),
        ({"affected": ""}, "affected must be a version range"),
        ({"package": "nonesuch"}, "package 'nonesuch' is not pinned"),
        ({"fixed": 3.1}, "fixed must be a quoted version or null"),
        ({"severity": "high"}, "unknown field 'severity'"),
        ({"what": " "}, "what is empty"),
    ],
)
def test_a_malformed_entry_fails(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    err = problems_with(tmp_path, lambda r: r["advisories"].append(entry(**change)))
    assert message in err


def test_a_missing_field_fails(tmp_path: Path) -> None:
    bad = entry()
    del bad["why"]
    err = problems_with(tmp_path, lambda r: r["advisories"].append(bad))
    assert "missing field 'why'" in err


def test_applies_passes_with_an_issue_note_and_mitigated_with_a_mitigation() -> None:
    pins = ca.read_lock(LOCK)
    assert ca.check_advisory(0, entry(verdict="applies", issue="issue 12: upgrade with Rasa"), pins) == []
    assert ca.check_advisory(0, entry(verdict="mitigated", mitigation="nginx drops it"), pins) == []


def test_an_advisory_listed_twice_fails(tmp_path: Path) -> None:
    err = problems_with(tmp_path, lambda r: r["advisories"].extend([entry(), entry()]))
    assert "listed twice for aiohttp" in err


def test_the_review_needs_its_date_and_sources(tmp_path: Path) -> None:
    err = problems_with(tmp_path, lambda r: r.update({"reviewed_on": "soon", "sources": []}))
    assert "reviewed_on: the date of the review" in err
    assert "sources: list each advisory source reviewed" in err


def test_pip_audit_findings_not_in_the_list_fail() -> None:
    advisories = [ca.Advisory("aiohttp", frozenset({"GHSA-8495-4g3g-x7pr", "CVE-2024-52304"}), "mitigated")]
    report = {
        "dependencies": [
            {
                "name": "aiohttp",
                "version": "3.9.5",
                "vulns": [
                    {"id": "PYSEC-2024-999", "aliases": ["CVE-2024-52304"], "fix_versions": ["3.10.11"]},
                    {"id": "GHSA-9548-qrrj-x5pj", "aliases": ["CVE-2025-53643"], "fix_versions": ["3.12.14"]},
                ],
            },
            {"name": "Jinja2", "version": "3.1.6", "vulns": []},
        ],
        "fixes": [],
    }
    problems, notes = ca.audit_problems(report, advisories)
    # known by an alias: reviewed; the other is not
    assert len(problems) == 1
    assert "aiohttp 3.9.5 has GHSA-9548-qrrj-x5pj (CVE-2025-53643; fixed in 3.12.14)" in problems[0]
    assert notes == []


def test_pip_audit_that_could_look_nothing_up_is_said_plainly_and_does_not_fail() -> None:
    # what pip-audit 2.10 reports here, where PyPI answers 404 to /pypi/<name>/<version>/json
    reason = "Dependency not found on PyPI and could not be audited: rasa (3.6.21)"
    report = {"dependencies": [{"name": "rasa", "skip_reason": reason}], "fixes": []}
    problems, notes = ca.audit_problems(report, [])
    assert problems == []
    assert len(notes) == 1 and "advisory service is unreachable" in notes[0] and reason in notes[0]


def test_a_pip_audit_that_gives_no_report_is_skipped_on_stderr() -> None:
    # /bin/false stands for a pip-audit that exits with an error and no JSON (OSV unreachable)
    done = run("--pip-audit", "/bin/false")
    assert done.returncode == 0, done.stderr
    assert "pip-audit failed (exit 1): no output: the online cross-check was skipped" in done.stderr


def test_without_pip_audit_installed_the_check_says_so_and_passes(tmp_path: Path) -> None:
    done = run("--pip-audit", str(tmp_path / "nowhere" / "pip-audit"))
    assert done.returncode == 0, done.stderr
    assert "is not installed (make audit installs it)" in done.stderr


def test_make_lint_runs_the_check() -> None:
    lint = (PROJECT / "Makefile").read_text(encoding="utf-8").split("\nlint:", 1)[1].split("\n\n", 1)[0]
    assert "scripts/check_advisories.py" in lint
