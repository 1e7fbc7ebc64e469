"""The chat endpoints (bot.web.chat) through the real aiohttp app, with a stand-in Rasa REST server.

The stand-in is a small aiohttp app on localhost that records what it is sent and
answers like Rasa's REST channel; the browser tests use the real Rasa.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import sqlite3
import time
from pathlib import Path
from typing import Any, Awaitable, Callable, TypeVar

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from cryptography.fernet import Fernet

from bot.config import Settings
from bot.errors import BotUnavailableError, DataFileError
from bot.web import chat
from bot.web.app import create_app
from tests.web.test_auth import STAFF_PASSWORD, log_in, write_accounts

T = TypeVar("T")
SENDER = "s" * 32
QUESTION = [  # one message per reply (bot/rasa_channel.py): text, buttons and custom together
    {"recipient_id": "x", "text": "Det kan jeg ikke svare på.", "image": "https://x.dk/a.png"},
    {
        "recipient_id": "x",
        "text": "Hvor gammel er du?\n\nSkriv et tal.",
        "buttons": [{"title": "Ja", "payload": "/affirm"}],
        "custom": {"question": {"fact": "age", "kind": "number", "options": []}, "staff": {"facts": []}, "secret": 1},
    },
]


class FakeRasa:
    """Answers POST /webhooks/rest/webhook with `reply` after `delay` seconds; keeps the bodies."""

    def __init__(self, reply: Any = None, *, delay: float = 0.0, status: int = 200) -> None:
        self.reply = QUESTION if reply is None else reply
        self.delay = delay
        self.status = status
        self.received: list[dict[str, Any]] = []
        self.peers: list[Any] = []  # the web app's (address, port) per request: which connection it used

    def app(self) -> web.Application:
        async def webhook(request: web.Request) -> web.Response:
            self.received.append(await request.json())
            self.peers.append(request.transport.get_extra_info("peername") if request.transport else None)
            await asyncio.sleep(self.delay)
            return web.json_response(self.reply, status=self.status)

        app = web.Application()
        app.router.add_post("/webhooks/rest/webhook", webhook)
        return app


def run(
    tmp_path: Path,
    scenario: Callable[[TestClient], Awaitable[T]],
    *,
    rasa: FakeRasa | None = None,
    **config: Any,
) -> T:
    accounts = tmp_path / "accounts.yml"
    if not accounts.exists():
        write_accounts(accounts)

    async def main(down: socket.socket) -> T:
        rasa_url = f"http://127.0.0.1:{down.getsockname()[1]}"  # nothing listens: the bot is down
        server = None
        if rasa is not None:
            server = TestServer(rasa.app())
            await server.start_server()
            rasa_url = str(server.make_url("")).rstrip("/")
        settings = Settings(
            database_url=f"sqlite:///{tmp_path / 'drafts.db'}",
            key=Fernet.generate_key(),
            accounts_file=str(accounts),
            session_key=Fernet.generate_key(),
            rasa_url=rasa_url,
            **config,
        )
        try:
            async with TestClient(TestServer(create_app(settings))) as client:
                return await scenario(client)
        finally:
            if server is not None:
                await server.close()

    with socket.socket() as down:  # bound, never listening: refused, and no one else can take the port
        down.bind(("127.0.0.1", 0))
        return asyncio.run(main(down))


async def post(client: TestClient, body: Any, **kwargs: Any) -> tuple[int, dict[str, str], Any]:
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    headers = {"Content-Type": "application/json", **kwargs.pop("headers", {})}
    async with client.post("/api/besked", data=data, headers=headers, **kwargs) as response:
        return response.status, dict(response.headers), await response.json()


def test_messages_go_to_rasa_with_metadata_set_by_the_server(tmp_path: Path) -> None:
    rasa = FakeRasa()

    async def scenario(client: TestClient) -> Any:
        body = {"sender": SENDER, "message": "hej", "kommune": "aarhus", "metadata": {"channel": "staff"}}
        return await post(client, body)

    status, _, answer = run(tmp_path, scenario, rasa=rasa)
    assert status == 200
    assert rasa.received == [
        {"sender": f"web-{SENDER}", "message": "hej", "metadata": {"channel": "citizen", "municipality": "aarhus"}}
    ]
    assert answer["messages"] == [
        {"text": "Det kan jeg ikke svare på."},
        {
            "text": "Hvor gammel er du?\n\nSkriv et tal.",
            "buttons": [{"title": "Ja", "payload": "/affirm"}],
            "custom": {"question": {"fact": "age", "kind": "number", "options": []}},
        },
    ], "one message per reply kept together; custom.staff and unknown keys never reach a citizen"


def test_a_connection_to_rasa_is_reused_only_while_rasa_keeps_it_open(tmp_path: Path) -> None:
    """Rasa's server (Sanic) closes a connection idle for 5 s; reusing one just as it closes loses
    the message ("Server disconnected"). The web app keeps an idle connection RASA_KEEPALIVE_S."""
    rasa = FakeRasa()

    async def scenario(client: TestClient) -> None:
        for pause in (0.0, 0.0, chat.RASA_KEEPALIVE_S + 0.5):
            await asyncio.sleep(pause)
            status, _, _ = await post(client, {"sender": SENDER, "message": "hej"})
            assert status == 200

    run(tmp_path, scenario, rasa=rasa)
    assert chat.RASA_KEEPALIVE_S < 5.0  # Sanic 21.12's KEEP_ALIVE_TIMEOUT, which Rasa 3.6 keeps
    first, second, third = rasa.peers
    assert first == second  # one connection while messages follow each other
    assert third != second  # after a longer pause, a new one: never one Rasa may be closing


def test_an_unknown_municipality_is_left_out_and_the_deployments_own_wins(tmp_path: Path) -> None:
    rasa = FakeRasa()

    async def scenario(client: TestClient) -> None:
        await post(client, {"sender": SENDER, "message": "hej", "kommune": "atlantis"})

    run(tmp_path, scenario, rasa=rasa)
    run(tmp_path, scenario, rasa=rasa, municipality="ballerup")
    assert [r["metadata"] for r in rasa.received] == [
        {"channel": "citizen"},
        {"channel": "citizen", "municipality": "ballerup"},
    ]


@pytest.mark.parametrize(
    ("rasa", "config"),
    [
        (None, {}),
        (FakeRasa(delay=2.0), {"rasa_timeout_seconds": 0.3}),
        (FakeRasa(status=500), {}),
        (FakeRasa(reply=[]), {}),
        (FakeRasa(reply={"not": "a list"}), {}),
    ],
    ids=["refused", "timeout", "http-500", "silent", "nonsense"],
)
def test_bot_down_answers_in_danish_with_the_phone_number(
    tmp_path: Path, rasa: FakeRasa | None, config: dict[str, Any]
) -> None:
    async def scenario(client: TestClient) -> Any:
        return await post(client, {"sender": SENDER, "message": "hej", "kommune": "broenderslev"})

    status, _, answer = run(tmp_path, scenario, rasa=rasa, **config)
    assert status == 503
    [message] = answer["messages"]
    assert message["error"] is True
    assert "kan ikke svare lige nu" in message["text"] and "99 45 44 20" in message["text"]


def test_bot_down_without_a_known_phone_number_says_where_to_find_it() -> None:
    assert "kommunens hjemmeside" in chat.bot_down_text(None)
    assert "89 40 14 41" in chat.bot_down_text("aarhus")  # only the children's contact has a phone


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("not json", 400),
        (["a", "list"], 400),
        ({"sender": "short", "message": "hej"}, 400),
        ({"sender": "../../etc/passwd" + "x" * 20, "message": "hej"}, 400),
        ({"sender": SENDER, "message": "   "}, 400),
        ({"sender": SENDER, "message": 7}, 400),
        ({"sender": SENDER, "message": "x" * 2001}, 413),
        ({"sender": SENDER, "message": "x" * 20_000}, 413),
    ],
    ids=["not-json", "list", "short-sender", "odd-sender", "blank", "not-text", "too-long", "too-large"],
)
def test_bad_requests_get_a_danish_answer_and_never_reach_rasa(tmp_path: Path, body: Any, status: int) -> None:
    rasa = FakeRasa()

    async def scenario(client: TestClient) -> Any:
        return await post(client, body)

    got, _, answer = run(tmp_path, scenario, rasa=rasa)
    assert got == status and answer["messages"][0]["error"] is True
    assert re.search(r"[æøå]|Beskeden|besked", answer["messages"][0]["text"])
    assert rasa.received == []


def test_rate_limit_answers_429_with_retry_after_in_danish(tmp_path: Path) -> None:
    rasa = FakeRasa()

    async def scenario(client: TestClient) -> list[tuple[int, dict[str, str], Any]]:
        return [await post(client, {"sender": SENDER, "message": f"hej {n}"}) for n in range(4)]

    answers = run(tmp_path, scenario, rasa=rasa, rate_limit_per_minute=3)
    assert [a[0] for a in answers] == [200, 200, 200, 429]
    _, headers, body = answers[3]
    assert 1 <= int(headers["Retry-After"]) <= 60
    assert "Prøv igen om lidt" in body["messages"][0]["text"]
    assert len(rasa.received) == 3


def test_the_sliding_window_forgets_old_hits_and_idle_clients() -> None:
    now = [0.0]
    limiter = chat.RateLimiter(2, window=60, clock=lambda: now[0], max_keys=2)
    assert limiter.hit("a") is None and limiter.hit("a") is None
    assert limiter.hit("a") == pytest.approx(60)
    now[0] = 30
    assert limiter.hit("a") == pytest.approx(30)
    now[0] = 60.5
    assert limiter.hit("a") is None  # the first hit left the window
    limiter.hit("b")
    now[0] = 200
    limiter.hit("c")  # full: idle keys are dropped first
    assert set(limiter._hits) == {"c"}


def test_chat_page_csp_allows_own_scripts_only_and_configured_framing(tmp_path: Path) -> None:
    async def scenario(client: TestClient) -> tuple[dict[str, str], str, dict[str, str], dict[str, str]]:
        async with client.get("/chat?kommune=aarhus") as response:
            page_headers, html = dict(response.headers), await response.text()
        async with client.get("/static/chat.js") as response:
            assert response.status == 200
            js_headers = dict(response.headers)
        async with client.get("/embed.js") as response:
            embed_headers = dict(response.headers)
            assert "iframe" in await response.text()
        return page_headers, html, js_headers, embed_headers

    headers, html, js_headers, embed_headers = run(
        tmp_path, scenario, embed_origins=("https://www.aarhus.dk", "https://aarhus.dk")
    )
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "style-src 'self';" in csp and "connect-src 'self';" in csp
    assert "unsafe" not in csp
    assert csp.endswith("frame-ancestors https://www.aarhus.dk https://aarhus.dk")
    assert "X-Frame-Options" not in headers  # it cannot name two origins; CSP says it
    assert '<html lang="da">' in html and "<script>" not in html and " style=" not in html
    assert '<script type="application/json" id="chat-config">' in html
    assert '"kommune": "aarhus"' in html
    assert js_headers["X-Content-Type-Options"] == "nosniff"
    assert embed_headers["Cross-Origin-Resource-Policy"] == "cross-origin"


def test_without_embed_origins_nobody_frames_the_page(tmp_path: Path) -> None:
    async def scenario(client: TestClient) -> dict[str, str]:
        async with client.get("/") as response:
            return dict(response.headers)

    headers = run(tmp_path, scenario)
    assert headers["Content-Security-Policy"].endswith("frame-ancestors 'none'")
    assert headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("path", ["/chat", "/"])
def test_the_browser_gives_up_after_the_servers_rasa_timeout_and_a_margin(tmp_path: Path, path: str) -> None:
    """chat.js aborts at `timeout_ms`: later than this app's own answer when Rasa is slow."""

    async def scenario(client: TestClient) -> str:
        async with client.get(path) as response:
            return await response.text()

    for seconds in (12.0, 90.0):
        html = run(tmp_path, scenario, rasa_timeout_seconds=seconds)
        block = re.search(r'<script type="application/json" id="chat-config">(.*?)</script>', html, re.S)
        assert block is not None
        timeout_ms = json.loads(block.group(1))["timeout_ms"]
        assert timeout_ms == (seconds + chat.BROWSER_MARGIN_SECONDS) * 1000
    assert chat.BROWSER_MARGIN_SECONDS > 0


def test_page_settings_cannot_break_out_of_the_json_block() -> None:
    block = chat.json_block({"text": "</script><script>alert(1)</script> & <!--"})
    assert "<" not in block and ">" not in block and "&" not in block
    assert json.loads(str(block))["text"].startswith("</script>")


@pytest.mark.parametrize("origin", ["https://x.dk; script-src *", "javascript:alert(1)", "*"])
def test_embed_origins_are_checked_at_start(tmp_path: Path, origin: str) -> None:
    with pytest.raises(DataFileError):
        create_app(Settings(database_url=f"sqlite:///{tmp_path / 'd.db'}", embed_origins=(origin,)))


def test_clean_messages_refuses_nonsense() -> None:
    with pytest.raises(BotUnavailableError):
        chat.clean_messages([{"buttons": "no"}, 3], allowed_custom=chat.CITIZEN_CUSTOM)


def test_staff_chat_needs_login_and_csrf_and_sends_channel_staff_with_initials(tmp_path: Path) -> None:
    rasa = FakeRasa()

    async def scenario(client: TestClient) -> tuple[int, int, int, Any]:
        body = json.dumps({"sender": SENDER, "message": "hej"})
        json_type = {"Content-Type": "application/json"}
        async with client.get("/personale", allow_redirects=False) as response:
            anonymous_page = response.status
        async with client.post("/personale/api/besked", data=body, headers=json_type) as response:
            anonymous_api = response.status
        await log_in(client, "anne", STAFF_PASSWORD)
        async with client.get("/personale") as response:
            page = await response.text()
            assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        token = re.search(r'<meta name="csrf-token" content="([^"]+)">', page)
        assert token and "Anne Berg (AB)" in page
        async with client.post("/personale/api/besked", data=body, headers=json_type) as response:
            no_token = response.status
        headers = {**json_type, "X-CSRF-Token": token.group(1)}
        async with client.post("/personale/api/besked", data=body, headers=headers) as response:
            assert response.status == 200
            answer = await response.json()
        return anonymous_page, anonymous_api, no_token, answer

    anonymous_page, anonymous_api, no_token, answer = run(tmp_path, scenario, rasa=rasa)
    assert (anonymous_page, anonymous_api, no_token) == (303, 401, 403)
    assert [{**body, "sender": "?"} for body in rasa.received] == [
        {"sender": "?", "message": "hej", "metadata": {"channel": "staff", "staff_initials": "AB"}}
    ]
    assert re.fullmatch(r"staff-[0-9a-f]{32}", rasa.received[0]["sender"])  # made by the server
    assert answer["messages"][-1] == {
        "text": "Hvor gammel er du?\n\nSkriv et tal.",
        "buttons": [{"title": "Ja", "payload": "/affirm"}],
        "custom": {"question": {"fact": "age", "kind": "number", "options": []}, "staff": {"facts": []}},
    }


def test_staff_conversation_ids_are_made_by_the_server_and_bound_to_the_login(tmp_path: Path) -> None:
    """The page's id is ignored; "Start forfra" and a new login get a new id from the server."""
    rasa = FakeRasa()

    async def staff_token(client: TestClient) -> dict[str, str]:
        async with client.get("/personale") as response:
            found = re.search(r'<meta name="csrf-token" content="([^"]+)">', await response.text())
        assert found
        return {"Content-Type": "application/json", "X-CSRF-Token": found.group(1)}

    async def say(client: TestClient, headers: dict[str, str], body: dict[str, str]) -> None:
        async with client.post("/personale/api/besked", data=json.dumps(body), headers=headers) as response:
            assert response.status == 200

    async def scenario(client: TestClient) -> list[int]:
        await log_in(client, "anne", STAFF_PASSWORD)
        headers = await staff_token(client)
        await say(client, headers, {"sender": SENDER, "message": "hej"})
        await say(client, headers, {"sender": "t" * 32, "message": "67"})  # another page's id: ignored
        await say(client, headers, {"message": "ja"})  # the page need not send one
        statuses = []
        async with client.post("/personale/api/ny-samtale", headers={"X-CSRF-Token": "forkert"}) as response:
            statuses.append(response.status)
        async with client.post("/personale/api/ny-samtale", headers=headers) as response:
            statuses.append(response.status)
        await say(client, headers, {"message": "hej igen"})
        client.session.cookie_jar.clear()
        async with client.post("/personale/api/ny-samtale") as response:
            statuses.append(response.status)
        await log_in(client, "anne", STAFF_PASSWORD)  # the same staff member, a new login
        await say(client, await staff_token(client), {"sender": SENDER, "message": "hej"})
        return statuses

    assert run(tmp_path, scenario, rasa=rasa) == [403, 200, 401]
    senders = [body["sender"] for body in rasa.received]
    assert all(re.fullmatch(r"staff-[0-9a-f]{32}", sender) for sender in senders)
    assert f"staff-{SENDER}" not in senders
    assert senders[0] == senders[1] == senders[2]
    assert len({senders[0], senders[3], senders[4]}) == 3


def test_bot_down_names_the_municipality_answered_in_the_conversation(tmp_path: Path) -> None:
    """No kommune from the page, Rasa down: the number of the municipality the citizen answered,
    read from Rasa's tracker store (the live fault test kills the real Rasa)."""
    tracker = tmp_path / "tracker.db"
    with contextlib.closing(sqlite3.connect(tracker)) as db, db:
        db.execute(
            "CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT NOT NULL, type_name TEXT NOT NULL,"
            " timestamp REAL, intent_name TEXT, action_name TEXT, data TEXT)"
        )
        now = time.time()  # older conversations are deleted when the app starts (retention)
        facts = {"event": "slot", "name": "facts", "value": {"municipality": "broenderslev"}, "timestamp": now}
        db.execute(
            "INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (?, 'slot', ?, ?)",
            (f"web-{SENDER}", now, json.dumps(facts)),
        )

    async def scenario(client: TestClient) -> Any:
        return [
            await post(client, {"sender": SENDER, "message": "ja"}),
            await post(client, {"sender": "t" * 32, "message": "ja"}),  # another conversation: no municipality
        ]

    [(status, _, answer), (_, _, other)] = run(tmp_path, scenario, tracker_database_url=f"sqlite:///{tracker}")
    assert status == 503 and "ring til" in answer["messages"][0]["text"] and "99 45 44 20" in answer["messages"][0]["text"]
    assert other["messages"][0]["text"] == chat.bot_down_text(None)
