"""Where one message's time goes: py-spy on Rasa and on the action server while citizens play.

    .venv/bin/python bench/profile.py --py-spy /tmp/pyspy/bin/py-spy             (issue 9)
    .venv/bin/python bench/profile.py --py-spy ... --concurrency 10 --conversations 40 --keep /tmp/prof

Starts the embedded target exactly as bench/load.py does (action server + `rasa run`, SQLite
tracker store in a temporary file), plays each citizen once to warm up, then records both
processes with `py-spy record --format raw` (all threads, idle samples left out) while
`--conversations` conversations play, `--concurrency` at a time. Prints, per process, the CPU
samples by part of the turn (a sample counts for the first part, in the order of `PARTS`, found
anywhere in its stack; samples of Sanic's event loop waiting for work are left out) as a share of the process's samples and as CPU ms per message
(samples / rate / messages answered). py-spy needs ptrace (root, or CAP_SYS_PTRACE) and is not
a project dependency: install it in a throwaway venv (`python3 -m venv /tmp/pyspy &&
/tmp/pyspy/bin/pip install py-spy`). Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import load
from _servers import REPO, bench_env

RATE_HZ = 100
IDLE_LEAF = "serve (sanic/server/runners.py"
# (part, any of these substrings in a frame of the stack). First match wins, so the specific
# parts come before the wide ones (an NLU component before "message handling").
PARTS: dict[str, list[tuple[str, tuple[str, ...]]]] = {
    "rasa": [
        ("NLU: SpacyNLP (spaCy pipeline)", ("spacy_utils.py",)),
        ("NLU: SpacyTokenizer", ("spacy_tokenizer.py",)),
        ("NLU: SpacyFeaturizer", ("spacy_featurizer.py",)),
        ("NLU: RegexFeaturizer", ("regex_featurizer.py",)),
        ("NLU: LexicalSyntacticFeaturizer", ("lexical_syntactic_featurizer.py",)),
        ("NLU: CountVectorsFeaturizer", ("count_vectors_featurizer.py",)),
        ("NLU: DIETClassifier", ("diet_classifier.py",)),
        ("NLU: EntitySynonymMapper", ("entity_synonyms.py",)),
        ("NLU: FallbackClassifier", ("fallback_classifier.py",)),
        ("NLU: graph runner, other", ("rasa/engine/", "nlu/classifiers/", "nlu/featurizers/")),
        ("policies (prediction)", ("rasa/core/policies/", "policy_ensemble", "_predict_next_action")),
        ("tracker store", ("tracker_store.py",)),
        ("lock store", ("lock_store.py",)),
        (
            "action server call (Rasa side)",
            ("actions/action.py:", "rasa/utils/endpoints.py", "aiohttp/client"),
        ),
        ("event broker", ("rasa/core/brokers/",)),
        ("REST channel + our output", ("rasa/core/channels/", "rasa_channel.py")),
        ("message handling, other (processor)", ("rasa/core/processor.py", "rasa/core/agent.py")),
        ("TensorFlow threads (outside Python)", ("tensorflow",)),
        ("Sanic / asyncio / HTTP server", ("sanic", "asyncio", "uvloop", "httptools")),
    ],
    "actions": [
        ("our turn: state from slots", ("state_from", "from_slots", "slots_of")),
        ("our turn: Questionnaire.turn", ("conversation.py",)),
        ("our turn: replies, slot events", ("actions.py:",)),
        ("rasa-sdk: tracker from JSON", ("Tracker.from_dict", "tracker.py")),
        ("rasa-sdk: JSON (de)serialisation", ("json", "ujson")),
        ("rasa-sdk executor / endpoint", ("rasa_sdk/",)),
        ("Sanic / asyncio / HTTP server", ("sanic", "asyncio", "uvloop", "httptools")),
    ],
}


def record(py_spy: str, pid: int, out: Path, duration_s: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            py_spy,
            "record",
            "--pid",
            str(pid),
            "--format",
            "raw",
            "--rate",
            str(RATE_HZ),
            "--threads",
            "--nonblocking",
            "--duration",
            str(duration_s),
            "--output",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def aggregate(
    raw: Path, parts: list[tuple[str, tuple[str, ...]]]
) -> tuple[collections.Counter[str], int, collections.Counter[str]]:
    """Samples per part, all samples, and samples per leaf function (for the "other" rows)."""
    by_part: collections.Counter[str] = collections.Counter()
    leaves: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        if frames[-1].startswith(IDLE_LEAF):  # the event loop waiting in uvloop: py-spy counts it as busy
            continue
        part = next(
            (name for name, needles in parts if any(n in f for f in frames for n in needles)), "other"
        )
        by_part[part] += count
        total += count
        leaves[frames[-1]] += count
    return by_part, total, leaves


def tracker_bytes(db: Path, prefix: str) -> str:
    """What Rasa sends the action server per call, roughly: the session's stored events (JSON) at each
    user message (`tracker.events` of the call; slots and latest_message add a little), and the
    events each message adds to the tracker store."""
    import sqlite3

    with contextlib.closing(sqlite3.connect(db)) as conn:
        rows = conn.execute(
            "SELECT sender_id, type_name, length(data) FROM events WHERE sender_id LIKE ? ORDER BY id",
            (prefix + "%",),
        ).fetchall()
    sizes: list[int] = []
    events_per_sender: collections.Counter[str] = collections.Counter()
    running: collections.Counter[str] = collections.Counter()
    for sender, kind, size in rows:
        running[sender] += size
        events_per_sender[sender] += 1
        if kind == "user":
            sizes.append(running[sender])
    messages = len(sizes) or 1
    return (
        f"action server call payload (stored events of the session at each user message): "
        f"mean {sum(sizes) / messages / 1024:.1f} KiB, max {max(sizes, default=0) / 1024:.1f} KiB; "
        f"{sum(events_per_sender.values()) / messages:.1f} events stored per message"
    )


def table(name: str, by_part: collections.Counter[str], total: int, messages: int) -> str:
    rows = [
        f"\n{name}: {total} samples at {RATE_HZ} Hz = {total / RATE_HZ:.1f} CPU s, "
        f"{total / RATE_HZ / max(messages, 1) * 1000:.1f} CPU ms per message",
        "| part | share | CPU ms per message |",
        "| --- | --- | --- |",
    ]
    for part, count in by_part.most_common():
        rows.append(f"| {part} | {count / total:.1%} | {count / RATE_HZ / max(messages, 1) * 1000:.1f} |")
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--py-spy", default=shutil.which("py-spy") or "/tmp/pyspy/bin/py-spy")
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--conversations", type=int, default=40)
    parser.add_argument("--keep", type=Path, help="keep the raw profiles and the servers' logs here")
    parser.add_argument(
        "--leaves", type=int, default=25, help="print the N hottest leaf functions per process"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="profile-") as tmp_name:
        tmp = Path(tmp_name)
        run = load.Run(tmp=tmp, env=bench_env(tmp / "cache"))
        with load.embedded(run, argparse.Namespace(rasa_workers=1)) as target:  # one process to record
            load.progress("warm-up: each citizen once")
            asyncio.run(
                load.drive(
                    target.urls,
                    target.citizens,
                    conversations=len(target.citizens),
                    concurrency=1,
                    prefix=f"prof-{run.run_id}-warm",
                    time_limit_s=600,
                )
            )
            raws = {name: tmp / f"{name}.raw" for name in target.pids}
            spies = {name: record(args.py_spy, pid, raws[name], 3600) for name, pid in target.pids.items()}
            time.sleep(2.0)  # py-spy attached
            load.progress(f"{args.conversations} conversations, {args.concurrency} at a time, under py-spy")
            level = asyncio.run(
                load.drive(
                    target.urls,
                    target.citizens,
                    conversations=args.conversations,
                    concurrency=args.concurrency,
                    prefix=f"prof-{run.run_id}",
                    time_limit_s=600,
                )
            )
            for spy in spies.values():
                spy.send_signal(2)  # SIGINT: py-spy writes what it has and exits
            for name, spy in spies.items():
                _, err = spy.communicate(timeout=120)
                if spy.returncode not in (0, None) and not raws[name].exists():
                    print(f"py-spy on {name} failed: {err.decode(errors='replace')}", file=sys.stderr)
                    return 1
            payload = tracker_bytes(run.tmp / "embedded" / "tracker.db", f"prof-{run.run_id}-")
        figures = load.level_figures(level)
        messages = figures["messages_ok"]
        print(
            f"{messages} messages answered ({figures['messages_failed']} failed) in {level.wall_s:.1f} s "
            f"({figures['messages_per_s']:.1f} msg/s), p50 {figures['p50_ms']:.0f} ms, p95 {figures['p95_ms']:.0f} ms"
        )
        print(payload)
        for name, raw in raws.items():
            by_part, total, leaves = aggregate(raw, PARTS[name])
            print(table(name, by_part, total, messages))
            print(f"hottest leaf functions ({name}):")
            for leaf, count in leaves.most_common(args.leaves):
                print(f"  {count / total:6.1%}  {leaf}")
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            for path in [*raws.values(), *tmp.glob("*.log")]:
                shutil.copy(path, args.keep / path.name)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO / "bench"))
    sys.exit(main())
