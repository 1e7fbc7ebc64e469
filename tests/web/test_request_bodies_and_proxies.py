"""What the web app refuses before reading a body, and whose address it sees behind a proxy.

aiohttp 3.9.5 (held there by Rasa 3.6) inflates a compressed request body before the 16 KiB
limit applies and reads a multipart form without a limit (security/advisories.yml): the
web app does not inflate bodies and refuses both kinds before any handler reads them.
Behind a TLS proxy every request comes from the proxy: with TRAENINGSGUIDEN_TRUSTED_PROXIES
the rate limit and the login throttle count the citizen's address from X-Forwarded-For.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.config import Settings
from tests.web.test_auth import login_csrf
from tests.web.test_chat import SENDER, FakeRasa, post, run

BOMB = gzip.compress(b" " * (64 * 1024 * 1024))  # 64 MiB of spaces in about 64 KiB


def test_a_compressed_body_is_refused_in_danish_without_being_inflated(tmp_path: Path) -> None:
    rasa = FakeRasa()

    async def scenario(client: TestClient) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
        async with client.post("/api/besked", data=BOMB, headers=headers) as response:
            return response.status, await response.json()

    status, answer = run(tmp_path, scenario, rasa=rasa)
    assert status == 415
    assert "komprimerede" in answer["messages"][0]["text"]
    assert rasa.received == []


def test_a_small_compressed_message_is_refused_too_not_read(tmp_path: Path) -> None:
    rasa = FakeRasa()
    body = gzip.compress(json.dumps({"sender": SENDER, "message": "hej"}).encode())

    async def scenario(client: TestClient) -> int:
        headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
        async with client.post("/api/besked", data=body, headers=headers) as response:
            return response.status

    assert run(tmp_path, scenario, rasa=rasa) == 415
    assert rasa.received == []


def test_a_multipart_login_is_refused_before_the_form_is_read(tmp_path: Path) -> None:
    async def scenario(client: TestClient) -> int:
        token = await login_csrf(client)
        boundary = "grænse"
        parts = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="username"\r\n\r\n{"x" * 200_000}\r\n'
            f"--{boundary}--\r\n"
        ).encode()
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        async with client.post("/login", data=parts, headers=headers) as response:
            return response.status

    assert run(tmp_path, scenario) == 415


def test_identity_encoding_is_an_ordinary_message(tmp_path: Path) -> None:
    rasa = FakeRasa()

    async def scenario(client: TestClient) -> int:
        return (
            await post(client, {"sender": SENDER, "message": "hej"}, headers={"Content-Encoding": "identity"})
        )[0]

    assert run(tmp_path, scenario, rasa=rasa) == 200


def statuses_from(addresses: list[str], **config: Any) -> tuple[list[int], FakeRasa]:
    rasa = FakeRasa()

    async def scenario(client: TestClient) -> list[int]:
        got = []
        for n, address in enumerate(addresses):
            headers = {
                "Content-Type": "application/json",
                **({"X-Forwarded-For": address} if address else {}),
            }
            body = json.dumps({"sender": SENDER, "message": f"hej {n}"})
            async with client.post("/api/besked", data=body, headers=headers) as response:
                got.append(response.status)
        return got

    return run(Path(config.pop("tmp_path")), scenario, rasa=rasa, rate_limit_per_minute=2, **config), rasa


def test_behind_a_trusted_proxy_each_citizen_has_a_rate_limit_of_their_own(tmp_path: Path) -> None:
    citizens = ["203.0.113.5", "203.0.113.5", "203.0.113.6", "203.0.113.6", "203.0.113.5"]
    got, rasa = statuses_from(citizens, tmp_path=tmp_path, trusted_proxies=("127.0.0.1",))
    assert got == [200, 200, 200, 200, 429]
    assert len(rasa.received) == 4


def test_without_trusted_proxies_x_forwarded_for_is_ignored(tmp_path: Path) -> None:
    """A client cannot dodge the limit by inventing addresses."""
    got, _ = statuses_from(["203.0.113.5", "203.0.113.6", "203.0.113.7"], tmp_path=tmp_path)
    assert got == [200, 200, 429]


def test_a_request_not_from_the_trusted_proxy_is_refused(tmp_path: Path) -> None:
    """Trusting a proxy means the app is reached only through it: a direct request could forge the header."""
    got, rasa = statuses_from(["203.0.113.5", ""], tmp_path=tmp_path, trusted_proxies=("10.0.0.0/8",))
    assert got == [400, 400] and rasa.received == []


@pytest.mark.parametrize("value", ["127.0.0.1", "127.0.0.1, 10.0.0.0/8", "::1 192.168.1.0/24"])
def test_trusted_proxies_from_the_environment(value: str) -> None:
    settings = Settings.from_env({"TRAENINGSGUIDEN_TRUSTED_PROXIES": value})
    assert settings.trusted_proxies == tuple(value.replace(",", " ").split())


def test_a_trusted_proxy_that_is_not_an_address_stops_the_start() -> None:
    with pytest.raises(ValueError, match="TRAENINGSGUIDEN_TRUSTED_PROXIES"):
        Settings.from_env({"TRAENINGSGUIDEN_TRUSTED_PROXIES": "proxy.kommune.dk"})
