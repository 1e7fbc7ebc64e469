"""Provide the Danish spaCy pipeline Rasa loads from `models/spacy/da`.

Order, first that works wins:
  1. `da_core_news_sm==3.4.0` already installed;
  2. a local wheel: $DA_CORE_NEWS_SM_WHEEL, or vendor/da_core_news_sm-3.4.0*.whl
     (air-gapped municipal servers);
  3. the pinned release download (unreachable from some networks);
  4. FALLBACK: spaCy's built-in Danish (tokenizer, stop words, lookup lemmas from
     spacy-lookups-data), announced loudly on stderr and recorded in
     models/spacy/da/traeningsguiden.json, which `make run`, the action server
     and `make bench` print.
The output directory is rebuilt only when the source changes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

MODEL = "da_core_news_sm"
VERSION = "3.4.0"
RELEASE_URL = (
    "https://github.com/explosion/spacy-models/releases/download/"
    f"{MODEL}-{VERSION}/{MODEL}-{VERSION}-py3-none-any.whl"
)
ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "models" / "spacy" / "da"
MARKER = TARGET / "traeningsguiden.json"
BANNER = """
************************************************************************
* FALLBACK: da_core_news_sm {version} could not be installed.              *
* Using spaCy's built-in Danish (tokenizer, stop words, lookup lemmas). *
* NLU quality is lower. Put the wheel in vendor/ or set                 *
* DA_CORE_NEWS_SM_WHEEL and run `make model` again.                     *
************************************************************************
"""


def installed_version() -> str | None:
    try:
        return version(MODEL)
    except PackageNotFoundError:
        return None


def pip_install(spec: str) -> bool:
    cmd = [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--timeout", "15", spec]
    print(f"setup_spacy_model: trying {spec}", file=sys.stderr)
    try:
        done = subprocess.run(cmd, check=False, timeout=120)
    except subprocess.TimeoutExpired:
        return False
    return done.returncode == 0


def local_wheel() -> str | None:
    given = os.environ.get("DA_CORE_NEWS_SM_WHEEL")
    if given:
        return given
    found = sorted((ROOT / "vendor").glob(f"{MODEL}-{VERSION}*.whl"))
    return str(found[0]) if found else None


def obtain_model() -> bool:
    if installed_version() == VERSION:
        return True
    wheel = local_wheel()
    if wheel and pip_install(wheel):
        return True
    if os.environ.get("TRAENINGSGUIDEN_OFFLINE") != "1" and pip_install(RELEASE_URL):
        return True
    return False


def current_source() -> str | None:
    if not MARKER.exists():
        return None
    return str(json.loads(MARKER.read_text(encoding="utf-8")).get("source"))


def build(source: str) -> None:
    import spacy

    if source == MODEL:
        nlp = spacy.load(MODEL)
    else:
        nlp = spacy.blank("da")
        nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
        nlp.initialize()
    if TARGET.exists():
        shutil.rmtree(TARGET)
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(TARGET)
    MARKER.write_text(
        json.dumps({"source": source, "version": VERSION if source == MODEL else spacy.__version__}),
        encoding="utf-8",
    )


def main() -> int:
    source = MODEL if obtain_model() else "fallback"
    if source == "fallback":
        print(BANNER.format(version=VERSION), file=sys.stderr)
    if current_source() != source:
        build(source)
        print(f"setup_spacy_model: built {TARGET} from {source}", file=sys.stderr)
    else:
        print(f"setup_spacy_model: {TARGET} is up to date ({source})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
