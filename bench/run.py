"""Benchmark: our config.yml against Rasa's default (`rasa init`) pipeline, side by side.

    .venv/bin/python bench/run.py          (make bench; needs models/current.tar.gz from make train)
    .venv/bin/python bench/run.py --only eval --configs ours     (make bench-nlu: NLU on the eval set)

Prints a report and writes the same figures to results/bench.json. It measures and never
asserts: a step that fails is reported as an error and the other steps still run. All traffic
goes to 127.0.0.1; every command, wait and loop is bounded. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import shutil
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from importlib import metadata
from pathlib import Path
from types import FrameType
from typing import Any

import aiohttp
import yaml
from _servers import (
    ACTION_TOKEN_ENV,
    LOCALHOST,
    REPO,
    CommandFailed,
    bench_env,
    free_port,
    machine_busy_cpu_s,
    own_cpu_s,
    rss_mb,
    run_command,
    server,
    wait_http_ok,
)

PY = str(REPO / ".venv" / "bin" / "python")
RASA = str(REPO / ".venv" / "bin" / "rasa")
MODEL = REPO / "models" / "current.tar.gz"
SPACY_MARKER = REPO / "models" / "spacy" / "da" / "traeningsguiden.json"
EVAL_SET = REPO / "bench" / "eval" / "nlu_eval.yml"  # held out: never trained on (bench/eval/README.md)
OUT_OF_SCOPE = "out_of_scope"
RESULTS = REPO / "results" / "bench.json"
LOGS = REPO / "results" / "bench_logs"

SPLIT_TIMEOUT_S = 180
NLU_TRAIN_TIMEOUT_S = 1500  # rasa init's DIET: ~5 s an epoch on 2 idle cores, 10 s when shared
NLU_TEST_TIMEOUT_S = 600
FULL_TRAIN_TIMEOUT_S = 1200
SERVER_START_TIMEOUT_S = 240
REQUEST_TIMEOUT_S = 60
BUSY_CORES = 0.1  # CPU used by other processes (cores, on average) above which the report warns

# `rasa init` (3.6) trains with this pipeline and these policies (they are commented out in its
# config.yml, so Rasa fills them in); only the language is ours.
DEFAULT_CONFIG = """\
recipe: default.v1
assistant_id: bench_rasa_init_default
language: da
pipeline:
  - name: WhitespaceTokenizer
  - name: RegexFeaturizer
  - name: LexicalSyntacticFeaturizer
  - name: CountVectorsFeaturizer
  - name: CountVectorsFeaturizer
    analyzer: char_wb
    min_ngram: 1
    max_ngram: 4
  - name: DIETClassifier
    epochs: 100
    constrain_similarities: true
  - name: EntitySynonymMapper
  - name: ResponseSelector
    epochs: 100
    constrain_similarities: true
  - name: FallbackClassifier
    threshold: 0.3
    ambiguity_threshold: 0.1
policies:
  - name: MemoizationPolicy
  - name: RulePolicy
  - name: UnexpecTEDIntentPolicy
    max_history: 5
    epochs: 100
  - name: TEDPolicy
    max_history: 5
    epochs: 100
    constrain_similarities: true
"""

SCRIPTS: tuple[tuple[str, ...], ...] = (
    ("hej", "min søn på 8 har cerebral parese, kan han få træning?", "nej", "ja", "nej", "nej", "Aarhus"),
    ("jeg er 80 og lige kommet hjem fra sygehuset", "ja", "Ballerup"),
    ("hvad med vederlagsfri fysioterapi", "67", "nej", "bevare", "nej", "fremadskridende", "ja", "Brønderslev"),
)

CONFIG_NAMES = ("ours", "rasa init")
PARTS = ("nlu", "eval", "full", "serving")  # nlu: the 80/20 split; eval: the held-out eval set


@dataclass
class Bench:
    """Where the run keeps its temporary files, and the figures and errors it collects."""

    tmp: Path
    env: dict[str, str]
    configs: dict[str, Path]
    budget_s: float
    started: float = field(default_factory=time.perf_counter)
    machine_cpu_at_start: float = field(default_factory=machine_busy_cpu_s)
    own_cpu_at_start: float = field(default_factory=own_cpu_s)
    results: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    keep_reports: Path | None = None  # copy each `rasa test nlu` report here (--keep-reports)

    def log(self, name: str) -> Path:
        return self.tmp / f"{name.replace(' ', '_')}.log"

    def elapsed_s(self) -> float:
        return time.perf_counter() - self.started


def other_cpu_s(bench: Bench) -> float:
    """CPU seconds used during the run by processes that are not this benchmark or its children."""
    machine = machine_busy_cpu_s() - bench.machine_cpu_at_start
    own = own_cpu_s() - bench.own_cpu_at_start
    return max(0.0, machine - own)


def progress(message: str) -> None:
    print(f"  .. {message}", file=sys.stderr, flush=True)


def step(bench: Bench, name: str, action: Callable[[], Any]) -> Any:
    """Run one measurement; a failure is recorded (and returned as None) instead of ending the run."""
    try:
        return action()
    except (CommandFailed, OSError, ValueError, KeyError, aiohttp.ClientError, asyncio.TimeoutError) as exc:
        message = f"{name}: {exc}"
        bench.errors.append(message)
        print(f"!! {message}", file=sys.stderr, flush=True)
        return None


# --------------------------------------------------------------------------- spaCy pipeline


def spacy_pipeline() -> dict[str, Any]:
    marker = json.loads(SPACY_MARKER.read_text())
    return {"source": marker.get("source"), "version": marker.get("version")}


# --------------------------------------------------------------------------- NLU


def split_nlu(bench: Bench) -> tuple[Path, Path]:
    out = bench.tmp / "split"
    run_command(
        [RASA, "data", "split", "nlu", "--training-fraction", "0.8", "--random-seed", "42",
         "-u", "data/nlu", "--out", str(out)],
        bench.log("split"), bench.env, SPLIT_TIMEOUT_S,
    )
    return out / "training_data.yml", out / "test_data.yml"


def scope_figures(report_dir: Path, total: int, oos_support: int) -> dict[str, Any]:
    """The in-scope vs out_of_scope decision, from the errors `rasa test nlu` lists.

    in-scope precision: of the messages predicted as any intent but out_of_scope, the share that
    is truly in scope. in-scope kept: of the truly in-scope messages, the share not predicted as
    out_of_scope (not refused). See bench/README.md.
    """
    errors = json.loads((report_dir / "intent_errors.json").read_text())
    refused = sum(1 for e in errors
                  if e["intent"] != OUT_OF_SCOPE and e["intent_prediction"]["name"] == OUT_OF_SCOPE)
    let_in = sum(1 for e in errors
                 if e["intent"] == OUT_OF_SCOPE and e["intent_prediction"]["name"] != OUT_OF_SCOPE)
    in_scope = total - oos_support
    kept = in_scope - refused
    return {
        "in_scope_precision": kept / (kept + let_in) if kept + let_in else None,
        "in_scope_kept": kept / in_scope if in_scope else None,
        "in_scope_refused": refused,
        "out_of_scope_let_in": let_in,
    }


def intent_figures(report: dict[str, Any], report_dir: Path | None = None) -> dict[str, Any]:
    oos = report.get(OUT_OF_SCOPE, {})
    figures = {
        "intent_macro_f1": report["macro avg"]["f1-score"],
        "intent_accuracy": report["accuracy"],
        "test_examples": report["macro avg"]["support"],
        "out_of_scope_precision": oos.get("precision"),
        "out_of_scope_recall": oos.get("recall"),
        "out_of_scope_support": oos.get("support"),
    }
    if report_dir is not None:
        figures.update(scope_figures(report_dir, figures["test_examples"], oos.get("support", 0)))
    return figures


def fallback_threshold(config: Path) -> float | None:
    """The FallbackClassifier's `threshold` in a config file (None without one)."""
    pipeline = (yaml.safe_load(config.read_text()) or {}).get("pipeline") or []
    for component in pipeline:
        if component.get("name") == "FallbackClassifier":
            return float(component.get("threshold", 0.3))
    return None


def fallback_figures(report_dir: Path, threshold: float | None) -> dict[str, Any]:
    """What the FallbackClassifier would do (`rasa test nlu` undoes it): the share of right and of
    wrong predictions whose confidence is under its threshold (they get nlu_fallback instead).
    The ambiguity threshold is not simulated (the reports keep only the top intent)."""
    path = report_dir / "intent_successes.json"
    if threshold is None or not path.exists():
        return {}
    right = [e["intent_prediction"]["confidence"] for e in json.loads(path.read_text())]
    wrong = [e["intent_prediction"]["confidence"]
             for e in json.loads((report_dir / "intent_errors.json").read_text())]
    return {
        "fallback_threshold": threshold,
        "fallback_right": sum(c < threshold for c in right) / len(right) if right else None,
        "fallback_wrong": sum(c < threshold for c in wrong) / len(wrong) if wrong else None,
    }


def confusions(report: dict[str, Any], top: int = 12) -> list[str]:
    """The most frequent (true -> predicted) confusions, for reading the figures."""
    pairs = [(n, intent, other) for intent, row in report.items() if isinstance(row, dict)
             for other, n in (row.get("confused_with") or {}).items()]
    return [f"{n:3d}  {intent} -> {other}" for n, intent, other in sorted(pairs, reverse=True)[:top]]


def measure_nlu(bench: Bench, name: str, train_file: Path, test_file: Path, tag: str = "split") -> dict[str, Any]:
    """Train `name`'s config on `train_file` (`rasa train nlu`) and test it on `test_file`."""
    slug = f"{tag}-{name.replace(' ', '_')}"
    models = bench.tmp / "nlu_models"
    progress(f"NLU training ({tag}), {name}")
    train_s = run_command(
        [RASA, "train", "nlu", "-c", str(bench.configs[name]), "--nlu", str(train_file),
         "--out", str(models), "--fixed-model-name", f"nlu-{slug}"],
        bench.log(f"train_nlu_{slug}"), bench.env, NLU_TRAIN_TIMEOUT_S,
    )
    progress(f"NLU test ({tag}), {name}")
    report_dir = bench.tmp / f"nlu_results_{slug}"
    test_s = run_command(
        [RASA, "test", "nlu", "-m", str(models / f"nlu-{slug}.tar.gz"), "--nlu", str(test_file),
         "--out", str(report_dir), "--no-plot", "--successes"],
        bench.log(f"test_nlu_{slug}"), bench.env, NLU_TEST_TIMEOUT_S,
    )
    report = json.loads((report_dir / "intent_report.json").read_text())
    fallback = fallback_figures(report_dir, fallback_threshold(bench.configs[name]))
    if bench.keep_reports:
        kept = bench.keep_reports / slug
        shutil.rmtree(kept, ignore_errors=True)
        shutil.copytree(report_dir, kept)
    return {"train_s": train_s, "test_s": test_s, **intent_figures(report, report_dir), **fallback,
            "confusions": confusions(report)}


# --------------------------------------------------------------------------- full training


def measure_full_training(bench: Bench, name: str) -> dict[str, Any]:
    slug = name.replace(" ", "_")
    out = bench.tmp / "full_models"
    progress(f"full training, {name}")
    seconds = run_command(
        [RASA, "train", "-c", str(bench.configs[name]), "--domain", "domain.yml", "--data", "data",
         "--out", str(out), "--fixed-model-name", f"full-{slug}"],
        bench.log(f"train_full_{slug}"), bench.env, FULL_TRAIN_TIMEOUT_S,
    )
    size_mb = (out / f"full-{slug}.tar.gz").stat().st_size / 2**20
    return {"train_s": seconds, "model_mb": size_mb}


def default_full_training_estimate_s(bench: Bench) -> float | None:
    """Expected full training time of the default config: ours, scaled by the NLU training ratio."""
    ours_full = bench.results.get("full_training", {}).get("ours")
    nlu = bench.results.get("nlu", {})
    if not ours_full or not nlu.get("ours") or not nlu.get("rasa init"):
        return None
    ratio = nlu["rasa init"]["train_s"] / nlu["ours"]["train_s"]
    return float(ours_full["train_s"] * max(1.0, ratio))


# --------------------------------------------------------------------------- serving


def percentiles_ms(latencies_s: list[float]) -> dict[str, float | None]:
    if len(latencies_s) < 2:
        only = latencies_s[0] * 1000 if latencies_s else None
        return {"p50_ms": only, "p95_ms": only, "p99_ms": only}
    cuts = statistics.quantiles(latencies_s, n=100, method="inclusive")
    return {"p50_ms": cuts[49] * 1000, "p95_ms": cuts[94] * 1000, "p99_ms": cuts[98] * 1000}


@dataclass
class LoadResult:
    latencies_s: list[float] = field(default_factory=list)
    failures: int = 0


async def converse(session: aiohttp.ClientSession, url: str, script: tuple[str, ...], sender: str,
                   result: LoadResult) -> None:
    for text in script:
        started = time.perf_counter()
        try:
            async with session.post(url, json={"sender": sender, "message": text}) as response:
                await response.read()
                ok = response.status == 200
        except (aiohttp.ClientError, asyncio.TimeoutError):
            ok = False
        if ok:
            result.latencies_s.append(time.perf_counter() - started)
        else:
            result.failures += 1


async def drive(url: str, conversations: int, concurrency: int, phase: str) -> tuple[LoadResult, float]:
    """Run `conversations` scripted conversations, at most `concurrency` at a time; return them and wall time."""
    result = LoadResult()
    gate = asyncio.Semaphore(concurrency)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)

    async def one(index: int, session: aiohttp.ClientSession) -> None:
        async with gate:
            sender = f"bench-{phase}-{index}-{uuid.uuid4().hex[:8]}"
            await converse(session, url, SCRIPTS[index % len(SCRIPTS)], sender, result)

    started = time.perf_counter()
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        await asyncio.gather(*(one(i, session) for i in range(conversations)))
    return result, time.perf_counter() - started


def load_figures(result: LoadResult, wall_s: float, conversations: int, concurrency: int) -> dict[str, Any]:
    messages = len(result.latencies_s)
    return {
        "concurrency": concurrency,
        "conversations": conversations,
        "messages_ok": messages,
        "messages_failed": result.failures,
        "wall_s": wall_s,
        "messages_per_s": messages / wall_s if wall_s > 0 else None,
        **percentiles_ms(result.latencies_s),
    }


def write_endpoints(bench: Bench, actions_port: int) -> Path:
    endpoints = {
        "action_endpoint": {
            "url": f"http://{LOCALHOST}:{actions_port}/webhook",
            "headers": {"Authorization": f"Bearer {bench.env[ACTION_TOKEN_ENV]}"},
        },
        "tracker_store": {"type": "SQL", "dialect": "sqlite", "db": str(bench.tmp / "tracker.db")},
    }
    path = bench.tmp / "endpoints.yml"
    path.write_text(yaml.safe_dump(endpoints, sort_keys=False))
    return path


def measure_serving(bench: Bench, sequential: int, concurrent: int, concurrency: int) -> dict[str, Any]:
    if not MODEL.exists():
        raise CommandFailed(f"{MODEL.relative_to(REPO)} is missing: run `make train` first")
    actions_port, rasa_port = free_port(), free_port()
    endpoints = write_endpoints(bench, actions_port)
    actions_log, rasa_log = bench.log("action_server"), bench.log("rasa_run")
    base = f"http://{LOCALHOST}:{rasa_port}"
    started = time.perf_counter()
    with server([PY, "-m", "actions.server", "--actions", "actions", "--port", str(actions_port)],
                actions_log, bench.env) as actions, \
         server([RASA, "run", "--model", str(MODEL), "--endpoints", str(endpoints),
                 "--credentials", "credentials.yml", "-i", LOCALHOST, "--port", str(rasa_port)],
                rasa_log, bench.env) as rasa:
        progress("starting the action server and Rasa")
        wait_http_ok(f"http://{LOCALHOST}:{actions_port}/health", actions, actions_log, SERVER_START_TIMEOUT_S)
        wait_http_ok(f"{base}/webhooks/rest/", rasa, rasa_log, SERVER_START_TIMEOUT_S)
        startup_s = time.perf_counter() - started
        url = f"{base}/webhooks/rest/webhook"
        rss_before = rss_mb(rasa.pid)
        progress("warm-up: each script once")
        warmup, _ = asyncio.run(drive(url, len(SCRIPTS), 1, "warmup"))
        progress(f"{sequential} conversations, one at a time")
        seq, seq_s = asyncio.run(drive(url, sequential, 1, "seq"))
        progress(f"{concurrent} conversations, {concurrency} at a time")
        par, par_s = asyncio.run(drive(url, concurrent, concurrency, "par"))
        return {
            "rasa_startup_s": startup_s,
            "first_message_ms": warmup.latencies_s[0] * 1000 if warmup.latencies_s else None,
            "warmup_failed": warmup.failures,
            "sequential": load_figures(seq, seq_s, sequential, 1),
            "concurrent": load_figures(par, par_s, concurrent, concurrency),
            "rasa_rss_mb_before": rss_before,
            "rasa_rss_mb_after": rss_mb(rasa.pid),
            "actions_rss_mb_after": rss_mb(actions.pid),
        }


# --------------------------------------------------------------------------- report


def fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def table(title: str, headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]
    line = "  ".join("-" * w for w in widths)

    def render(row: list[str]) -> str:
        return "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in
                         enumerate(zip(row, widths, strict=True)))

    return "\n".join([title, render(headers), line, *(render(row) for row in rows), ""])


NLU_ROWS = [
    ("intent macro-F1", "intent_macro_f1", 3),
    ("intent accuracy", "intent_accuracy", 3),
    ("out_of_scope precision", "out_of_scope_precision", 3),
    ("out_of_scope recall", "out_of_scope_recall", 3),
    ("in-scope precision", "in_scope_precision", 3),
    ("in-scope kept (not refused)", "in_scope_kept", 3),
    ("fallback threshold (nlu_fallback)", "fallback_threshold", 2),
    ("right predictions under it", "fallback_right", 3),
    ("wrong predictions under it", "fallback_wrong", 3),
    ("out_of_scope test examples", "out_of_scope_support", 0),
    ("test examples", "test_examples", 0),
    ("NLU training time (s)", "train_s", 1),
    ("rasa test nlu time (s)", "test_s", 1),
]


def nlu_table(nlu: dict[str, Any], eval_nlu: dict[str, Any] | None = None) -> str:
    """Split and eval set side by side: one column per config and test set that was run."""
    columns: list[tuple[str, dict[str, Any]]] = []
    for label, results in (("split", nlu), ("eval", eval_nlu or {})):
        columns += [(f"{name} ({label})", results[name]) for name in CONFIG_NAMES if results.get(name)]
    if not columns:
        return ""
    text = table("NLU: split = rasa data split nlu (80/20, seed 42), train on 80 %, test on 20 %; "
                 "eval = train on all of data/nlu, test on bench/eval/nlu_eval.yml (held out)",
                 ["", *(label for label, _ in columns)],
                 [[label, *(fmt(col.get(key), digits) for _, col in columns)] for label, key, digits in NLU_ROWS])
    for label, col in columns:
        if col.get("confusions"):
            text += f"Most frequent confusions, {label} (true -> predicted):\n" + "\n".join(
                f"  {line}" for line in col["confusions"]) + "\n"
    return text


def training_table(full: dict[str, Any]) -> str:
    cols = [full.get(name) or {} for name in CONFIG_NAMES]
    return table("Full training: rasa train on all of data/ and domain.yml (no training cache)",
                 ["", *CONFIG_NAMES],
                 [["training time (s)", *(fmt(c.get("train_s")) if "train_s" in c else
                                          c.get("skipped", "-") for c in cols)],
                  ["model size (MB)", *(fmt(c.get("model_mb")) for c in cols)]])


def serving_table(serving: dict[str, Any]) -> str:
    seq, par = serving["sequential"], serving["concurrent"]
    rows = [
        ["conversations", fmt(seq["conversations"]), fmt(par["conversations"])],
        ["messages ok / failed", f"{seq['messages_ok']} / {seq['messages_failed']}",
         f"{par['messages_ok']} / {par['messages_failed']}"],
        ["latency p50 (ms)", fmt(seq["p50_ms"], 0), fmt(par["p50_ms"], 0)],
        ["latency p95 (ms)", fmt(seq["p95_ms"], 0), fmt(par["p95_ms"], 0)],
        ["latency p99 (ms)", fmt(seq["p99_ms"], 0), fmt(par["p99_ms"], 0)],
        ["messages per second", fmt(seq["messages_per_s"]), fmt(par["messages_per_s"])],
    ]
    memory = (f"Rasa startup {fmt(serving['rasa_startup_s'])} s; first message "
              f"{fmt(serving['first_message_ms'], 0)} ms (warm-up, not in the figures).\n"
              f"Memory (VmRSS, with children): Rasa {fmt(serving['rasa_rss_mb_before'], 0)} MB before "
              f"the load, {fmt(serving['rasa_rss_mb_after'], 0)} MB after; action server "
              f"{fmt(serving['actions_rss_mb_after'], 0)} MB after.\n")
    return table("Serving: models/current.tar.gz over REST, SQLite tracker store, action server",
                 ["", "1 at a time", f"{par['concurrency']} at a time"], rows) + memory


def report(results: dict[str, Any], errors: list[str]) -> str:
    spacy = results.get("spacy_pipeline") or {}
    parts = [
        f"Træningsguiden benchmark: {results['host']['cpus']} CPUs, rasa {results['rasa_version']}, "
        f"spaCy pipeline: {spacy.get('source', '?')} (spaCy {spacy.get('version', '?')}), "
        f"{fmt(results['duration_s'], 0)} s in all\n",
    ]
    busy_cores = results["host"]["other_processes_cpu_s"] / results["duration_s"]
    if busy_cores > BUSY_CORES and results["duration_s"] > 60:  # too short a run says nothing
        parts.append(f"!! Other processes used {busy_cores:.2f} CPU cores on average during the run: "
                     "the timings are pessimistic.\n")
    if results.get("nlu") or results.get("eval"):
        parts.append(nlu_table(results.get("nlu") or {}, results.get("eval")))
    if results.get("full_training"):
        parts.append(training_table(results["full_training"]))
    if results.get("serving"):
        parts.append(serving_table(results["serving"]))
    if errors:
        parts.append("Errors:\n" + "\n".join(f"  - {e}" for e in errors))
    return "\n".join(parts)


# --------------------------------------------------------------------------- main


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--budget-min", type=float, default=25.0,
                        help="skip the default config's full training when it would end after this")
    parser.add_argument("--sequential", type=int, default=10, help="conversations one at a time")
    parser.add_argument("--concurrent", type=int, default=30, help="conversations under concurrency")
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--skip", nargs="*", default=[], choices=PARTS,
                        help="leave out parts (for quick checks)")
    parser.add_argument("--only", nargs="*", choices=PARTS,
                        help="run only these parts (e.g. --only eval: NLU on the held-out eval set)")
    parser.add_argument("--configs", nargs="*", choices=CONFIG_NAMES, default=list(CONFIG_NAMES),
                        help="which configs the NLU parts train (default: both)")
    parser.add_argument("--config", type=Path, default=REPO / "config.yml",
                        help="the file used as 'ours' (to try a variant without editing config.yml)")
    parser.add_argument("--keep-reports", type=Path,
                        help="copy every `rasa test nlu` report (intent_errors.json ...) into this folder")
    args = parser.parse_args()
    if args.only is not None:
        args.skip = [part for part in PARTS if part not in args.only]
    return args


def run_nlu(bench: Bench, configs: list[str]) -> None:
    split = step(bench, "rasa data split nlu", lambda: split_nlu(bench))
    if split is None:
        return
    nlu: dict[str, Any] = {}
    bench.results["nlu"] = nlu
    for name in configs:
        nlu[name] = step(bench, f"NLU ({name})", partial(measure_nlu, bench, name, *split))


def run_eval(bench: Bench, configs: list[str]) -> None:
    """Each config trained on all of data/nlu and tested on the held-out evaluation set."""
    results: dict[str, Any] = {}
    bench.results["eval"] = results
    for name in configs:
        results[name] = step(bench, f"NLU eval set ({name})",
                             partial(measure_nlu, bench, name, REPO / "data" / "nlu", EVAL_SET, "eval"))


def run_full_training(bench: Bench) -> None:
    full: dict[str, Any] = {}
    bench.results["full_training"] = full
    full["ours"] = step(bench, "full training (ours)", lambda: measure_full_training(bench, "ours"))
    estimate = default_full_training_estimate_s(bench) or 0.0
    if bench.elapsed_s() + estimate > bench.budget_s:
        full["rasa init"] = {"skipped": f"skipped: over the {bench.budget_s / 60:.0f} min budget"
                                        + (f" (~{estimate:.0f} s)" if estimate else "")}
        return
    full["rasa init"] = step(bench, "full training (rasa init)",
                             lambda: measure_full_training(bench, "rasa init"))


def run_all(bench: Bench, args: argparse.Namespace) -> None:
    bench.results["spacy_pipeline"] = step(bench, "spaCy pipeline", spacy_pipeline)
    if "serving" not in args.skip:
        bench.results["serving"] = step(
            bench, "serving", lambda: measure_serving(bench, args.sequential, args.concurrent, args.concurrency))
    if "nlu" not in args.skip:
        run_nlu(bench, args.configs)
    if "eval" not in args.skip:
        run_eval(bench, args.configs)
    if "full" not in args.skip:
        run_full_training(bench)


def raise_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def keep_logs(tmp: Path) -> None:
    """After a failure, keep the children's logs (the temporary directory goes away)."""
    LOGS.mkdir(parents=True, exist_ok=True)
    for log in tmp.glob("*.log"):
        shutil.copy(log, LOGS / log.name)
    print(f"Logs of the children: {LOGS.relative_to(REPO)}/", file=sys.stderr)


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGTERM, raise_on_sigterm)  # so `finally` stops the servers
    os.chdir(REPO)
    shutil.rmtree(LOGS, ignore_errors=True)  # logs of an earlier failed run
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp_name:
        tmp = Path(tmp_name)
        default_config = tmp / "config_rasa_init.yml"
        default_config.write_text(DEFAULT_CONFIG)
        bench = Bench(tmp=tmp, env=bench_env(tmp / "cache"),
                      configs={"ours": args.config.resolve(), "rasa init": default_config},
                      budget_s=args.budget_min * 60, keep_reports=args.keep_reports)
        bench.results.update(
            started_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            host={"cpus": os.cpu_count(), "python": platform.python_version()},
            rasa_version=metadata.version("rasa"),
            ours_config=str(args.config),
        )
        try:
            run_all(bench, args)
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM: the children are stopped; report what is done
            bench.errors.append("interrupted")
        bench.results["duration_s"] = bench.elapsed_s()
        bench.results["host"]["other_processes_cpu_s"] = other_cpu_s(bench)
        bench.results["errors"] = bench.errors
        if bench.errors:
            keep_logs(tmp)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(bench.results, indent=2, ensure_ascii=False) + "\n")
    print(report(bench.results, bench.errors))
    print(f"Written to {RESULTS.relative_to(REPO)}")
    if "interrupted" in bench.errors:
        return 130
    return 1 if bench.errors else 0


if __name__ == "__main__":
    sys.exit(main())
