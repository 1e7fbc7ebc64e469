"""The analyst pages under hostile input at volume (issue 10), through the real aiohttp app.

Records go into a real SQLite analytics store with `AnalyticsStore.ingest`, transcripts into
a real SQLite table shaped as Rasa's tracker store writes it.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
import re
import time
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from aiohttp.test_utils import TestClient, TestServer
from cryptography.fernet import Fernet

from bot.analytics.store import AnalyticsStore, TrackerEvents
from bot.config import Settings
from bot.web.app import create_app
from tests.analytics.events import Conversation
from tests.web.test_auth import ANALYST_PASSWORD, log_in, write_accounts

LONG = " ".join(["Jeg har et spørgsmål om genoptræning efter min operation."] * 1800)  # ~100 KB
STARTED = time.time() - 3600  # inside the pages' default period (the last 30 days)


def missed(text: str, start: float) -> Conversation:
    """A conversation whose one message the bot took for out of scope."""
    return (
        Conversation(start, channel="citizen", municipality="ballerup")
        .user(text)
        .action("action_out_of_scope")
    )


def ingest(url: str, conversations: dict[str, Conversation]) -> None:
    store = AnalyticsStore(url)
    for sender, conversation in conversations.items():
        for event in conversation.events:
            store.ingest({"sender_id": sender, **event})
    store.close()


def save_tracker(url: str, sender: str, conversation: Conversation) -> None:
    tracker = TrackerEvents(url)
    tracker.table.metadata.create_all(tracker.engine)
    with tracker.engine.begin() as conn:
        for event in conversation.events:
            conn.execute(
                tracker.table.insert().values(
                    sender_id=sender,
                    type_name=event["event"],
                    timestamp=event["timestamp"],
                    data=json.dumps(event, ensure_ascii=False),
                )
            )
    tracker.close()


def pages(tmp_path: Path, *paths: str, consumer: bool = True) -> list[str]:
    """The analyst's view of each path (status 200 asserted), with the consumer's tables on SQLite
    (`consumer=False`: the embedded profile, which reads Rasa's tracker store only)."""
    accounts = tmp_path / "accounts.yml"
    write_accounts(accounts)
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'drafts.db'}",
        key=Fernet.generate_key(),
        accounts_file=str(accounts),
        session_key=Fernet.generate_key(),
        tracker_database_url=f"sqlite:///{tmp_path / 'tracker.db'}",
        analytics_database_url=analytics_url(tmp_path) if consumer else None,
    )

    async def main() -> list[str]:
        async with TestClient(TestServer(create_app(settings))) as client:
            status, _ = await log_in(client, "lars", ANALYST_PASSWORD, "/analyse")
            assert status == 303
            found = []
            for path in paths:
                async with client.get(path) as response:
                    assert response.status == 200, path
                    found.append(await response.text())
            return found

    return asyncio.run(main())


def analytics_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'analytics.db'}"


def details(html: str) -> list[str]:
    return re.findall(r"<details[^>]*>.*?</details>", html, flags=re.S)


def test_a_100_kb_message_is_cut_short_with_the_whole_text_in_a_details(tmp_path: Path) -> None:
    ingest(analytics_url(tmp_path), {"long": missed(LONG, STARTED)})
    (html,) = pages(tmp_path, "/analyse/ikke-forstaaet")
    table = html.split('id="not-understood"', 1)[1]
    whole = [d for d in details(table) if LONG in unescape(d)]
    assert len(whole) == 1, "the whole message is in one <details>"
    assert f"Vis hele beskeden ({len(LONG)} tegn)" in unescape(whole[0])
    shown = unescape(table.split("<details", 1)[0])  # what is visible before anyone opens it
    assert LONG[:300] in shown and LONG[:301] not in shown
    assert LONG[:300] + "…" in shown


def test_a_short_message_is_shown_whole_without_a_details(tmp_path: Path) -> None:
    ingest(analytics_url(tmp_path), {"short": missed("Hvornår kommer bussen?", STARTED)})
    (html,) = pages(tmp_path, "/analyse/ikke-forstaaet")
    assert "Hvornår kommer bussen?" in unescape(html)
    assert not details(html.split('id="not-understood"', 1)[1])


def test_the_csv_keeps_the_whole_text_and_says_which_groups_are_junk(tmp_path: Path) -> None:
    ingest(
        analytics_url(tmp_path),
        {"long": missed(LONG, STARTED), "junk": missed("ssss", STARTED + 60)},
    )
    (body,) = pages(tmp_path, "/analyse/ikke-forstaaet.csv")
    rows = {r["text"]: r for r in csv.DictReader(io.StringIO(body))}
    assert rows[LONG]["junk"] == "no" and rows["ssss"]["junk"] == "yes"


def test_the_transcript_cuts_a_long_message_short_with_the_whole_in_a_details(tmp_path: Path) -> None:
    conversation = Conversation(STARTED, channel="citizen").user(LONG).action("action_out_of_scope")
    save_tracker(f"sqlite:///{tmp_path / 'tracker.db'}", "long-one", conversation)
    (html,) = pages(tmp_path, "/analyse/samtaler/long-one")
    turns = html.split('class="transcript"', 1)[1]
    (whole,) = [d for d in details(turns) if LONG in unescape(d)]
    assert "Vis hele beskeden" in whole
    assert LONG[:301] not in unescape(turns.split("<details", 1)[0])


def test_junk_groups_are_shown_apart_below_real_ones(tmp_path: Path) -> None:
    conversations = {f"s{i}": missed("ssss", STARTED + i) for i in range(5)}
    conversations |= {f"e{i}": missed("🙂🙂", STARTED + 10 + i) for i in range(4)}
    conversations |= {f"p{i}": missed("?!?!", STARTED + 20 + i) for i in range(3)}
    conversations["real"] = missed("Hvornår bliver skraldet hentet?", STARTED + 30)
    ingest(analytics_url(tmp_path), conversations)
    (html,) = pages(tmp_path, "/analyse/ikke-forstaaet")
    real, junk = html.split('<details id="junk-section"', 1)
    assert "Hvornår bliver skraldet hentet?" in unescape(real)
    junk_table = unescape(junk.split('id="junk"', 1)[1].split("</table>", 1)[0])
    for text in ("ssss", "🙂🙂", "?!?!"):
        assert text not in unescape(real) and text in junk_table
    assert " open" not in junk.split(">", 1)[0], "collapsed"
    # "🙂🙂" and "?!?!" have the same (empty) key once punctuation is dropped: one group of two wordings
    assert "Støj: beskeder uden ord (2)" in unescape(junk.split("</summary>", 1)[0])


def test_120_conversations_make_three_pages_with_working_links(tmp_path: Path) -> None:
    conversations = {f"c{i:03d}": missed(f"Besked nummer {i}", STARTED + 10 * i) for i in range(120)}
    ingest(analytics_url(tmp_path), conversations)
    base = "/analyse/samtaler?channel=citizen"
    first, second, third, beyond, csv_body = pages(
        tmp_path, base, f"{base}&side=2", f"{base}&side=3", f"{base}&side=9", "/analyse/samtaler.csv"
    )

    def rows(html: str) -> list[str]:
        return re.findall(r'data-conversation="([^"]+)"', html)

    def link(html: str, rel: str) -> tuple[str, dict[str, list[str]]] | None:
        nav = re.search(r'<nav class="pages" aria-label="[^"]+">.*?</nav>', html, flags=re.S)
        assert nav, "a labelled <nav> for the pages"
        found = re.search(rf'<a href="([^"]+)" rel="{rel}"', nav.group(0))
        if not found:
            return None
        url = urlsplit(unescape(found.group(1)))
        query = parse_qs(url.query)
        assert query.pop("channel") == ["citizen"], "the filter is kept"
        query.pop("since", None)
        return url.path, query

    assert [len(rows(p)) for p in (first, second, third)] == [50, 50, 20]
    assert len(set(rows(first) + rows(second) + rows(third))) == 120
    assert (
        "Viser 1-50 af 120" in first and "Viser 51-100 af 120" in second and "Viser 101-120 af 120" in third
    )
    path = "/analyse/samtaler"
    assert link(first, "prev") is None and link(first, "next") == (path, {"side": ["2"]})
    assert link(second, "prev") == (path, {"side": ["1"]}) and link(second, "next") == (path, {"side": ["3"]})
    assert link(third, "prev") == (path, {"side": ["2"]})
    assert link(third, "next") is None
    assert rows(beyond) == rows(third), "a page past the end shows the last page"
    assert len(list(csv.DictReader(io.StringIO(csv_body)))) == 120, "the CSV exports them all"


def test_the_overview_shows_how_many_events_the_consumer_set_aside(tmp_path: Path) -> None:
    store = AnalyticsStore(analytics_url(tmp_path))
    now = dt.datetime.now(dt.timezone.utc)
    for i in range(2):
        store.record_dead_letter(message_key=f"k{i}", error="IntegrityError", attempts=3, at=now)
    store.close()
    (html,) = pages(tmp_path, "/analyse")
    assert 'data-figure="dead_letters"' in html
    assert "lagt til side i perioden: 2." in html


def test_without_the_consumer_there_is_no_dead_letter_line(tmp_path: Path) -> None:
    (html,) = pages(tmp_path, "/analyse", consumer=False)
    assert "dead_letters" not in html and "lagt til side" not in html
