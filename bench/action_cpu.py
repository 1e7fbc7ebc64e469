"""The action server's CPU per call, in process: Rasa's real request bodies replayed (issue 9).

    .venv/bin/python bench/action_cpu.py --capture /tmp/action_calls.jsonl.gz   (once: Rasa + action server)
    .venv/bin/python bench/action_cpu.py --calls /tmp/action_calls.jsonl.gz      (CPU ms per call and parts)
    .venv/bin/python bench/action_cpu.py --calls ... --profile 30               (and cProfile's hottest 30)

`--capture FILE` starts the embedded target as bench/load.py does (action server + `rasa run`,
SQLite tracker store in a temporary file), with the action server wrapped so that it appends
every `/webhook` request body it receives to FILE (gzipped JSON lines, the body as Rasa sent it),
and plays `--rounds` rounds of every citizen (bench/load.py `OURS`), one at a time.

Without `--capture` it replays FILE's bodies through the action server's own path, in this
process, `--repeat` times, and prints the process CPU (time.process_time) per call:

- the whole call: Sanic's `request.json` (ujson when installed, as Sanic does), the auth
  middleware's token check, rasa-sdk's `ActionExecutor.run` (Tracker.from_dict, our action,
  validate_events) and Sanic's `response.json` (ujson dumps), with the server's INFO logging
  (coloredlogs, as rasa-sdk configures it, written to /dev/null);
- its parts, each timed alone over the same calls: JSON parsing, state from slots
  (`actions.actions.state_from`), `Questionnaire.turn`, replies and slot events (`send`,
  `events_for`), the rest of the executor, JSON answer.

Drafts go to a temporary SQLite file with a fresh key. CPU time, not wall time: other processes
on the machine slow it less, but a busy machine (shared caches, frequency) still moves it a
little; compare figures taken in one sitting. Prints figures, asserts nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/profile.py would shadow the standard library's `profile` (cProfile imports it): bench/
# goes last on the path, after the standard library, where `load` and `_servers` are still found.
BENCH = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH] + [str(BENCH)]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import contextlib  # noqa: E402
import cProfile  # noqa: E402
import gc  # noqa: E402
import gzip  # noqa: E402
import io  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import pstats  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Iterator, Sequence  # noqa: E402
from typing import Any  # noqa: E402

REPO = BENCH.parent
CAPTURE_ENV = "ACTION_CPU_CAPTURE"


# --------------------------------------------------------------------------- capture


def serve_capturing(argv: Sequence[str]) -> int:
    """`python -m actions.server ARGV`, appending every /webhook body to $ACTION_CPU_CAPTURE."""
    import pluggy
    from rasa_sdk.plugin import plugin_manager
    from sanic import Sanic
    from sanic.request import Request

    from actions import server

    out = Path(os.environ[CAPTURE_ENV])

    class _Capture:
        @pluggy.HookimplMarker("rasa_sdk")
        def attach_sanic_app_extensions(self, app: Sanic) -> None:
            async def capture(request: Request) -> None:
                if request.path == "/webhook" and request.body:
                    with gzip.open(out, "ab") as f:
                        f.write(request.body.replace(b"\n", b" ") + b"\n")

            app.register_middleware(capture, "request")

    plugin_manager().register(_Capture())
    return server.main(argv)


def capture(out: Path, rounds: int) -> int:
    import load
    from _servers import bench_env

    out.unlink(missing_ok=True)
    original = load.server

    @contextlib.contextmanager
    def server(args: Sequence[str], log_path: Path, env: dict[str, str]) -> Iterator[Any]:
        if list(args[1:3]) == ["-m", "actions.server"]:
            args = [args[0], str(Path(__file__).resolve()), "--serve-capturing", *args[3:]]
            env = {**env, CAPTURE_ENV: str(out.resolve())}
        with original(args, log_path, env) as proc:
            yield proc

    load.server = server  # type: ignore[assignment]
    with tempfile.TemporaryDirectory(prefix="action-cpu-") as tmp_name:
        tmp = Path(tmp_name)
        run = load.Run(tmp=tmp, env=bench_env(tmp / "cache"))
        with load.embedded(run, argparse.Namespace(rasa_workers=1)) as target:
            level = asyncio.run(
                load.drive(
                    target.urls,
                    target.citizens,
                    conversations=len(target.citizens) * rounds,
                    concurrency=1,
                    prefix=f"cpu-{run.run_id}",
                    time_limit_s=600,
                )
            )
    figures = load.level_figures(level)
    print(f"{figures['messages_ok']} messages answered ({figures['messages_failed']} failed)")
    print(
        f"{len(read_calls(out))} action calls captured in {out} ({out.stat().st_size / 1024:.0f} KiB gzipped)"
    )
    return 0 if figures["messages_failed"] == 0 else 1


def read_calls(path: Path) -> list[bytes]:
    with gzip.open(path, "rb") as f:
        return [line.rstrip(b"\n") for line in f if line.strip()]


# --------------------------------------------------------------------------- replay


def quiet_server_logging() -> None:
    """The action server's logging (rasa-sdk: coloredlogs at INFO), written nowhere."""
    import coloredlogs

    coloredlogs.install(
        level=logging.INFO,
        use_chroot=False,
        fmt="%(asctime)s %(levelname)-8s %(name)s  - %(message)s",
        stream=open(os.devnull, "w"),
    )


# Caches keyed by the message's text (or its words): cleared before each pass of the "unseen
# texts" figure, so that it counts what a message no one has written before costs.
MESSAGE_CACHES = (
    ("bot.text", "fold"),
    ("bot.text", "_fold"),
    ("bot.vocabulary", "_tokens"),
    ("bot.vocabulary", "_matches"),
    ("bot.vocabulary", "_fuzzy"),
    ("bot.vocabulary", "spell"),
    ("bot.vocabulary", "stem"),
)


def clear_message_caches() -> None:
    import importlib

    for module, name in MESSAGE_CACHES:
        clear = getattr(getattr(importlib.import_module(module), name, None), "cache_clear", None)
        if clear is not None:
            clear()


def cpu_ms_per_call(work: Callable[[], None], calls: int, repeat: int, *, unseen: bool = False) -> float:
    """Process CPU ms per call of `work` (which runs `calls` calls), best of `repeat`; `unseen`:
    the message-keyed caches cleared before each pass."""
    best = float("inf")
    for _ in range(repeat):
        if unseen:
            clear_message_caches()
        start = time.process_time()
        work()
        best = min(best, time.process_time() - start)
    return best / calls * 1000


def replay(bodies: list[bytes], repeat: int, profile_top: int) -> None:
    from rasa_sdk.events import SlotSet  # noqa: F401 - imported as the executor does
    from rasa_sdk.executor import ActionExecutor, CollectingDispatcher
    from rasa_sdk.interfaces import Tracker
    from sanic.request import json_loads
    from sanic.response import json_dumps

    from actions import actions as our
    from actions.server import authorised

    executor = ActionExecutor()
    executor.register_package("actions")
    token = "t" * 40
    header = f"Bearer {token}"
    loop = asyncio.new_event_loop()
    parsed = [json_loads(b) for b in bodies]

    def whole() -> None:
        for body in bodies:
            authorised(header, token)
            call = json_loads(body)
            result = loop.run_until_complete(executor.run(call))
            json_dumps(result)

    def parse() -> None:
        for body in bodies:
            json_loads(body)

    trackers = [Tracker.from_dict(call["tracker"]) for call in parsed]
    today = our.utc_now().date()

    def states() -> None:
        for tracker in trackers:
            our.state_from(tracker, today=today)

    prepared = [(our.state_from(t, today=today), our.turn_from(t), our.draft_service(t)) for t in trackers]

    def turns() -> None:
        now = our.utc_now()
        for state, turn, drafts in prepared:
            our.Questionnaire(now=now, drafts=drafts).turn(state, turn)

    now = our.utc_now()
    results = [our.Questionnaire(now=now, drafts=d).turn(s, t) for s, t, d in prepared]

    def answers() -> None:
        for result in results:
            our.send(CollectingDispatcher(), result.replies)
            our.events_for(result)

    answered = [loop.run_until_complete(executor.run(call)) for call in parsed]

    def dumps() -> None:
        for result in answered:
            json_dumps(result)

    n = len(bodies)
    whole()  # warm: caches, lazily loaded data files
    # The calls and results held above for the parts' timing would make every full collection walk
    # them (a server holds no such lists): frozen out of the collector, as if they were not there.
    gc.collect()
    gc.freeze()
    figures = {
        "whole call, unseen texts (message-keyed caches cleared)": cpu_ms_per_call(
            whole, n, repeat, unseen=True
        ),
        "whole call": cpu_ms_per_call(whole, n, repeat),
        "JSON parse (Sanic request.json)": cpu_ms_per_call(parse, n, repeat),
        "state from slots": cpu_ms_per_call(states, n, repeat),
        "Questionnaire.turn": cpu_ms_per_call(turns, n, repeat),
        "replies, slot events": cpu_ms_per_call(answers, n, repeat),
        "JSON answer (Sanic response.json)": cpu_ms_per_call(dumps, n, repeat),
    }
    parts = sum(v for k, v in figures.items() if not k.startswith("whole call"))
    figures["rest (executor, Tracker.from_dict, auth, logging)"] = figures["whole call"] - parts
    size = sum(map(len, bodies)) / n / 1024
    print(f"{n} calls, {size:.1f} KiB body on average; CPU ms per call (best of {repeat}; parts warm):")
    for name, ms in figures.items():
        print(f"  {ms:7.3f}  {name}")
    if profile_top:
        profiler = cProfile.Profile()
        profiler.enable()
        whole()
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(profile_top)
        print(out.getvalue())
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(profile_top)
        print(out.getvalue())
    loop.close()


def process_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process and its threads have used, from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def over_http(bodies: list[bytes], repeat: int) -> None:
    """The real action server (`python -m actions.server`), the bodies POSTed one after another
    over one keep-alive connection: its process CPU per call, HTTP, Sanic and CORS included."""
    import http.client

    from _servers import LOCALHOST, bench_env, free_port, server, wait_http_ok
    from cryptography.fernet import Fernet

    from bot.config import ACTION_TOKEN_ENV

    with tempfile.TemporaryDirectory(prefix="action-cpu-") as tmp:
        env = {
            **bench_env(Path(tmp) / "cache"),
            "TRAENINGSGUIDEN_DRAFT_DATABASE_URL": f"sqlite:///{tmp}/drafts.db",
            "TRAENINGSGUIDEN_DRAFT_KEY": Fernet.generate_key().decode(),
            "PYTHONPATH": str(REPO),
        }
        port = free_port()
        log = Path(tmp) / "actions.log"
        args = [sys.executable, "-m", "actions.server", "--actions", "actions", "--port", str(port)]
        with server(args, log, env) as proc:
            wait_http_ok(f"http://{LOCALHOST}:{port}/health", proc, log, 120)
            headers = {"Content-Type": "application/json", "Authorization": f"Bearer {env[ACTION_TOKEN_ENV]}"}
            conn = http.client.HTTPConnection(LOCALHOST, port, timeout=60)

            def post_all() -> None:
                for body in bodies:
                    conn.request("POST", "/webhook", body, headers)
                    answer = conn.getresponse()
                    answer.read()
                    if answer.status != 200:
                        raise RuntimeError(f"action server answered {answer.status}: see {log}")

            post_all()  # warm
            best = float("inf")
            for _ in range(repeat):
                start = process_cpu_s(proc.pid)
                post_all()
                best = min(best, process_cpu_s(proc.pid) - start)
            conn.close()
    print(
        f"action server process over HTTP: {best / len(bodies) * 1000:.2f} CPU ms per call "
        f"(best of {repeat} passes of {len(bodies)} calls; /proc ticks of 10 ms)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--serve-capturing"]:
        return serve_capturing(argv[1:])
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--capture", type=Path, help="capture Rasa's action calls into this file")
    parser.add_argument("--rounds", type=int, default=2, help="with --capture: rounds of every citizen")
    parser.add_argument("--calls", type=Path, default=Path("/tmp/action_calls.jsonl.gz"))
    parser.add_argument("--repeat", type=int, default=5, help="timed passes over the calls (best counts)")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="print cProfile's N hottest")
    parser.add_argument(
        "--http", action="store_true", help="also the real action server's process CPU per call over HTTP"
    )
    args = parser.parse_args(argv)
    if args.capture:
        return capture(args.capture, args.rounds)
    if args.http:
        over_http(read_calls(args.calls), args.repeat)
    with tempfile.TemporaryDirectory(prefix="action-cpu-") as tmp:
        from cryptography.fernet import Fernet

        os.environ["TRAENINGSGUIDEN_DRAFT_DATABASE_URL"] = f"sqlite:///{tmp}/drafts.db"
        os.environ["TRAENINGSGUIDEN_DRAFT_KEY"] = Fernet.generate_key().decode()
        quiet_server_logging()
        replay(read_calls(args.calls), args.repeat, args.profile)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.exit(main())
