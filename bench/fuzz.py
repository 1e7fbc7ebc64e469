"""Hostile input at volume (issue 10): thousands of messages through the real bot, then a leak hunt.

    .venv/bin/python bench/fuzz.py [--messages 10000] [--concurrency 8] [--seed 10] [--max-minutes 60]

Starts the real action server, web app and Rasa on free localhost ports (`tests.live.Servers`),
then sends hostile messages (any unicode, control characters, RTL marks, 100 KB, markup, SQL- and
template-looking text, JSON-breaking quotes, malformed and nested `/inform{...}` payloads, hostile
metadata and bodies) in many conversations at once, half to Rasa's REST channel
(/webhooks/rest/webhook), half to our web app's /api/besked. Some conversations go all the way to
a saved draft with hostile text and CPR numbers in its fields. Every CPR number the fuzzer types
is remembered ("planted"); afterwards it looks for them in the bot's answers, the tracker store
(SQLite), the drafts database (decrypted), the servers' logs and the analyst pages (logged in as
an analyst, every page and every conversation's transcript).

Prints: messages sent, 5xx answers, empty answers, transport errors, unmasked CPR numbers per
place, msg/s and p50/p95 latency. Exits 1 if any check fails. Localhost only; bounded by the
message count and by --max-minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import json
import random
import re
import secrets
import sqlite3
import statistics
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # this checkout's bot/ and tests/, also when run as a script

import aiohttp  # noqa: E402
from cryptography.fernet import Fernet, InvalidToken  # noqa: E402

from bot.web import auth  # noqa: E402
from tests.live import Servers  # noqa: E402

ANALYST, ANALYST_PASSWORD = "fuzz-analyst", "en lang fuzz analyse kode"
ANALYST_PAGES = (
    "/analyse",
    "/analyse/tragt",
    "/analyse/ikke-forstaaet",
    "/analyse/samtaler",
    "/analyse/overblik.csv",
    "/analyse/tragt.csv",
    "/analyse/ikke-forstaaet.csv",
    "/analyse/samtaler.csv",
)
LONG = 100 * 1024

# --- hostile text -----------------------------------------------------------------------------

DANISH = (
    "ja", "nej", "ved ikke", "ja tak", "hej", "tak", "farvel", "hvorfor?", "tilbage", "dine svar",
    "start forfra", "stop", "tal med en medarbejder", "slet mit udkast", "Gem udkastet", "Ballerup",
    "80", "min søn på 8 har CP", "jeg er 80 og lige kommet hjem fra sygehuset", "hvornår er der skrald",
)  # fmt: skip
MARKUP = (
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "</textarea><svg onload=alert(1)>",
    "<b>fed</b>", "<!--", "<style>body{display:none}</style>", "javascript:alert(1)", "<a href='/udkast/x'>",
    "<script>", "]]>", "<?xml version='1.0'?>",
)  # fmt: skip
SQL = (
    "'; DROP TABLE events; --", '" OR 1=1 --', "1'); DELETE FROM drafts; --",
    "' UNION SELECT payload_encrypted FROM drafts --", "Robert'); DROP TABLE students;--",
)  # fmt: skip
TEMPLATE = (
    "{{ 7*7 }}", "{% raw %}", "{% endraw %}", "${7*7}", "#{7*7}", "{{ config }}", "{0.__class__}",
    "%s%s%s%n", "{fact}", "{refl}", "{{ range.constructor('return 1')() }}", "{% for x in () %}",
)  # fmt: skip
QUOTES = ('"', "'", '\\"', '"}', '"]}', "\\u0000", "\\", '"""', "`", "\\n", '{"', "'\"", "\\'")
CONTROL = (*(chr(c) for c in range(32)), "\x7f", "\x85", "\u2028", "\u2029", "\ufeff", "\u200b", "\ufffe")
RTL = ("\u200f", "\u202e", "\u202b", "\u2067", "\u061c", "\u200e")
PAYLOADS = (
    "/inform{", "/inform{}", '/inform{"fact": 1}', '/inform{"fact": "age", "choice": [1, 2]}',
    '/inform{"fact": {"a": {"b": {"c": []}}}}', '/inform{"fact": "age", "choice": 1e308}',
    '/inform{"fact": "age", "choice": -1}', '/inform{"fact": "municipality", "choice": null}',
    '/inform{"fact": "review", "choice": "save"}', '/correct{"fact": "person_name"}',
    '/correct{"fact": "__class__"}', "/restart", "/session_start", "/nlu_fallback", "/no_such_intent",
    "/inform[]", '/inform{"fact": "age"', "//", "/", "/delete_draft", '/handoff{"municipality": ["x"]}',
    '/inform{"fact": "person_name", "choice": "{{7*7}}"}', '/inform{"fact": "draft_consent", "choice": true}',
    '/inform{"fact": "who", "choice": {"$ne": 1}}', '/inform{"choice": "' + "x" * 3000 + '"}',
    "/inform" + '{"a": ' * 60 + "1" + "}" * 60, '/inform{"fact": "age", "choice": "8", "fact": "who"}',
)  # fmt: skip
RANGES = (  # blocks to draw "any unicode" from
    (0x20, 0x7E), (0xA0, 0x24F), (0x300, 0x36F), (0x370, 0x3FF), (0x590, 0x5FF), (0x600, 0x6FF),
    (0x900, 0x97F), (0x4E00, 0x4FFF), (0xAC00, 0xAD00), (0xE000, 0xE0FF), (0xFE00, 0xFE0F),
    (0xFF00, 0xFFEF), (0x1F300, 0x1F64F), (0x1D400, 0x1D4FF), (0x10FFF0, 0x10FFFD),
)  # fmt: skip
BAD_KOMMUNE = (["x"], "<script>", "../../etc/passwd", "ballerup\u202e", 7, {"a": 1}, "København", "aarhus")
FIELD_ANSWERS = {  # a draft step's ordinary answer (None: a hostile text with a CPR number instead)
    "person_name": "Test Person",
    "date_of_birth": "1.2.1950",
    "phone": "12 34 56 78",
    "email": "spring over",
    "need_description": None,
    "diagnoses": None,
    "current_care": "nej",
    "training_method": "ABM-metoden",
    "review": "Gem udkastet",
}
ROUTES = (  # first message and the answers that lead to an offer (a draft follows)
    ("jeg er 80 og lige kommet hjem fra sygehuset", {"rehab_plan": "ja", "municipality": "Ballerup"}),
    (
        "min søn på 8 har cerebral parese, kan han få træning?",
        {
            "hospital_stay": "nej",
            "special_training_need": "ja",
            "school_trains": "nej",
            "municipality": "Hjørring",
        },
    ),
)


def cpr_number(rng: random.Random) -> str:
    """A CPR number with a real date and a 7th digit that fits its century (10 digits)."""
    while True:
        year = rng.randint(1900, 2056)
        if year < 2000:
            digit7 = rng.choice("0123")
        elif year <= 2036:
            digit7 = rng.choice("49")
        else:
            digit7 = rng.choice("5678")
        day = dt.date(year, 1, 1) + dt.timedelta(days=rng.randrange(365))
        number = f"{day:%d%m}{year % 100:02d}{digit7}{rng.randrange(1000):03d}"
        if number[:2] != "00":
            return number


def spelled(cpr: str, rng: random.Random) -> str:
    return rng.choice((f"{cpr[:6]}-{cpr[6:]}", cpr, f"{cpr[:6]} {cpr[6:]}"))


class Hostile:
    """Hostile messages from one seeded random source; remembers every CPR number it typed."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.planted: set[str] = set()

    def cpr(self) -> str:
        number = cpr_number(self.rng)
        self.planted.add(number)
        return spelled(number, self.rng)

    def unicode(self, length: int) -> str:
        rng = self.rng
        return "".join(chr(rng.randint(*rng.choice(RANGES))) for _ in range(length))

    def short(self) -> str:
        """A short hostile text of one kind (no CPR number)."""
        rng = self.rng
        kind = rng.randrange(8)
        if kind == 0:
            return self.unicode(rng.randint(1, 40))
        if kind == 1:
            return "".join(rng.choice((*CONTROL, "a", "ø", " ")) for _ in range(rng.randint(1, 20)))
        if kind == 2:
            return f"{rng.choice(RTL)}{rng.choice(DANISH)}{rng.choice(RTL)}"
        if kind == 3:
            return rng.choice(MARKUP)
        if kind == 4:
            return rng.choice(SQL)
        if kind == 5:
            return rng.choice(TEMPLATE)
        if kind == 6:
            return "".join(rng.choice(QUOTES) for _ in range(rng.randint(1, 6)))
        return rng.choice(DANISH)

    def with_cpr(self) -> str:
        """A hostile text with a CPR number inside (never next to a digit)."""
        return f"{self.short()} cpr {self.cpr()} {self.short()}"

    def message(self, *, for_web: bool) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.12:
            return self.with_cpr()
        if roll < 0.24:
            payload = rng.choice(PAYLOADS)
            if rng.random() < 0.3:  # a CPR number as a JSON number, or inside a payload's string
                number = cpr_number(rng)
                self.planted.add(number)
                value = number if number[0] != "0" else f'"{number}"'
                payload = f'/inform{{"fact": "{rng.choice(("person_name", "age", "need_description"))}", "choice": {value}}}'
            return payload
        if roll < 0.26:  # 100 KB (the web app refuses it with 413, Rasa reads it)
            part = self.short() + " "  # 100 KB of characters, at most 400 KB of UTF-8 (aiohttp warns at 1 MB)
            return (part * (LONG // len(part) + 1))[:LONG] if rng.random() < 0.5 else self.unicode(LONG // 4)
        if roll < 0.30:
            return rng.choice(("", " ", "\n", "\u200b", "\u202e", "\x00"))
        if roll < 0.40:
            return rng.choice(DANISH)
        return " ".join(self.short() for _ in range(rng.randint(1, 4)))

    def metadata(self) -> dict[str, Any]:
        """Rasa REST metadata: usually none, sometimes hostile (wrong types, nesting, a CPR as a key)."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.85:
            return {}
        cpr = cpr_number(rng)
        self.planted.add(cpr)
        nested: Any = "bund"
        for _ in range(40):
            nested = {"a": nested}
        return rng.choice(
            (
                {"municipality": ["x"]},
                {"municipality": "ballerup"},
                {"channel": "staff", "staff_initials": "<script>"},
                {"channel": {"$ne": 1}},
                {cpr: "x"},
                {"note": cpr},
                {"deep": nested},
                {"municipality": None, "channel": 7},
            )
        )


# --- the run -----------------------------------------------------------------------------------


@dataclasses.dataclass
class Figures:
    """What the run counted; `failures()` names every check that failed."""

    requested: int
    sent: int = 0
    conversations: int = 0
    drafts_saved: int = 0
    server_errors: int = 0  # 5xx
    empty_answers: int = 0
    transport_errors: int = 0  # timeouts, refused connections
    client_errors: int = 0  # 4xx from the web app (too long, bad body): expected, reported
    planted: int = 0
    unmasked: dict[str, int] = dataclasses.field(default_factory=dict)
    latencies: list[float] = dataclasses.field(default_factory=list)
    seconds: float = 0.0
    stopped_by_time: bool = False
    examples: list[str] = dataclasses.field(default_factory=list)
    analyst_errors: int = 0  # pages that timed out or answered other than 200/404
    slowest_page: float = 0.0

    def note(self, what: str) -> None:
        if len(self.examples) < 20:
            self.examples.append(what[:300])

    def failures(self) -> list[str]:
        found = [
            f"{name}: {count}"
            for name, count in (
                ("5xx answers", self.server_errors),
                ("empty answers", self.empty_answers),
                ("transport errors", self.transport_errors),
                ("analyst pages failed", self.analyst_errors),
                *((f"unmasked CPR numbers in {place}", n) for place, n in self.unmasked.items()),
            )
            if count
        ]
        if self.sent < self.requested:
            found.append(f"only {self.sent} of {self.requested} messages sent (time limit)")
        if not self.planted:
            found.append("no CPR number was planted: the leak checks checked nothing")
        return found

    def report(self) -> str:
        lat = sorted(self.latencies) or [0.0]
        p50 = statistics.median(lat)
        p95 = lat[min(len(lat) - 1, int(0.95 * len(lat)))]
        rate = self.sent / self.seconds if self.seconds else 0.0
        lines = [
            f"messages sent            {self.sent} (requested {self.requested}) in {self.conversations} conversations",
            f"drafts saved             {self.drafts_saved}",
            f"5xx answers              {self.server_errors}",
            f"empty answers            {self.empty_answers}",
            f"transport errors         {self.transport_errors}",
            f"4xx (refused, expected)  {self.client_errors}",
            f"CPR numbers planted      {self.planted}",
            *(f"unmasked CPR, {place:<12} {n}" for place, n in self.unmasked.items()),
            f"throughput               {rate:.1f} msg/s over {self.seconds:.0f} s",
            f"latency p50 / p95        {p50 * 1000:.0f} / {p95 * 1000:.0f} ms",
            f"analyst pages            {self.analyst_errors} failed, slowest {self.slowest_page:.1f} s",
        ]
        failures = self.failures()
        lines.append(
            "RESULT                   " + ("ok" if not failures else "FAILED: " + "; ".join(failures))
        )
        lines += [f"  example: {e}" for e in self.examples]
        return "\n".join(lines)


def texts_of(messages: Any) -> str:
    """Every text of an answer joined (one message per reply or text and custom apart: both work)."""
    if not isinstance(messages, list):
        return ""
    return "\n".join(m["text"] for m in messages if isinstance(m, dict) and isinstance(m.get("text"), str))


def customs(messages: Any, key: str) -> list[Any]:
    if not isinstance(messages, list):
        return []
    return [m["custom"][key] for m in messages if isinstance(m, dict) and isinstance(m.get("custom"), dict) and key in m["custom"]]  # fmt: skip


class Fuzzer:
    def __init__(self, servers: Servers, figures: Figures, hostile: Hostile, deadline: float) -> None:
        self.servers = servers
        self.figures = figures
        self.hostile = hostile
        self.deadline = deadline
        self.answers: list[str] = []  # every answer's JSON, searched for CPR numbers afterwards
        self.senders: set[str] = set()
        self._next = 0

    def _take(self) -> bool:
        """One more message may be sent (count and time bound)."""
        if self.figures.sent >= self.figures.requested:
            return False
        if time.monotonic() > self.deadline:
            self.figures.stopped_by_time = True
            return False
        self.figures.sent += 1
        return True

    async def send(self, session: aiohttp.ClientSession, web: bool, sender: str, message: str) -> Any:
        """One message to Rasa's REST channel or to /api/besked; the answer's messages (or None)."""
        h = self.hostile
        if web:
            url = f"http://127.0.0.1:{self.servers.web_port}/api/besked"
            body: Any = {"sender": sender, "message": message}
            if h.rng.random() < 0.1:
                body["kommune"] = h.rng.choice(BAD_KOMMUNE)
            data = json.dumps(body, ensure_ascii=len(message) < 2000 and h.rng.random() < 0.5).encode()
            if h.rng.random() < 0.02:  # a broken body now and then
                data = h.rng.choice(
                    (b"{", b"[]", b"\xff\xfe", b'{"sender": 1}', b"null", data[: len(data) // 2])
                )
        else:
            url = f"http://127.0.0.1:{self.servers.rasa_port}/webhooks/rest/webhook"
            body = {"sender": sender, "message": message, "metadata": h.metadata()}
            data = json.dumps(body, ensure_ascii=False).encode()
        started = time.perf_counter()
        try:
            async with session.post(url, data=data, headers={"Content-Type": "application/json"}) as response:
                raw = await response.read()
                status = response.status
        except (aiohttp.ClientError, asyncio.TimeoutError) as e:
            self.figures.transport_errors += 1
            self.figures.note(f"transport error {type(e).__name__} on {url}")
            return None
        self.figures.latencies.append(time.perf_counter() - started)
        try:
            answer = json.loads(raw)
        except ValueError:
            answer = None
        self.answers.append(raw.decode("utf-8", "replace"))
        if status >= 500:
            self.figures.server_errors += 1
            self.figures.note(f"{status} from {url} for {message[:80]!r}: {raw[:200]!r}")
            return None
        messages = answer.get("messages") if web and isinstance(answer, dict) else answer
        if not texts_of(messages).strip():
            self.figures.empty_answers += 1
            self.figures.note(f"empty answer ({status}) from {url} for {message[:80]!r}: {raw[:200]!r}")
        if 400 <= status < 500:
            self.figures.client_errors += 1
            return None
        return messages

    def _sender(self, web: bool) -> str:
        self._next += 1
        if web:
            sender = secrets.token_urlsafe(18)
            self.senders.add(f"web-{sender}")
            return sender
        if self.hostile.rng.random() < 0.03:  # hostile ids on Rasa's own channel
            sender = self.hostile.rng.choice(
                ("'; DROP TABLE events; --", "<b>x</b>", "ü ñ 😀", "{{7*7}}")
            ) + str(self._next)
        else:
            sender = f"fuzz-{self._next}-{secrets.token_hex(4)}"
        self.senders.add(sender)
        return sender

    async def conversation(self, session: aiohttp.ClientSession, web: bool) -> None:
        """A random conversation, or one guided to a saved draft with hostile messages between."""
        h = self.hostile
        sender = self._sender(web)
        self.figures.conversations += 1
        if h.rng.random() < 0.6:
            for _ in range(h.rng.randint(3, 15)):
                if not self._take():
                    return
                await self.send(session, web, sender, h.message(for_web=web))
            return
        first, answers = h.rng.choice(ROUTES)
        if not self._take():
            return
        messages = await self.send(session, web, sender, first)
        for _ in range(45):
            if customs(messages, "draft"):
                self.figures.drafts_saved += 1
                return
            if not self._take():
                return
            questions = customs(messages, "question")
            if h.rng.random() < 0.25 or not questions:
                message = h.message(for_web=web)
            else:
                message = self._answer(questions[-1], answers)
            messages = await self.send(session, web, sender, message)

    def _answer(self, question: dict[str, Any], answers: dict[str, str]) -> str:
        h = self.hostile
        fact = str(question.get("fact"))
        if fact in answers:
            return answers[fact]
        if fact in FIELD_ANSWERS:
            return FIELD_ANSWERS[fact] or h.with_cpr()
        if fact == "age":
            return "80"
        options = [o.get("label") for o in question.get("options") or [] if isinstance(o, dict)]
        if fact in ("draft_offer", "draft_consent", "municipality_may_obtain"):
            return "ja"
        return str(h.rng.choice(options)) if options else "ved ikke"

    async def run(self, concurrency: int) -> None:
        timeout = aiohttp.ClientTimeout(total=180)
        async with aiohttp.ClientSession(timeout=timeout) as session:

            async def worker(i: int) -> None:
                web = i % 2 == 1
                while self.figures.sent < self.figures.requested and time.monotonic() < self.deadline:
                    await self.conversation(session, web)
                    web = not web

            await asyncio.gather(*(worker(i) for i in range(concurrency)))


# --- the leak hunt ------------------------------------------------------------------------------

_WINDOWS = re.compile(r"(?=(\d{6}[-\s]?\d{4}))")


def unmasked(texts: Iterable[str], planted: set[str]) -> list[str]:
    """The planted CPR numbers found in `texts` (in any of the spellings typed)."""
    found: set[str] = set()
    for text in texts:
        for window in _WINDOWS.findall(text):
            digits = re.sub(r"\D", "", window)
            if digits in planted:
                found.add(digits)
    return sorted(found)


def tracker_texts(path: Path) -> list[str]:
    with sqlite3.connect(path) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return [" ".join(map(str, row)) for table in tables for row in db.execute(f'SELECT * FROM "{table}"')]


def draft_texts(path: Path, key: str) -> tuple[list[str], int]:
    """Every row of the drafts database, its encrypted columns decrypted; and how many drafts."""
    if not path.exists():
        return [], 0
    fernet = Fernet(key.encode())
    found: list[str] = []
    drafts = 0
    with sqlite3.connect(path) as db:
        db.row_factory = sqlite3.Row
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for row in db.execute(f'SELECT * FROM "{table}"'):
                values = dict(row)
                if "payload_encrypted" in values:
                    drafts += 1
                for name, value in values.items():
                    found.append(str(value))
                    if name.endswith("_encrypted") and isinstance(value, str):
                        try:
                            found.append(fernet.decrypt(value.encode()).decode("utf-8"))
                        except InvalidToken:
                            found.append(f"undecryptable {name}")
    return found, drafts


async def analyst_pages(base: str, senders: Iterable[str], figures: Figures) -> list[str]:
    """Every analyst page and every conversation's transcript, logged in as an analyst.

    A page that does not answer within 10 minutes is a failure (the first 10,000-message run
    waited 120 s for the overview in vain), as is any status but 200 and 404."""
    jar = aiohttp.CookieJar(unsafe=True)  # cookies for 127.0.0.1
    async with aiohttp.ClientSession(
        base, cookie_jar=jar, timeout=aiohttp.ClientTimeout(total=600)
    ) as session:
        async with session.get("/login") as response:
            token = re.search(r'name="csrf_token" value="([^"]+)"', await response.text())
        if token is None:
            raise RuntimeError("no login form")
        form = {"csrf_token": token.group(1), "username": ANALYST, "password": ANALYST_PASSWORD}
        async with session.post("/login", data=form, allow_redirects=False) as response:
            if response.status != 303:
                raise RuntimeError(f"analyst login failed: {response.status}")
        paths = [*ANALYST_PAGES]
        paths += [
            f"/analyse/samtaler/{urllib.parse.quote(s, safe='')}" for s in sorted(senders) if "/" not in s
        ]
        pages: list[str] = []
        limit = asyncio.Semaphore(4)

        async def get(path: str) -> None:
            started = time.perf_counter()
            try:
                async with limit, session.get(path, allow_redirects=False) as response:
                    pages.append(await response.text(errors="replace"))
                    if response.status not in (200, 404):
                        figures.analyst_errors += 1
                        figures.note(f"analyst page {path}: {response.status}")
            except (aiohttp.ClientError, asyncio.TimeoutError) as e:
                figures.analyst_errors += 1
                figures.note(f"analyst page {path}: {type(e).__name__}")
            figures.slowest_page = max(figures.slowest_page, time.perf_counter() - started)

        await asyncio.gather(*(get(p) for p in paths))
        return pages


def run(messages: int, *, concurrency: int, seed: int, max_minutes: float, workdir: Path) -> Figures:
    """Start the servers, fuzz, hunt for leaks; the figures (servers stopped at the end)."""
    accounts = workdir / "accounts.yml"
    auth.save_accounts(
        accounts,
        {
            ANALYST: auth.Account(
                ANALYST, "Fuzz Analytiker", "FA", frozenset({"analyst"}), auth.hash_password(ANALYST_PASSWORD)
            )
        },
    )
    servers = Servers(
        workdir,
        {
            "TRAENINGSGUIDEN_ACCOUNTS": str(accounts),
            "TRAENINGSGUIDEN_SESSION_KEY": Fernet.generate_key().decode(),
            "TRAENINGSGUIDEN_RATE_LIMIT_PER_MINUTE": "1000000",  # one client sends everything here
        },
    )
    figures = Figures(requested=messages)
    hostile = Hostile(seed)
    with servers.running():
        fuzzer = Fuzzer(servers, figures, hostile, time.monotonic() + max_minutes * 60)
        started = time.monotonic()
        asyncio.run(fuzzer.run(concurrency))
        figures.seconds = time.monotonic() - started
        figures.planted = len(hostile.planted)  # so far: the interim report's check is not a false failure
        print(figures.report(), flush=True)  # the sending figures, before the leak hunt
        pages = asyncio.run(analyst_pages(f"http://127.0.0.1:{servers.web_port}", fuzzer.senders, figures))
    figures.planted = len(hostile.planted)
    drafts, figures.drafts_saved = draft_texts(workdir / "drafts.db", servers.draft_key)
    logs = [p.read_text(encoding="utf-8", errors="replace") for p in sorted(workdir.glob("*.log"))]
    places = {
        "answers": fuzzer.answers,
        "tracker": tracker_texts(servers.tracker_db),
        "drafts": drafts,
        "logs": logs,
        "analyst": pages,
    }
    for place, texts in places.items():
        found = unmasked(texts, hostile.planted)
        figures.unmasked[place] = len(found)
        for cpr in found[:3]:
            where = next(t for t in texts if cpr[:6] in t and cpr[6:] in t)
            at = max(where.find(cpr[:6]) - 120, 0)
            figures.examples.insert(0, f"{place}: {cpr} in …{where[at : at + 260]!r}")
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seed", type=int, default=10)
    parser.add_argument("--max-minutes", type=float, default=60.0)
    parser.add_argument("--keep", type=Path, default=None, help="work directory to keep (logs, databases)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fuzz-") as tmp:
        workdir = args.keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        print(
            f"fuzz: {args.messages} messages, concurrency {args.concurrency}, seed {args.seed}, in {workdir}",
            flush=True,
        )
        figures = run(
            args.messages,
            concurrency=args.concurrency,
            seed=args.seed,
            max_minutes=args.max_minutes,
            workdir=workdir,
        )
    print(figures.report(), flush=True)
    return 1 if figures.failures() else 0


if __name__ == "__main__":
    sys.exit(main())
