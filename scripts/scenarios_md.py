"""Render docs/scenarios.md from tests/scenarios/*.yml (`make scenarios-doc`); `--check` only compares."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.scenarios.render import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
