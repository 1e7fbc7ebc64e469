"""deploy/systemd: the units are valid, start what exists, restart always, run hardened.

systemd does not run in the test container: `systemd-analyze verify` checks the units
(with the checkout in place of /opt/traeningsguiden) where it is installed; the rest is
read from the files. Every environment variable a unit, supervisord.conf, an endpoints
file or the code reads is documented in .env.example (the repository root), and nothing else is.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.live import ROOT

DEPLOY = ROOT / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
TARGET = DEPLOY / "systemd" / "traeningsguiden.target"
INSTALLED = "/opt/traeningsguiden"
ENV_FILE = ROOT / ".env.example"
COMMANDS = {
    "traeningsguiden-actions.service": ["python", "-m", "actions.server"],
    "traeningsguiden-rasa.service": ["rasa", "run"],
    "traeningsguiden-web.service": ["python", "-m", "bot.web"],
    "traeningsguiden-consumer.service": ["python", "-m", "bot", "consume"],
}
HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ReadWritePaths": f"{INSTALLED}/var",
    "PrivateTmp": "yes",
    "ProtectHome": "yes",
    "User": "traeningsguiden",
    "EnvironmentFile": "/etc/traeningsguiden/env",
    "WorkingDirectory": INSTALLED,
    "Restart": "always",
}
NOT_SETTINGS = {"TRAENINGSGUIDEN_SCREENSHOTS", "TRAENINGSGUIDEN_ENV_FILE"}  # a test switch; where the env file is


def parse_unit(path: Path) -> dict[str, list[tuple[str, str]]]:
    """Sections of a unit file, each a list of (key, value): keys may repeat (Environment=)."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), [])
            continue
        key, _, value = line.partition("=")
        assert current is not None and _, f"{path.name}: {line!r} outside a section or without ="
        current.append((key.strip(), value.strip()))
    return sections


def values(section: list[tuple[str, str]], key: str) -> list[str]:
    return [v for k, v in section if k == key]


def documented() -> set[str]:
    return set(re.findall(r"^#?([A-Z][A-Z0-9_]+)=", ENV_FILE.read_text(encoding="utf-8"), re.MULTILINE))


def test_there_is_a_unit_for_each_process_and_the_target_wants_the_bot() -> None:
    assert {u.name for u in UNITS} == set(COMMANDS)
    wanted = " ".join(values(parse_unit(TARGET)["Unit"], "Wants")).split()
    assert wanted == [
        "traeningsguiden-actions.service",
        "traeningsguiden-rasa.service",
        "traeningsguiden-web.service",
    ]  # the consumer is enabled on its own (scale profile)


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_each_unit_restarts_always_and_runs_hardened_as_its_own_user(unit: Path) -> None:
    sections = parse_unit(unit)
    service = sections["Service"]
    for key, expected in HARDENING.items():
        assert values(service, key) == [expected], (unit.name, key)
    assert values(sections["Install"], "WantedBy") == ["traeningsguiden.target"]
    assert values(sections["Unit"], "PartOf") == ["traeningsguiden.target"]


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_each_exec_start_runs_a_program_and_module_of_this_checkout(unit: Path) -> None:
    service = parse_unit(unit)["Service"]
    (command,) = values(service, "ExecStart")
    argv = shlex.split(command)
    program = Path(argv[0])
    assert program.parent == Path(f"{INSTALLED}/.venv/bin"), argv[0]
    assert (ROOT / ".venv" / "bin" / program.name).exists(), argv[0]
    assert [program.name, *argv[1 : len(COMMANDS[unit.name])]] == COMMANDS[unit.name]
    if "-m" in argv:
        module = argv[argv.index("-m") + 1].replace(".", "/")
        assert (ROOT / f"{module}.py").exists() or (ROOT / module / "__main__.py").exists(), module
    if program.name == "rasa":
        defaults = dict(v.split("=", 1) for e in values(service, "Environment") for v in e.split())
        for flag, path in (
            ("--model", None),
            ("--credentials", None),
            ("--endpoints", defaults["ENDPOINTS"]),
        ):
            given = argv[argv.index(flag) + 1]
            assert (ROOT / (path or given)).exists(), (flag, given)
    if unit.name == "traeningsguiden-consumer.service":
        from bot.__main__ import _parser

        assert _parser().parse_args(argv[argv.index("-m") + 2 :]).command == "consume"


def test_every_variable_the_processes_read_is_documented_in_env_example_and_nothing_else() -> None:
    read: dict[str, set[str]] = {}

    def note(names: set[str], where: str) -> None:
        for name in names:
            read.setdefault(name, set()).add(where)

    defaults: set[str] = set()
    for unit in UNITS:
        service = parse_unit(unit)["Service"]
        note(set(re.findall(r"\$\{([A-Z0-9_]+)\}", " ".join(values(service, "ExecStart")))), unit.name)
        defaults |= {v.split("=", 1)[0] for e in values(service, "Environment") for v in e.split()}
    note(
        set(re.findall(r"%\(ENV_([A-Z0-9_]+)\)s", (DEPLOY / "supervisord.conf").read_text())),
        "supervisord.conf",
    )
    for endpoints in ROOT.glob("endpoints*.yml"):
        note(set(re.findall(r"\$\{([A-Z0-9_]+)\}", endpoints.read_text())), endpoints.name)
    for source in [*ROOT.glob("bot/**/*.py"), *ROOT.glob("actions/**/*.py")]:
        note(
            set(re.findall(r"\b(TRAENINGSGUIDEN_[A-Z0-9_]+)\b", source.read_text())) - NOT_SETTINGS,
            str(source),
        )
    internal = {"SANIC_HOST", "PYTHONUNBUFFERED", "TF_CPP_MIN_LOG_LEVEL", "SQLALCHEMY_SILENCE_UBER_WARNING"}
    internal |= {"HOME", "RASA_TELEMETRY_ENABLED"}  # set by the units themselves, not the operator's
    missing = {name: sorted(where) for name, where in read.items() if name not in documented()}
    assert not missing, f"read but not in .env.example: {missing}"
    assert defaults - internal <= documented()
    stale = documented() - set(read)
    assert not stale, f"in .env.example but read by nothing: {stale}"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verify_finds_nothing(tmp_path: Path) -> None:
    for unit in [*UNITS, TARGET]:
        (tmp_path / unit.name).write_text(unit.read_text(encoding="utf-8").replace(INSTALLED, str(ROOT)))
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *sorted(str(p) for p in tmp_path.iterdir())],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0 and not done.stderr.strip() and not done.stdout.strip(), done.stderr
