"""bench/run.py's in-scope vs out_of_scope figures (bench/README.md, "In scope vs out of scope")."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def run():  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(BENCH))  # run.py imports its sibling _servers
    try:
        spec = importlib.util.spec_from_file_location("bench_run", BENCH / "run.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules["bench_run"] = module  # dataclasses look their module up
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(BENCH))
        sys.modules.pop("bench_run", None)


def error(true: str, predicted: str) -> dict[str, object]:
    return {"text": "x", "intent": true, "intent_prediction": {"name": predicted, "confidence": 0.5}}


def test_scope_figures_count_refused_and_let_in(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # 100 messages, 20 out of scope: 2 in-scope refused, 5 out-of-scope let in,
    # 1 in-scope confused with another in-scope intent (no effect on the scope decision).
    errors = [error("greet", "out_of_scope"), error("inform", "out_of_scope")]
    errors += [error("out_of_scope", "inform")] * 5
    errors += [error("deny", "affirm")]
    (tmp_path / "intent_errors.json").write_text(json.dumps(errors))
    figures = run.scope_figures(tmp_path, total=100, oos_support=20)
    assert figures["in_scope_refused"] == 2
    assert figures["out_of_scope_let_in"] == 5
    assert figures["in_scope_kept"] == pytest.approx(78 / 80)
    assert figures["in_scope_precision"] == pytest.approx(78 / 83)
