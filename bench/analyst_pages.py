"""Time each analyst page over a seeded tracker store the size of a fuzz run (issue 10).

    .venv/bin/python bench/analyst_pages.py --conversations 700 --messages 10000

Seeds Rasa's tracker table (SQLite, in a temporary directory) with `--conversations`
conversations holding `--messages` user messages between them, hostile texts from
`bench/fuzz.py` (seeded), each answered "out of scope" so every one is "not understood";
then starts the real web app (embedded profile: records from the tracker store, as in the
fuzz run), logs in as an analyst and prints how long each page took. Figures only; the
behaviour is tested in tests/analytics/test_queries.py and tests/web/test_analyst_pages.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer
from cryptography.fernet import Fernet

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.fuzz import Hostile
from bot.analytics.store import TrackerEvents
from bot.config import Settings
from bot.web.app import create_app
from tests.analytics.events import Conversation
from tests.web.test_auth import ANALYST_PASSWORD, log_in, write_accounts

PAGES = (
    "/analyse",
    "/analyse/tragt",
    "/analyse/ikke-forstaaet",
    "/analyse/samtaler",
    "/analyse/ikke-forstaaet.csv",
)
MAX_TEXT = 2001  # what Rasa's REST channel reads of a message (see bench/README.md)


def seed(url: str, conversations: int, messages: int, seed_: int) -> None:
    hostile = Hostile(seed_)
    tracker = TrackerEvents(url)
    tracker.table.metadata.create_all(tracker.engine)
    start = time.time() - 3600
    rows = []
    for c in range(conversations):
        conversation = Conversation(start + c, channel="citizen", municipality="ballerup")
        for _ in range(messages // conversations + (c < messages % conversations)):
            text = hostile.message(for_web=False)[:MAX_TEXT]
            conversation.user(text, "nlu_fallback", after=0.5).action("action_out_of_scope")
            conversation.reply("Det kan jeg desværre ikke svare på.").action("action_listen")
        rows += [
            {
                "sender_id": f"fuzz-{c:05}",
                "type_name": e["event"],
                "timestamp": e["timestamp"],
                "data": json.dumps(e, ensure_ascii=False),
            }
            for e in conversation.events
        ]
    with tracker.engine.begin() as conn:
        conn.execute(tracker.table.insert(), rows)
    tracker.close()


async def timed(settings: Settings) -> list[tuple[str, int, float]]:
    async with TestClient(TestServer(create_app(settings))) as client:
        status, _ = await log_in(client, "lars", ANALYST_PASSWORD, "/analyse")
        if status != 303:
            raise RuntimeError(f"analyst login failed: {status}")
        found = []
        for path in PAGES:
            started = time.perf_counter()
            async with client.get(path, timeout=3600) as response:
                await response.read()
                found.append((path, response.status, time.perf_counter() - started))
        return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--conversations", type=int, default=700)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="analyst-pages-") as directory:
        tmp = Path(directory)
        accounts = tmp / "accounts.yml"
        write_accounts(accounts)
        url = f"sqlite:///{tmp / 'tracker.db'}"
        started = time.perf_counter()
        seed(url, args.conversations, args.messages, args.seed)
        print(
            f"seeded {args.conversations} conversations, {args.messages} messages "
            f"in {time.perf_counter() - started:.1f} s"
        )
        settings = Settings(
            database_url=f"sqlite:///{tmp / 'drafts.db'}",
            key=Fernet.generate_key(),
            accounts_file=str(accounts),
            session_key=Fernet.generate_key(),
            tracker_database_url=url,
            analytics_database_url=None,
        )
        for path, status, seconds in asyncio.run(timed(settings)):
            print(f"{path:30} {status}  {seconds:8.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
