"""Check the reviewed advisory list (security/advisories.yml) against requirements.lock.

    python scripts/check_advisories.py                  # run by `make lint`
    python scripts/check_advisories.py --no-pip-audit   # the offline checks only

Fails (exit 1, one line per problem) when:
- a pinned package's version differs from the version reviewed, or a package is pinned but
  not reviewed, or reviewed but no longer pinned: a lock change needs a review;
- an advisory entry is malformed: an unknown or missing field, a verdict other than
  `applies` / `mitigated` / `does not apply`, no why, a pinned version that is not the lock's
  or that its affected range does not include;
- an advisory marked `applies` has neither a mitigation nor an issue note, or one marked
  `mitigated` has no mitigation.

Then, when pip-audit is installed (`make audit` puts it in .venv-audit), it audits the lock
online and fails on an advisory the list does not have. When the advisory services cannot be
reached (PyPI's per-release JSON API, OSV), it says so on stderr and does not fail: that is the
environment, not the code.
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import yaml
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
REVIEW = ROOT / "security" / "advisories.yml"
PIP_AUDIT = ROOT / ".venv-audit" / "bin" / "pip-audit"

VERDICTS = ("applies", "mitigated", "does not apply")
TOP_FIELDS = {"reviewed_on", "sources", "packages", "advisories"}
REQUIRED = {"id", "aliases", "package", "pinned", "affected", "fixed", "what", "verdict", "why", "source"}
OPTIONAL = {"mitigation", "issue"}
ID = re.compile(r"^(PYSEC-\d{4}-\d+|GHSA(-[23456789cfghjmpqrvwx]{4}){3}|CVE-\d{4}-\d{4,})$")
MIN_WHY = 20  # characters: a reason, not "n/a"


@dataclass(frozen=True)
class Advisory:
    """One reviewed advisory: the ids it is known by, for the online cross-check."""

    package: str
    ids: frozenset[str]
    verdict: str


def read_lock(path: Path) -> dict[str, str]:
    """requirements.lock as {canonical name: version}; every line must be `name==version`."""
    pins: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, version = line.partition("==")
        if not sep or not name.strip() or not version.strip():
            raise ValueError(f"{path.name}:{number}: not an exact pin (name==version): {line!r}")
        pins[canonicalize_name(name.strip())] = version.strip()
    return pins


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def check_packages(pins: Mapping[str, str], reviewed: object) -> list[str]:
    """The lock against the versions reviewed: both ways, exact versions."""
    if not isinstance(reviewed, dict):
        return ["packages: must map each pinned package to the version reviewed"]
    problems: list[str] = []
    seen: dict[str, str] = {}
    for name, version in reviewed.items():
        key = canonicalize_name(str(name))
        if not isinstance(version, str):
            problems.append(f"packages: {name}: quote the version ({version!r} is not a string)")
            continue
        seen[key] = version
    for name, version in sorted(pins.items()):
        if name not in seen:
            problems.append(f"{name}=={version} is pinned but was not reviewed: review its advisories")
        elif seen[name] != version:
            problems.append(
                f"{name}: the lock pins {version}, the review covers {seen[name]}: "
                "review its advisories for the new version, then update security/advisories.yml"
            )
    for name in sorted(set(seen) - set(pins)):
        problems.append(f"{name} is reviewed but no longer pinned: remove it (and its advisories)")
    return problems


def check_advisory(index: int, entry: object, pins: Mapping[str, str]) -> list[str]:
    """One entry: well-formed, about the version pinned, with a verdict and its why."""
    if not isinstance(entry, dict):
        return [f"advisories[{index}]: must be a mapping of fields"]
    where = f"advisories[{index}] {entry.get('id', '?')}"
    problems = [f"{where}: missing field {field!r}" for field in sorted(REQUIRED - set(entry))]
    problems += [f"{where}: unknown field {field!r}" for field in sorted(set(entry) - REQUIRED - OPTIONAL)]
    aliases = entry.get("aliases", [])
    if not isinstance(aliases, list):
        problems.append(f"{where}: aliases must be a list")
        aliases = []
    ids = [entry.get("id"), *aliases]
    problems += [f"{where}: {i!r} is not a PYSEC, GHSA or CVE id" for i in ids if not ID.match(str(i))]
    for field in ("what", "source"):
        if field in entry and not _text(entry[field]):
            problems.append(f"{where}: {field} is empty")
    verdict = entry.get("verdict")
    if verdict not in VERDICTS:
        problems.append(f"{where}: verdict must be one of {', '.join(VERDICTS)} (not {verdict!r})")
    if len(_text(entry.get("why"))) < MIN_WHY:
        problems.append(f"{where}: why must say, in a sentence, why the verdict holds for this product")
    if verdict == "applies" and not (_text(entry.get("mitigation")) or _text(entry.get("issue"))):
        problems.append(
            f"{where}: applies, so it needs a mitigation or an issue note (what is done about it)"
        )
    if verdict == "mitigated" and not _text(entry.get("mitigation")):
        problems.append(f"{where}: mitigated, so it needs the mitigation")
    fixed = entry.get("fixed")
    if fixed is not None and not isinstance(fixed, str):
        problems.append(f"{where}: fixed must be a quoted version or null")
    package = canonicalize_name(str(entry.get("package", "")))
    pinned = entry.get("pinned")
    if package not in pins:
        problems.append(f"{where}: package {entry.get('package')!r} is not pinned in requirements.lock")
        return problems
    if pinned != pins[package]:
        problems.append(
            f"{where}: reviewed for {package} {pinned!r} but the lock pins {pins[package]}: review it again"
        )
        return problems
    try:
        if not _text(entry.get("affected")):
            raise InvalidSpecifier("empty")
        affected = SpecifierSet(str(entry["affected"]))
        if not affected.contains(Version(pins[package]), prereleases=True):
            problems.append(
                f"{where}: {package} {pinned} is outside its affected range {affected}: "
                "the pin no longer has it; remove the entry"
            )
    except (InvalidSpecifier, InvalidVersion) as e:
        problems.append(f"{where}: affected must be a version range like '<3.10.11' ({e})")
    return problems


def check_review(pins: Mapping[str, str], review: object) -> tuple[list[str], list[Advisory]]:
    """Every problem of the reviewed list against the lock, and its advisories."""
    if not isinstance(review, dict):
        return ["security/advisories.yml: must be a mapping"], []
    problems = [f"missing top-level field {f!r}" for f in sorted(TOP_FIELDS - set(review))]
    problems += [f"unknown top-level field {f!r}" for f in sorted(set(review) - TOP_FIELDS)]
    if not isinstance(review.get("reviewed_on"), datetime.date):
        problems.append("reviewed_on: the date of the review (YYYY-MM-DD)")
    sources = review.get("sources")
    if not isinstance(sources, list) or not sources:
        problems.append("sources: list each advisory source reviewed (name, snapshot date, what it gave)")
    problems += check_packages(pins, review.get("packages"))
    entries = review.get("advisories")
    if not isinstance(entries, list):
        return [*problems, "advisories: must be a list (empty when none hits a pin)"], []
    advisories: list[Advisory] = []
    seen: set[tuple[str, str]] = set()
    for index, entry in enumerate(entries):
        found = check_advisory(index, entry, pins)
        problems += found
        if found or not isinstance(entry, dict):
            continue
        package = canonicalize_name(entry["package"])
        if (package, entry["id"]) in seen:
            problems.append(f"advisories[{index}] {entry['id']}: listed twice for {package}")
        seen.add((package, entry["id"]))
        advisories.append(Advisory(package, frozenset([entry["id"], *entry["aliases"]]), entry["verdict"]))
    return problems, advisories


def audit_problems(report: Mapping[str, Any], advisories: Sequence[Advisory]) -> tuple[list[str], list[str]]:
    """pip-audit's JSON report (`-f json`) against the list: (unreviewed advisories, notes)."""
    known: dict[str, set[str]] = {}
    for advisory in advisories:
        known.setdefault(advisory.package, set()).update(advisory.ids)
    problems: list[str] = []
    dependencies = report.get("dependencies", [])
    skipped = [d for d in dependencies if "skip_reason" in d]
    for dependency in dependencies:
        name = canonicalize_name(str(dependency.get("name", "")))
        for vuln in dependency.get("vulns", []):
            ids = {vuln.get("id", ""), *vuln.get("aliases", [])}
            if not ids & known.get(name, set()):
                fixes = ", ".join(vuln.get("fix_versions", [])) or "none"
                problems.append(
                    f"pip-audit: {name} {dependency.get('version')} has {vuln.get('id')} "
                    f"({', '.join(sorted(ids - {vuln.get('id')})) or 'no aliases'}; fixed in {fixes}), "
                    "not in security/advisories.yml: review it"
                )
    notes: list[str] = []
    if dependencies and len(skipped) == len(dependencies):
        notes.append(
            f"pip-audit could look up none of the {len(dependencies)} pins ({skipped[0]['skip_reason']}): "
            "the advisory service is unreachable here, so the online cross-check did not run"
        )
    elif skipped:
        notes.append(
            f"pip-audit could not look up {len(skipped)} of {len(dependencies)} pins, e.g. "
            f"{skipped[0]['skip_reason']}"
        )
    return problems, notes


def run_pip_audit(pip_audit: Path, lock: Path, timeout: float) -> tuple[dict[str, Any] | None, str]:
    """pip-audit's JSON report of the lock, or None and why it could not be had."""
    command = [
        str(pip_audit),
        "-r",
        str(lock),
        "--no-deps",
        "--disable-pip",
        "--progress-spinner",
        "off",
        "-f",
        "json",
    ]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, f"pip-audit did not finish ({e})"
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return None, f"pip-audit failed (exit {done.returncode}): {last}"
    if not isinstance(report, dict):
        return None, "pip-audit gave no report"
    return report, ""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lock", type=Path, default=LOCK)
    parser.add_argument("--review", type=Path, default=REVIEW)
    parser.add_argument(
        "--pip-audit", type=Path, default=PIP_AUDIT, help="pip-audit to run (default: .venv-audit's)"
    )
    parser.add_argument("--no-pip-audit", action="store_true", help="the offline checks only")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds pip-audit may take")
    args = parser.parse_args(argv)

    pins = read_lock(args.lock)
    problems, advisories = check_review(pins, yaml.safe_load(args.review.read_text(encoding="utf-8")))
    if not args.no_pip_audit:
        if not args.pip_audit.exists():
            shown = (
                args.pip_audit.relative_to(ROOT) if args.pip_audit.is_relative_to(ROOT) else args.pip_audit
            )
            print(
                f"advisories: {shown} is not installed (make audit installs it): "
                "the online cross-check was skipped",
                file=sys.stderr,
            )
        else:
            report, why = run_pip_audit(args.pip_audit, args.lock, args.timeout)
            if report is None:
                print(f"advisories: {why}: the online cross-check was skipped", file=sys.stderr)
            else:
                found, notes = audit_problems(report, advisories)
                problems += found
                for note in notes:
                    print(f"advisories: {note}", file=sys.stderr)
    for problem in problems:
        print(f"advisories: {problem}", file=sys.stderr)
    if problems:
        print(
            f"advisories: {len(problems)} problem(s) in {args.review.name} (see SECURITY.md, Dependencies)",
            file=sys.stderr,
        )
        return 1
    counts = {verdict: sum(a.verdict == verdict for a in advisories) for verdict in VERDICTS}
    print(
        f"advisories: {len(pins)} pins reviewed; {len(advisories)} advisories hit them: "
        + ", ".join(f"{n} {verdict}" for verdict, n in counts.items())
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
