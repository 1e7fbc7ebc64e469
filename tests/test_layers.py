"""Dependencies point one way: what a process imports is what it needs (each check in a fresh interpreter)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]


def loaded_after(imports: list[str]) -> set[str]:
    """The modules a fresh interpreter holds after importing `imports` (run in the project folder)."""
    code = "import importlib, sys\nfor name in sys.argv[1:]: importlib.import_module(name)\nprint(' '.join(sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", code, *imports], cwd=PROJECT, capture_output=True, text=True, check=True
    )
    return set(done.stdout.split())


def modules_in(folder: str) -> list[str]:
    package = PROJECT / folder
    return [
        ".".join(path.relative_to(PROJECT).with_suffix("").parts).removesuffix(".__init__")
        for path in sorted(package.rglob("*.py"))
    ]


def test_the_action_server_and_analytics_load_nothing_of_the_web_app() -> None:
    """actions/ and bot/analytics/ (and `python -m bot`) never import bot.web, its sessions or argon2."""
    imports = [*modules_in("actions"), *modules_in("bot/analytics"), "bot.__main__"]
    assert "actions.actions" in imports and "bot.analytics.consumer" in imports
    loaded = loaded_after(imports)
    assert "actions.actions" in loaded  # the imports ran
    web = sorted(m for m in loaded if m == "bot.web" or m.startswith("bot.web."))
    assert not web
    assert not {"aiohttp_session", "argon2"} & {m.split(".")[0] for m in loaded}


def test_draft_rendering_has_no_cycle_and_drafts_sit_below_the_web_app() -> None:
    """The PDF is built from the draft's view (pdf -> render), never the other way round."""
    imported = {
        node.module
        for node in ast.walk(
            ast.parse((PROJECT / "bot" / "drafts" / "render.py").read_text(encoding="utf-8"))
        )
        if isinstance(node, ast.ImportFrom)
    }
    assert "bot.drafts.pdf" not in imported  # not even inside a function
    render = loaded_after(["bot.drafts.render"])
    assert "bot.drafts.pdf" not in render and "fpdf" not in render
    assert "jinja2" not in render  # the HTML page and its templates belong to bot.web
    everything = loaded_after(modules_in("bot/drafts"))
    assert not sorted(m for m in everything if m == "bot.web" or m.startswith("bot.web."))


def test_the_drafts_package_imports_nothing() -> None:
    assert {m for m in loaded_after(["bot.drafts"]) if m.startswith("bot")} == {"bot", "bot.drafts"}


def test_the_conversation_loads_no_database_cryptography_or_templates() -> None:
    """`import bot.conversation` (the questionnaire and the draft dialogue) needs none of them."""
    loaded = {m.split(".")[0] for m in loaded_after(["bot.conversation"])}
    assert "bot" in loaded
    assert not {"sqlalchemy", "cryptography", "jinja2"} & loaded
