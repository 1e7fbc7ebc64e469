"""Process helpers for bench/run.py: commands with timeouts, localhost servers, ports, memory.

Every child runs in its own process group, so a timeout or an error stops the whole group
(Rasa, TensorFlow threads, Sanic workers) and nothing is left running. Stdlib only, and
`bot.config` (stdlib only itself) for the names of our settings.
"""

from __future__ import annotations

import os
import resource
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from bot.config import ACTION_TOKEN_ENV  # the action server's secret (actions/server.py)

REPO = Path(__file__).resolve().parent.parent
LOCALHOST = "127.0.0.1"
STOP_GRACE_S = 20.0


class CommandFailed(RuntimeError):
    """A command exited non-zero, timed out, or a server did not come up."""


def bench_env(cache_dir: Path) -> dict[str, str]:
    """Environment for every child: quiet, no telemetry, localhost only, no training cache, a fresh action token.

    Rasa's training cache (.rasa/cache) would make a second training of the same config
    nearly free; size 0 turns it off, and the directory keeps it out of the project anyway.
    """
    env = dict(os.environ)
    env.update(
        SANIC_HOST=LOCALHOST,
        RASA_TELEMETRY_ENABLED="false",
        RASA_MAX_CACHE_SIZE="0",
        RASA_CACHE_DIRECTORY=str(cache_dir),
        TF_CPP_MIN_LOG_LEVEL="2",
        SQLALCHEMY_SILENCE_UBER_WARNING="1",
        PYTHONWARNINGS="ignore",
    )
    env[ACTION_TOKEN_ENV] = secrets.token_urlsafe(32)  # fresh per run; Rasa gets it in endpoints.yml
    return env


def log_tail(log_path: Path, lines: int = 15) -> str:
    try:
        text = log_path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the child's process group, then SIGKILL it if it is still there after a grace period."""
    if proc.poll() is not None:
        return
    for sig, grace in ((signal.SIGTERM, STOP_GRACE_S), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def start_group(args: Sequence[str], log_path: Path, env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    """Start `args` in the repository, in a new process group, stdout and stderr to `log_path`."""
    with log_path.open("wb") as log:
        return subprocess.Popen(
            list(args),
            cwd=REPO,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def run_command(args: Sequence[str], log_path: Path, env: Mapping[str, str], timeout_s: float) -> float:
    """Run a command to completion and return its wall time in seconds.

    Raises CommandFailed (with the end of its log) on a non-zero exit or after `timeout_s`.
    """
    started = time.perf_counter()
    proc = start_group(args, log_path, env)
    try:
        returncode = proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired as exc:
        raise CommandFailed(f"timed out after {timeout_s:.0f} s: {' '.join(args)}") from exc
    finally:
        stop_group(proc)
    elapsed = time.perf_counter() - started
    if returncode != 0:
        raise CommandFailed(
            f"exit {returncode}: {' '.join(args)}\n--- {log_path.name} ---\n{log_tail(log_path)}"
        )
    return elapsed


@contextmanager
def server(args: Sequence[str], log_path: Path, env: Mapping[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """A long-running child that is always stopped (process group) when the block ends."""
    proc = start_group(args, log_path, env)
    try:
        yield proc
    finally:
        stop_group(proc)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOCALHOST, 0))
        return int(sock.getsockname()[1])


def wait_http_ok(url: str, proc: subprocess.Popen[bytes], log_path: Path, timeout_s: float) -> float:
    """Poll a localhost URL until it answers 200; return the seconds it took.

    Fails early when the process exits, and after `timeout_s`.
    """
    if not url.startswith(f"http://{LOCALHOST}:"):
        raise ValueError(f"only {LOCALHOST} is polled, not {url}")
    started = time.perf_counter()
    deadline = started + timeout_s
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            raise CommandFailed(
                f"server exited with {proc.returncode} before {url} answered\n"
                f"--- {log_path.name} ---\n{log_tail(log_path)}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return time.perf_counter() - started
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(1.0)
    raise CommandFailed(f"{url} did not answer within {timeout_s:.0f} s\n--- {log_path.name} ---\n"
                        f"{log_tail(log_path)}")


def _parent_pids() -> dict[int, int]:
    """pid -> parent pid for every visible process (from /proc/<pid>/stat)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        fields = stat.rpartition(")")[2].split()
        if len(fields) >= 2:
            parents[int(entry.name)] = int(fields[1])
    return parents


def _descendants(pid: int) -> list[int]:
    parents = _parent_pids()
    found: list[int] = []
    frontier = [pid]
    while frontier:
        current = frontier.pop()
        children = [child for child, parent in parents.items() if parent == current]
        found.extend(children)
        frontier.extend(children)
    return found


def _vm_rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def wait_log_count(log_path: Path, text: str, count: int, proc: subprocess.Popen[bytes], timeout_s: float) -> None:
    """Wait until `text` appears `count` times in the server's log (e.g. Rasa's "Rasa server is up
    and running.", once per Sanic worker: with several workers the first one up answers alone)."""
    deadline = time.perf_counter() + timeout_s
    while log_path.read_bytes().count(text.encode()) < count:
        if proc.poll() is not None:
            raise CommandFailed(f"server exited with {proc.returncode}\n--- {log_path.name} ---\n{log_tail(log_path)}")
        if time.perf_counter() > deadline:
            raise CommandFailed(f"{count} x {text!r} not in {log_path.name} within {timeout_s:.0f} s\n"
                                f"{log_tail(log_path)}")
        time.sleep(0.5)


def rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, in MiB (VmRSS, shared pages counted per process)."""
    return sum(_vm_rss_kb(p) for p in [pid, *_descendants(pid)]) / 1024


def tree_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process and its living descendants have used, /proc/PID/stat."""
    total = 0
    for p in [pid, *_descendants(pid)]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat(5))
    return total / os.sysconf("SC_CLK_TCK")


def machine_busy_cpu_s() -> float:
    """CPU seconds all processes on the machine have used since boot (user, nice, system, irq), /proc/stat."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq = (int(v) for v in fields[:7])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def own_cpu_s() -> float:
    """CPU seconds this process and its finished (waited-for) children have used."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
