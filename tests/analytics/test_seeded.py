"""Figures on the analyst pages and in the CLI against a database seeded through the real bot.

Expected numbers are counted from what the bot answered over REST (`tests.analytics.seed`),
independently of the tracker store and of `bot.analytics`.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.analytics.queries import normalise
from bot.analytics.store import TrackerEvents
from tests.analytics.conftest import ANALYST_PASSWORD, STAFF_PASSWORD
from tests.analytics.events import event_count
from tests.analytics.seed import CPR_TYPED, Observed, Seed, drain
from tests.conftest import require_service
from tests.live import ROOT

pytestmark = pytest.mark.rasa

PAGES = (
    "/analyse",
    "/analyse/tragt",
    "/analyse/ikke-forstaaet",
    "/analyse/samtaler",
    "/analyse/overblik.csv",
    "/analyse/tragt.csv",
    "/analyse/ikke-forstaaet.csv",
    "/analyse/samtaler.csv",
)
CPR_DIGITS = tuple(cpr.replace("-", "")[:6] for cpr in CPR_TYPED) + tuple(
    c.replace("-", "") for c in CPR_TYPED
)


def fetch_all(
    seed: Seed, paths: list[str], user: str | None, password: str = ""
) -> dict[str, tuple[int, str, str]]:
    base = f"http://127.0.0.1:{seed.servers.web_port}"

    async def main() -> dict[str, tuple[int, str, str]]:
        jar = aiohttp.CookieJar(unsafe=True)  # cookies for 127.0.0.1
        async with aiohttp.ClientSession(base, cookie_jar=jar) as session:
            if user is not None:
                async with session.get("/login") as response:
                    token = re.search(r'name="csrf_token" value="([^"]+)"', await response.text())
                    assert token
                form = {"csrf_token": token.group(1), "username": user, "password": password}
                async with session.post("/login", data=form, allow_redirects=False) as response:
                    assert response.status == 303, await response.text()
            found = {}
            for path in paths:
                async with session.get(path, allow_redirects=False) as response:
                    found[path] = (
                        response.status,
                        await response.text(),
                        response.headers.get("Location", ""),
                    )
            return found

    return asyncio.run(main())


def as_analyst(seed: Seed, *paths: str) -> dict[str, tuple[int, str, str]]:
    return fetch_all(seed, list(paths), "lars", ANALYST_PASSWORD)


def expected_overview(observed: list[Observed]) -> dict[str, Any]:
    return {
        "conversations": len(observed),
        "completed": sum(1 for o in observed if o.outcome),
        "handoffs": sum(1 for o in observed if o.handoff_requested),
        "drafts_created": sum(len(o.drafts) for o in observed),
        "with_fallback": sum(1 for o in observed if o.not_understood),
        "median_turns": statistics.median(o.turns for o in observed),
        "channel_citizen": sum(1 for o in observed if o.channel == "citizen"),
        "channel_staff": sum(1 for o in observed if o.channel == "staff"),
        **{
            f"outcome_{offer}": sum(1 for o in observed if (o.outcome or "unfinished") == offer)
            for offer in (
                "maintenance_training",
                "free_physiotherapy",
                "rehabilitation",
                "home_training",
                "none",
                "unfinished",
            )
        },
    }


def test_the_seed_covers_every_outcome_and_case(seeded: Seed) -> None:
    outcomes = {o.outcome for o in seeded.observed}
    assert {
        "maintenance_training",
        "free_physiotherapy",
        "rehabilitation",
        "home_training",
        "none",
        None,
    } <= outcomes
    assert sum(len(o.drafts) for o in seeded.observed) == 2
    assert sum(o.handoff_requested for o in seeded.observed) == 2
    assert sum(len(o.not_understood) for o in seeded.observed) >= 5
    assert {o.channel for o in seeded.observed} == {"citizen", "staff"}


def test_overview_page_shows_the_independent_counts(seeded: Seed) -> None:
    status, html, _ = as_analyst(seeded, "/analyse")["/analyse"]
    assert status == 200
    shown = dict(re.findall(r'data-figure="(\w+)">([^<]*)<', html))
    shown.update({f"outcome_{k}": v for k, v in re.findall(r'data-outcome="(\w+)">([^<]*)<', html)})
    expected = expected_overview(seeded.observed)
    for key, value in expected.items():
        if key == "median_turns":
            assert shown[key] == f"{value:g}".replace(".", ","), key
        else:
            assert int(shown[key].split()[0]) == value, key
    assert "<svg" in html and "<title id=" in html and "<desc id=" in html and "<script" not in html


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m bot ...` as an operator runs it."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )


def test_cli_report_shows_the_same_counts(seeded: Seed) -> None:
    env = dict(seeded.servers.env)
    result = cli(env, "report", "--since", "1d", "--format", "csv")
    rows = dict(csv.reader(io.StringIO(result.stdout)))
    for key, value in expected_overview(seeded.observed).items():
        assert float(rows[key]) == value, key
    text = cli(env, "report", "--since", "7d", "--municipality", "aarhus").stdout
    aarhus = sum(1 for o in seeded.observed if o.municipality == "aarhus")
    assert re.search(rf"^Samtaler\s+{aarhus}$", text, re.MULTILINE), text
    assert "Aarhus Kommune" in text
    assert not any(digits in result.stdout + text + result.stderr for digits in CPR_DIGITS)


def test_funnel_shows_reached_and_left_per_question(seeded: Seed) -> None:
    status, html, _ = as_analyst(seeded, "/analyse/tragt")["/analyse/tragt"]
    assert status == 200
    rows = re.findall(
        r'<tr data-question="(\w+)"><th scope="row">[^<]*</th><td data-reached>(\d+)</td><td data-left>(\d+)</td>',
        html,
    )
    shown = {fact: (int(reached), int(left)) for fact, reached, left in rows}
    facts = {f for o in seeded.observed for f in o.questions}
    assert set(shown) == facts
    for fact in facts:
        reached = sum(1 for o in seeded.observed if fact in o.questions)
        left = sum(1 for o in seeded.observed if o.last_question == fact)
        assert shown[fact] == (reached, left), fact


def test_not_understood_groups_and_the_nlu_csv(seeded: Seed) -> None:
    pages = as_analyst(seeded, "/analyse/ikke-forstaaet", "/analyse/ikke-forstaaet.csv")
    status, body, _ = pages["/analyse/ikke-forstaaet.csv"]
    assert status == 200
    rows = list(csv.DictReader(io.StringIO(body)))
    assert list(rows[0]) == ["text", "count", "suggested_intent", "kinds", "variants", "junk"]
    assert all(row["suggested_intent"] == "" for row in rows)
    typed = [m for o in seeded.observed for m in o.not_understood]
    assert sum(int(row["count"]) for row in rows) == len(typed)
    by_key = {normalise(row["text"]): int(row["count"]) for row in rows}
    assert (
        by_key["hvornaar bliver skraldet hentet"]
        == sum(1 for m in typed if normalise(m) == "hvornaar bliver skraldet hentet")
        == 2
    )
    status, html, _ = pages["/analyse/ikke-forstaaet"]
    assert status == 200 and "skraldet" in html


@pytest.mark.parametrize(
    ("query", "accepts"),
    [
        ("handoff=yes", lambda o: o.handoff_requested),
        ("draft=yes", lambda o: bool(o.drafts)),
        ("fallback=yes", lambda o: bool(o.not_understood)),
        ("outcome=unfinished", lambda o: o.outcome is None),
        ("outcome=none", lambda o: o.outcome == "none"),
        ("channel=staff", lambda o: o.channel == "staff"),
        ("municipality=aarhus", lambda o: o.municipality == "aarhus"),
    ],
)
def test_conversation_list_filters(seeded: Seed, query: str, accepts: Any) -> None:
    path = f"/analyse/samtaler?{query}"
    csv_path = f"/analyse/samtaler.csv?{query}"
    pages = as_analyst(seeded, path, csv_path)
    status, html, _ = pages[path]
    assert status == 200
    listed = set(re.findall(r'<tr data-conversation="([^"]+)">', html))
    assert listed == {o.sender for o in seeded.observed if accepts(o)}
    rows = list(csv.DictReader(io.StringIO(pages[csv_path][1])))
    assert {row["conversation_id"] for row in rows} == listed


def test_transcript_shows_questions_and_outcome_but_hides_draft_answers(seeded: Seed) -> None:
    with_draft = next(o for o in seeded.observed if o.drafts)
    with_cpr = next(o for o in seeded.observed if o.turns == 1)
    path, cpr_path = f"/analyse/samtaler/{with_draft.sender}", f"/analyse/samtaler/{with_cpr.sender}"
    pages = as_analyst(seeded, path, cpr_path, "/analyse/samtaler/unknown-conversation")
    status, html, _ = pages[path]
    assert status == 200
    assert "Spørgsmål:" in html and "Resultat:" in html and with_draft.drafts[0] in html
    assert "&#34;offer&#34;" in html or "&quot;offer&quot;" in html or '"offer"' in html
    assert "[svar til udkastet er skjult]" in html
    assert "Test &lt;script&gt;" not in html and "12 34 56 78" not in html and "efter et fald" not in html
    assert "/udkast/" not in html or "[link fjernet]" in html
    status, html, _ = pages[cpr_path]
    assert status == 200 and "[CPR-nummer fjernet]" in html
    assert pages["/analyse/samtaler/unknown-conversation"][0] == 404


def test_analyst_pages_refuse_anonymous_and_staff_users(seeded: Seed) -> None:
    paths = [*PAGES, f"/analyse/samtaler/{seeded.observed[0].sender}"]
    for path, (status, _, location) in fetch_all(seeded, paths, None).items():
        assert status == 303 and location.startswith("/login?next="), path
    for path, (status, body, _) in fetch_all(seeded, paths, "anne", STAFF_PASSWORD).items():
        assert status == 403 and "Ingen adgang" in body, path


def test_no_cpr_number_in_pages_exports_transcripts_or_logs(seeded: Seed) -> None:
    transcripts = [f"/analyse/samtaler/{o.sender}" for o in seeded.observed]
    pages = as_analyst(seeded, *PAGES, *transcripts)
    assert all(status == 200 for status, _, _ in pages.values())
    everything = "".join(body for _, body, _ in pages.values())
    assert "[CPR-nummer fjernet]" in everything
    for log in ("rasa.log", "actions.log", "web.log"):
        everything += (seeded.workdir / log).read_text(encoding="utf-8", errors="replace")
    with sqlite3.connect(seeded.servers.tracker_db) as db:
        everything += " ".join(row[0] for row in db.execute("SELECT data FROM events"))
    if seeded.consumer is not None:
        with sqlite3.connect(seeded.workdir / "analytics.db") as db:
            for table in ("analytics_events", "analytics_conversations"):
                everything += " ".join(str(row) for row in db.execute(f"SELECT * FROM {table}"))
    # hashes and random ids are hex: six CPR digits inside one are chance, not a leak (a CI flake)
    everything = re.sub(r"[0-9a-f]{12,}", " ", everything)
    found = [digits for digits in CPR_DIGITS if digits in everything]
    assert not found


def test_rasa_logs_no_user_text_at_info(seeded: Seed) -> None:
    """Rasa logs user text only at DEBUG (and, on a failed broker publish, at ERROR: see README)."""
    log = (seeded.workdir / "rasa.log").read_text(encoding="utf-8", errors="replace")
    assert "bliver dårligere gående" not in log and "skraldet" not in log


def test_consumer_records_equal_the_tracker_stores(seeded: Seed) -> None:
    require_service("RabbitMQ", 5672)
    assert seeded.consumer is not None
    tracker = TrackerEvents(f"sqlite:///{seeded.servers.tracker_db}")
    with sqlite3.connect(seeded.servers.tracker_db) as db:
        total = db.execute("SELECT count(*) FROM events").fetchone()[0]
    drain(seeded, total)
    store = seeded.consumer.consumer.store
    assert event_count(store) == total  # each event once, across a RabbitMQ restart
    from_tracker = {r.sender_id: r for r in tracker.records()}
    from_consumer = {r.sender_id: r for r in store.records()}
    tracker.close()
    assert set(from_consumer) == {o.sender for o in seeded.observed} == set(from_tracker)
    for sender, record in from_tracker.items():
        assert from_consumer[sender] == record, sender


def test_cli_export_and_forget_a_conversation_and_a_draft(seeded: Seed, tmp_path: Path) -> None:
    # Rasa's SQLite tracker store runs in WAL mode: the newest events may still be in tracker.db-wal,
    # so a copy of the file alone misses them. SQLite's backup API copies the database as it is.
    with sqlite3.connect(seeded.servers.tracker_db) as live, sqlite3.connect(tmp_path / "tracker.db") as copy:
        live.backup(copy)
    shutil.copy(seeded.workdir / "drafts.db", tmp_path / "drafts.db")
    env = {
        **seeded.servers.env,
        "TRAENINGSGUIDEN_TRACKER_DATABASE_URL": f"sqlite:///{tmp_path / 'tracker.db'}",
        "TRAENINGSGUIDEN_DRAFT_DATABASE_URL": f"sqlite:///{tmp_path / 'drafts.db'}",
    }

    first, second = [o for o in seeded.observed if o.drafts]
    exported = json.loads(cli(env, "export", "--conversation", first.sender).stdout)
    assert exported["found"] and exported["drafts"][0]["reference"] == first.drafts[0]
    body = json.dumps(exported, ensure_ascii=False)
    assert not any(d in body for d in CPR_DIGITS) and "[CPR-nummer fjernet]" in body
    cli(env, "forget", "--conversation", first.sender)
    cli(env, "forget", "--draft", second.drafts[0])
    with sqlite3.connect(tmp_path / "tracker.db") as db:
        for o in (first, second):
            assert (
                db.execute("SELECT count(*) FROM events WHERE sender_id = ?", (o.sender,)).fetchone()[0] == 0
            )
        others = db.execute("SELECT count(DISTINCT sender_id) FROM events").fetchone()[0]
    assert others == len(seeded.observed) - 2
    with sqlite3.connect(tmp_path / "drafts.db") as db:
        references = {row[0] for row in db.execute("SELECT reference FROM drafts")}
    assert not references & {first.drafts[0], second.drafts[0]}
