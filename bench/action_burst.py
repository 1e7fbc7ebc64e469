"""N conversations at once making action calls against the real action server alone, as Rasa does.

    .venv/bin/python bench/action_burst.py           # 200 and 400 at once, 4 calls each, idle and busy client (~3 min)
    .venv/bin/python bench/action_burst.py --calls 200 --client-busy-ms 45 --rounds 3
    git show ea7c5a8:actions/server.py > /tmp/server_before.py       # the entry point before the fix
    .venv/bin/python bench/action_burst.py --server-script /tmp/server_before.py

Starts `python -m actions.server` (our entry point, its token, a throwaway draft database) on
a free port, then starts every conversation of a round at once. Each call goes through Rasa's
own `rasa.utils.endpoints.EndpointConfig.request`, which is what Rasa's `RemoteAction.run`
calls: a new aiohttp ClientSession (so a new TCP connection) per call, the `Authorization`
header from endpoints.yml, a JSON body of an `action_turn` call whose tracker is padded with
realistic events to --body-kib (Rasa's mean was 33 KiB, its largest 106 KiB).

--client-busy-ms makes each call also block the calling event loop, as Rasa's turn does (NLU
and policies run in Rasa's one event loop): 45 ms is Rasa's CPU per message at 200 at a time
in the load test. With a busy loop, the request is written seconds after the kernel opened
the connection, which is what Sanic's default idle timeout (5 s) cut off.

Prints, per round: calls ok and failed, the failures by exception type and message, the time
from starting to connect to the request written (max, and how many over 5 s), and the
kernel's counters (nstat ListenOverflows / ListenDrops, SYN cookies, resets) before and after; once: the
backlog the listening socket got (`ss -ltn` Send-Q). Measures, never asserts a time; exit
code 1 only if the server did not start. See bench/README.md, "At 200 at a time".
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from _servers import LOCALHOST, REPO, CommandFailed, bench_env, free_port, log_tail, server, wait_http_ok
from cryptography.fernet import Fernet

PY = str(REPO / ".venv" / "bin" / "python")
COUNTERS = ("TcpExtListenOverflows", "TcpExtListenDrops", "TcpExtSyncookiesSent", "TcpExtTCPAbortOnData", "TcpEstabResets")


def nstat() -> dict[str, int]:
    """The kernel's TCP counters of interest (absolute, since boot), from `nstat -az`; {} without nstat."""
    try:
        out = subprocess.run(["nstat", "-az", *COUNTERS], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return {}
    values = {}
    for line in out.splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0] in COUNTERS:
            values[fields[0]] = int(fields[1])
    return values


def listen_backlog(port: int) -> str:
    """`ss -ltn` Recv-Q/Send-Q of the port: for a listening socket, queued now / the backlog it got."""
    try:
        out = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True,
                             timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "ss not available"
    rows = [line.split() for line in out.splitlines() if line.strip()]
    return ", ".join(f"Recv-Q {r[1]} Send-Q (backlog) {r[2]}" for r in rows) or "not listening"


def event_padding(target_bytes: int) -> list[dict[str, Any]]:
    """Tracker events (user, action, slot, bot) as Rasa serialises them, about `target_bytes` of JSON."""
    import json

    events: list[dict[str, Any]] = []
    turn = 0
    while len(json.dumps(events)) < target_bytes:
        now = 1_764_576_000.0 + turn
        events += [
            {"event": "user", "timestamp": now, "text": "min mor på 82 er faldet og har brækket hoften",
             "parse_data": {"intent": {"name": "inform", "confidence": 0.93},
                            "entities": [{"entity": "age", "value": "82", "start": 12, "end": 14,
                                          "extractor": "RegexEntityExtractor"}],
                            "intent_ranking": [{"name": "inform", "confidence": 0.93},
                                               {"name": "affirm", "confidence": 0.04}],
                            "text": "min mor på 82 er faldet og har brækket hoften"},
             "input_channel": "rest", "message_id": secrets.token_hex(16), "metadata": {}},
            {"event": "action", "timestamp": now, "name": "action_turn", "policy": "RulePolicy",
             "confidence": 1.0, "action_text": None, "hide_rule_turn": False},
            {"event": "slot", "timestamp": now, "name": "pending", "value": "age"},
            {"event": "bot", "timestamp": now, "text": "Hvor gammel er den, der skal have træning?",
             "data": {"elements": None, "quick_replies": None, "buttons": [], "attachment": None,
                      "image": None, "custom": None}, "metadata": {"utter_action": "action_turn"}},
            {"event": "action", "timestamp": now, "name": "action_listen", "policy": "RulePolicy",
             "confidence": 1.0, "action_text": None, "hide_rule_turn": False},
        ]
        turn += 1
    return events


def action_call(sender: str, padding: list[dict[str, Any]]) -> dict[str, Any]:
    """What Rasa 3.6 posts for `action_turn` (RemoteAction._action_call_format), selective domain."""
    return {
        "next_action": "action_turn",
        "sender_id": sender,
        "version": "3.6.21",
        "domain": {"version": "3.1", "session_config": {"session_expiration_time": 60,
                                                        "carry_over_slots_to_new_session": True},
                   "slots": {}, "responses": {}, "actions": ["action_turn"], "forms": {}, "e2e_actions": []},
        "tracker": {
            "sender_id": sender,
            "slots": {},
            "latest_message": {"text": "min søn på 8 har CP",
                               "intent": {"name": "ask_maintenance_training", "confidence": 0.9},
                               "entities": [], "metadata": {}},
            "latest_event_time": 1_764_576_000.0,
            "followup_action": None,
            "paused": False,
            "events": padding,
            "latest_input_channel": "rest",
            "active_loop": {},
            "latest_action": {"action_name": "action_listen"},
            "latest_action_name": "action_listen",
        },
    }


async def one_round(url: str, token: str, calls: int, padding: list[dict[str, Any]], busy_ms: float,
                    turns: int) -> tuple[list[str], list[float]]:
    """`calls` conversations at once, `turns` action calls each, through Rasa's EndpointConfig.request;
    '' for each ok call, else the error; and for each call that wrote its request, the seconds
    from starting to connect to the request headers written (the connection's idle time at the server).

    With `busy_ms`, each call also blocks this event loop for that long, in three slices (two
    before the call, one after it), as Rasa's turn does (NLU and policies run in its one event
    loop without awaiting). Once the conversations drift apart (from their second turn on), a
    connection the kernel has already opened waits for that busy loop before the request is
    written on it: the pattern of Rasa at 200 conversations at a time.
    """
    from rasa.core.constants import DEFAULT_REQUEST_TIMEOUT
    from rasa.utils.endpoints import EndpointConfig

    gaps: list[float] = []

    class TracedEndpoint(EndpointConfig):
        """Rasa's EndpointConfig, its session with a trace: connect started -> request headers written."""

        def session(self) -> aiohttp.ClientSession:
            session = super().session()
            trace = aiohttp.TraceConfig()

            async def connecting(_s: Any, ctx: Any, _p: Any) -> None:
                ctx.connecting = time.perf_counter()

            async def headers_sent(_s: Any, ctx: Any, _p: Any) -> None:
                if hasattr(ctx, "connecting"):
                    gaps.append(time.perf_counter() - ctx.connecting)

            trace.on_connection_create_start.append(connecting)
            trace.on_request_headers_sent.append(headers_sent)
            trace.freeze()
            session._trace_configs.append(trace)
            return session

    endpoint = TracedEndpoint(url=url, headers={"Authorization": f"Bearer {token}"})
    start = asyncio.Event()
    slice_s = busy_ms / 3 / 1000

    async def conversation(i: int) -> list[str]:
        body = action_call(f"burst-{i}", padding)
        results = []
        await start.wait()
        for _ in range(turns):
            for _ in range(2):
                time.sleep(slice_s)
                await asyncio.sleep(0)
            try:
                answer = await endpoint.request(json=body, method="post", timeout=DEFAULT_REQUEST_TIMEOUT,
                                                compress=False)
            except Exception as e:
                results.append(f"{type(e).__module__}.{type(e).__name__}: {e}")
                continue
            finally:
                time.sleep(slice_s)
            ok = isinstance(answer, dict) and "events" in answer
            results.append("" if ok else f"unexpected answer: {str(answer)[:80]}")
        return results

    tasks = [asyncio.create_task(conversation(i)) for i in range(calls)]
    await asyncio.sleep(0.1)  # every body built, every task waiting
    start.set()
    results = [result for results in await asyncio.gather(*tasks) for result in results]
    return results, gaps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, nargs="+", default=[200, 400], help="calls at once (default 200 400)")
    parser.add_argument("--rounds", type=int, default=1, help="rounds per level (default 1)")
    parser.add_argument("--body-kib", type=float, default=33.0, help="JSON body size (default 33, Rasa's mean)")
    parser.add_argument("--client-busy-ms", type=float, nargs="+", default=[0.0, 45.0],
                        help="ms each call blocks the calling event loop, as Rasa's turn does (default 0 45; "
                             "45 is Rasa's CPU per message at 200 at a time in the load test)")
    parser.add_argument("--turns", type=int, default=4, help="action calls per conversation (default 4)")
    parser.add_argument("--pause-s", type=float, default=2.0, help="pause between rounds (default 2)")
    parser.add_argument("--server-script", type=Path, default=None, metavar="FILE",
                        help="run this file instead of `-m actions.server`, to compare with another version, "
                             "e.g. `git show ea7c5a8:actions/server.py > /tmp/server_before.py` (before the fix)")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment for the action server (repeatable), e.g. SANIC_BACKLOG=100")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="action-burst-") as tmp:
        workdir = Path(tmp)
        env = bench_env(workdir / "cache")
        env["TRAENINGSGUIDEN_DRAFT_DATABASE_URL"] = f"sqlite:///{workdir / 'drafts.db'}"
        env["TRAENINGSGUIDEN_DRAFT_KEY"] = Fernet.generate_key().decode()
        for pair in args.env:
            name, _, value = pair.partition("=")
            env[name] = value
        token = env["TRAENINGSGUIDEN_ACTION_TOKEN"]
        port = free_port()
        log_path = workdir / "actions.log"
        padding = event_padding(int(args.body_kib * 1024))
        import json

        size = len(json.dumps(action_call("burst-0", padding)).encode())
        entry = [str(args.server_script.resolve())] if args.server_script else ["-m", "actions.server"]
        env["PYTHONPATH"] = str(REPO)  # our packages, also for --server-script
        with server([PY, *entry, "--actions", "actions", "--port", str(port)], log_path, env) as proc:
            try:
                wait_http_ok(f"http://{LOCALHOST}:{port}/health", proc, log_path, 120)
            except CommandFailed as e:
                print(e, file=sys.stderr)
                return 1
            extra = " ".join(args.env) or "none"
            print(f"action server pid {proc.pid} on :{port}; listening socket: {listen_backlog(port)}; "
                  f"entry: {' '.join(entry)}; extra env: {extra}; body {size / 1024:.1f} KiB; ulimit -n "
                  f"{limit(proc.pid)}")
            url = f"http://{LOCALHOST}:{port}/webhook"
            for calls, busy_ms in ((c, b) for b in args.client_busy_ms for c in args.calls):
                for r in range(1, args.rounds + 1):
                    before = nstat()
                    started = time.perf_counter()
                    results, gaps = asyncio.run(one_round(url, token, calls, padding, busy_ms, args.turns))
                    took = time.perf_counter() - started
                    after = nstat()
                    failures = collections.Counter(e for e in results if e)
                    moved = {k.replace("TcpExt", ""): after[k] - before.get(k, 0) for k in after}
                    failed = sum(failures.values())
                    print(f"{calls} at once x {args.turns} turns, client busy {busy_ms:g} ms per call, round {r}: "
                          f"{len(results) - failed} ok, {failed} failed ({took:.1f} s); connect->request written: "
                          f"max {max(gaps, default=0):.1f} s, {sum(g > 5 for g in gaps)} over 5 s; kernel: "
                          + ", ".join(f"{k} +{v}" for k, v in moved.items()))
                    for error, count in failures.most_common():
                        print(f"    {count:4d} x {error[:160]}")
                    time.sleep(args.pause_s)
            errors = [line for line in log_path.read_text(errors="replace").splitlines()
                      if "error" in line.lower() or "exception" in line.lower()]
            print(f"action server log: {len(errors)} error lines"
                  + (f"; last:\n{log_tail(log_path, 5)}" if errors else ""))
    return 0


def limit(pid: int) -> str:
    """The soft 'Max open files' of a process (/proc/PID/limits)."""
    try:
        for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
            if line.startswith("Max open files"):
                return line.split()[3]
    except OSError:
        pass
    return "?"


if __name__ == "__main__":
    os.chdir(REPO)
    sys.exit(main())
