"""bench/fuzz.py in small (200 hostile messages through the real servers): the same code as `make fuzz`.

Asserts behaviour, never timing: no 5xx, no empty answer, no transport error, and none of the
CPR numbers typed found in the answers, the tracker store, the drafts, the logs or the analyst pages.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.live import MODEL

pytestmark = pytest.mark.rasa
FUZZ = Path(__file__).resolve().parents[2] / "bench" / "fuzz.py"


def load_fuzz() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_fuzz", FUZZ)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_fuzz"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_200_hostile_messages_get_answers_and_leave_no_cpr_number(tmp_path: Path) -> None:
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` (make test does)")
    fuzz = load_fuzz()
    try:
        figures = fuzz.run(200, concurrency=4, seed=200, max_minutes=20, workdir=tmp_path)
    finally:
        sys.modules.pop("bench_fuzz", None)
    print(figures.report())
    assert figures.sent == 200 and figures.conversations > 1 and figures.planted > 0
    assert figures.unmasked and set(figures.unmasked.values()) == {0}, figures.unmasked
    assert figures.failures() == [], figures.report()
