"""Loading the YAML data files shipped in `bot/data/`."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

from bot.errors import DataFileError

DATA_DIR = Path(__file__).parent / "data"


@cache
def load_yaml(relative: str) -> Any:
    """Read one YAML file under `bot/data/`, cached for the process."""
    path = DATA_DIR / relative
    try:
        with path.open(encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except (OSError, yaml.YAMLError) as e:
        raise DataFileError(f"cannot read {path}: {e}") from e
