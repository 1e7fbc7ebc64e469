"""Accounts, login sessions, roles and CSRF (bot.web.auth) through the real aiohttp app."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Awaitable, Callable, TypeVar
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from cryptography.fernet import Fernet

from bot.config import Settings
from bot.web import auth
from bot.web.accounts import main as accounts_main
from bot.web.app import create_app

T = TypeVar("T")
PROJECT = Path(__file__).resolve().parents[2]
STAFF_PASSWORD = "korrekt hest batteri 1"
ANALYST_PASSWORD = "en anden lang kode 2"


def write_accounts(path: Path) -> None:
    auth.save_accounts(
        path,
        {
            "anne": auth.Account(
                "anne", "Anne Berg", "AB", frozenset({"staff"}), auth.hash_password(STAFF_PASSWORD)
            ),
            "lars": auth.Account(
                "lars", "Lars Holm", "LH", frozenset({"analyst"}), auth.hash_password(ANALYST_PASSWORD)
            ),
        },
    )


@auth.require_role("staff")
async def staff_page(request: web.Request) -> web.Response:
    user = await auth.current_user(request)
    assert user is not None
    return web.Response(text=f"staff:{user.initials}:{await auth.csrf_token(request)}")


@auth.require_role("analyst")
async def analyst_page(request: web.Request) -> web.Response:
    return web.Response(text="analyst")


def run(
    tmp_path: Path, scenario: Callable[[TestClient], Awaitable[T]], *, base_url: str = "http://127.0.0.1"
) -> T:
    accounts = tmp_path / "accounts.yml"
    if not accounts.exists():
        write_accounts(accounts)
    config = Settings(
        database_url=f"sqlite:///{tmp_path / 'drafts.db'}",
        base_url=base_url,
        key=Fernet.generate_key(),
        accounts_file=str(accounts),
        session_key=Fernet.generate_key(),
    )

    async def main() -> T:
        app = create_app(config)
        app.router.add_get("/test/staff", staff_page)
        app.router.add_post("/test/staff", staff_page)
        app.router.add_get("/test/analyst", analyst_page)
        async with TestClient(TestServer(app)) as client:
            return await scenario(client)

    return asyncio.run(main())


async def login_csrf(client: TestClient, path: str = "/login") -> str:
    async with client.get(path) as response:
        assert response.status == 200
        found = re.search(r'name="csrf_token" value="([^"]+)"', await response.text())
    assert found
    return found.group(1)


async def log_in(client: TestClient, username: str, password: str, next_path: str = "") -> tuple[int, str]:
    token = await login_csrf(client)
    form = {"csrf_token": token, "username": username, "password": password, "next": next_path}
    async with client.post("/login", data=form, allow_redirects=False) as response:
        return response.status, response.headers.get("Location", "")


def test_anonymous_is_sent_to_login_with_the_page_to_come_back_to(tmp_path: Path) -> None:
    async def scenario(client: TestClient) -> None:
        async with client.get("/test/staff?x=1", allow_redirects=False) as response:
            assert response.status == 303
            location = urlsplit(response.headers["Location"])
            assert (location.path, parse_qs(location.query)) == ("/login", {"next": ["/test/staff?x=1"]})
        async with client.post("/test/staff", allow_redirects=False) as response:
            assert response.status == 401

    run(tmp_path, scenario)


def test_login_page_is_danish_and_accessible_markup(tmp_path: Path) -> None:
    async def scenario(client: TestClient) -> None:
        async with client.get("/login") as response:
            page = await response.text()
        assert '<html lang="da">' in page
        assert '<label for="username">Brugernavn</label>' in page
        assert '<label for="password">Adgangskode</label>' in page
        assert 'autocomplete="current-password"' in page

    run(tmp_path, scenario)


def test_right_password_logs_in_and_returns_to_the_page(tmp_path: Path) -> None:
    async def scenario(client: TestClient) -> None:
        status, location = await log_in(client, "anne", STAFF_PASSWORD, "/test/staff")
        assert (status, location) == (303, "/test/staff")
        async with client.get("/test/staff") as response:
            assert response.status == 200
            assert (await response.text()).startswith("staff:AB:")

    run(tmp_path, scenario)


def test_wrong_password_and_unknown_user_get_the_same_danish_answer(tmp_path: Path) -> None:
    async def scenario(client: TestClient) -> list[str]:
        pages = []
        for username, password in (("anne", "forkert kode"), ("nobody", STAFF_PASSWORD)):
            token = await login_csrf(client)
            form = {"csrf_token": token, "username": username, "password": password}
            async with client.post("/login", data=form, allow_redirects=False) as response:
                assert response.status == 401
                pages.append(await response.text())
            async with client.get("/test/staff", allow_redirects=False) as response:
                assert response.status == 303
        return pages

    pages = run(tmp_path, scenario)
    assert all("Brugernavn eller adgangskode er forkert" in page for page in pages)
    assert all(STAFF_PASSWORD not in page for page in pages)


def test_importing_auth_computes_no_password_hash() -> None:
    """The hash verified for unknown usernames is made on first use, not when the module is imported."""
    code = (
        "import argon2\n"
        "def refuse(*args, **kwargs): raise SystemExit('hashed at import')\n"
        "argon2.PasswordHasher.hash = refuse\n"
        "import bot.web.auth\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_an_unknown_user_costs_a_verification_like_a_known_one() -> None:
    account = auth.Account(
        "anne", "Anne Berg", "AB", frozenset({"staff"}), auth.hash_password(STAFF_PASSWORD)
    )
    assert auth.verify_password(account, STAFF_PASSWORD)
    assert not auth.verify_password(account, "forkert")
    assert not auth.verify_password(None, STAFF_PASSWORD)
    assert auth.dummy_hash() is auth.dummy_hash() and auth.dummy_hash().startswith("$argon2")


def test_login_without_the_forms_csrf_token_is_refused(tmp_path: Path) -> None:
    async def scenario(client: TestClient) -> None:
        form = {"username": "anne", "password": STAFF_PASSWORD}
        async with client.post("/login", data=form, allow_redirects=False) as response:
            assert response.status == 403
        async with client.get("/test/staff", allow_redirects=False) as response:
            assert response.status == 303

    run(tmp_path, scenario)


def test_roles_are_separate(tmp_path: Path) -> None:
    async def scenario(client: TestClient) -> None:
        await log_in(client, "anne", STAFF_PASSWORD)
        async with client.get("/test/analyst") as response:
            assert response.status == 403
            assert "Ingen adgang" in await response.text()
        client.session.cookie_jar.clear()
        status, location = await log_in(client, "lars", ANALYST_PASSWORD)
        assert (status, location) == (303, "/analyse")  # the analyst's home page
        async with client.get("/test/analyst") as response:
            assert response.status == 200
        async with client.get("/test/staff") as response:
            assert response.status == 403

    run(tmp_path, scenario)


def test_unsafe_requests_need_the_sessions_csrf_token(tmp_path: Path) -> None:
    async def scenario(client: TestClient) -> None:
        await log_in(client, "anne", STAFF_PASSWORD)
        async with client.get("/test/staff") as response:
            token = (await response.text()).split(":")[2]
        async with client.post("/test/staff") as response:
            assert response.status == 403
        async with client.post("/test/staff", headers={auth.CSRF_HEADER: "wrong" + token}) as response:
            assert response.status == 403
        async with client.post("/test/staff", headers={auth.CSRF_HEADER: token}) as response:
            assert response.status == 200
        async with client.post("/test/staff", data={"csrf_token": token}) as response:
            assert response.status == 200

    run(tmp_path, scenario)


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example"])
def test_login_never_redirects_off_site(tmp_path: Path, target: str) -> None:
    async def scenario(client: TestClient) -> tuple[int, str]:
        return await log_in(client, "anne", STAFF_PASSWORD, target)

    assert run(tmp_path, scenario) == (303, "/personale")


def test_session_cookie_flags_and_the_pre_login_cookie_stays_anonymous(tmp_path: Path) -> None:
    async def scenario(client: TestClient) -> tuple[str, str, int]:
        async with client.get("/login") as response:
            anonymous_header = response.headers["Set-Cookie"]
            found = re.search(r'name="csrf_token" value="([^"]+)"', await response.text())
        assert found
        token = found.group(1)
        before = client.session.cookie_jar.filter_cookies(client.make_url("/"))[auth.SESSION_COOKIE].value
        form = {"csrf_token": token, "username": "anne", "password": STAFF_PASSWORD}
        async with client.post("/login", data=form, allow_redirects=False) as response:
            login_header = response.headers["Set-Cookie"]
        # a cookie planted before the login (session fixation) does not get the login
        client.session.cookie_jar.update_cookies({auth.SESSION_COOKIE: before})
        async with client.get("/test/staff", allow_redirects=False) as response:
            return anonymous_header, login_header, response.status

    anonymous_header, login_header, replayed = run(tmp_path, scenario)
    for header in (anonymous_header, login_header):
        assert header.startswith(f"{auth.SESSION_COOKIE}=")
        assert "HttpOnly" in header and "SameSite=Strict" in header
        assert "Secure" not in header  # plain http on localhost
        assert f"Max-Age={auth.SESSION_HOURS * 3600}" in header
    assert replayed == 303


def test_secure_cookie_when_served_over_https(tmp_path: Path) -> None:
    async def scenario(client: TestClient) -> str:
        async with client.get("/login") as response:
            return response.headers["Set-Cookie"]

    assert "Secure" in run(tmp_path, scenario, base_url="https://traening.example.dk")


def test_logout_ends_the_session(tmp_path: Path) -> None:
    async def scenario(client: TestClient) -> None:
        await log_in(client, "anne", STAFF_PASSWORD)
        async with client.get("/test/staff") as response:
            token = (await response.text()).split(":")[2]
        async with client.post("/logout", data={"csrf_token": token}, allow_redirects=False) as response:
            assert (response.status, response.headers["Location"]) == (303, "/login")
        async with client.get("/test/staff", allow_redirects=False) as response:
            assert response.status == 303

    run(tmp_path, scenario)


def test_no_accounts_file_means_nobody_gets_in(tmp_path: Path) -> None:
    (tmp_path / "accounts.yml").write_text("accounts: []\n")

    async def scenario(client: TestClient) -> tuple[int, str]:
        return await log_in(client, "anne", STAFF_PASSWORD)

    assert run(tmp_path, scenario)[0] == 401


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        (
            {"username": "a", "name": "A", "initials": "AB", "roles": ["staff"], "password_hash": "plain"},
            "argon2",
        ),
        (
            {
                "username": "a",
                "name": "A",
                "initials": "AB",
                "roles": ["superuser"],
                "password_hash": "$argon2id$x",
            },
            "roles",
        ),
        (
            {
                "username": "a",
                "name": "A",
                "initials": "A1",
                "roles": ["staff"],
                "password_hash": "$argon2id$x",
            },
            "initials",
        ),
        ({"username": "a", "name": "A", "roles": ["staff"], "password_hash": "$argon2id$x"}, "initials"),
    ],
)
def test_invalid_accounts_are_refused_at_start(tmp_path: Path, entry: dict[str, Any], problem: str) -> None:
    path = tmp_path / "accounts.yml"
    path.write_text(yaml.safe_dump({"accounts": [entry]}))
    with pytest.raises(auth.AccountsError, match=problem):
        auth.load_accounts(path)


def test_accounts_cli_adds_changes_and_removes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "accounts.yml"
    monkeypatch.setattr(sys, "stdin", io.StringIO("en meget lang kode\n"))
    accounts_main(
        ["--file", str(path), "add", "mette", "--name", "Mette Dal", "--initials", "md", "--role", "staff"]
    )
    mette = auth.load_accounts(path)["mette"]
    assert (mette.initials, mette.roles) == ("MD", frozenset({"staff"}))
    assert auth.verify_password(mette, "en meget lang kode")
    assert "en meget lang kode" not in path.read_text()
    assert path.stat().st_mode & 0o077 == 0

    monkeypatch.setattr(sys, "stdin", io.StringIO("kort\n"))
    with pytest.raises(SystemExit, match="mindst 12 tegn"):
        accounts_main(["--file", str(path), "passwd", "mette"])
    monkeypatch.setattr(sys, "stdin", io.StringIO("en helt ny lang kode\n"))
    accounts_main(["--file", str(path), "passwd", "mette"])
    assert auth.verify_password(auth.load_accounts(path)["mette"], "en helt ny lang kode")
    accounts_main(["--file", str(path), "remove", "mette"])
    assert auth.load_accounts(path) == {}


def test_accounts_cli_adds_an_admin_and_a_file_from_before_the_role_still_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "accounts.yml"
    before = {  # written before the admin role existed
        "accounts": [
            {
                "username": "lars",
                "name": "Lars Holm",
                "initials": "LH",
                "roles": ["analyst"],
                "password_hash": auth.hash_password(ANALYST_PASSWORD),
            }
        ]
    }
    path.write_text(yaml.safe_dump(before), encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", io.StringIO("en meget lang kode\n"))
    add = ["add", "ida", "--name", "Ida Lund", "--initials", "il", "--role", "analyst", "--role", "admin"]
    accounts_main(["--file", str(path), *add])
    accounts = auth.load_accounts(path)
    assert accounts["lars"].roles == {"analyst"} and accounts["ida"].roles == {"analyst", "admin"}
    assert accounts["ida"].has("admin") and not accounts["lars"].has("admin")


def test_demo_accounts_are_made_once_and_print_their_passwords(tmp_path: Path) -> None:
    path = tmp_path / "accounts.yml"
    command = [sys.executable, "-m", "bot.web.accounts", "--file", str(path), "demo"]
    first = subprocess.run(command, cwd=PROJECT, capture_output=True, text=True, check=True).stdout
    passwords = dict(re.findall(r"demo account (\w+) \(\w+\): password (\S+)", first))
    accounts = auth.load_accounts(path)
    assert set(passwords) == {"personale", "analytiker", "administrator"}
    assert accounts["personale"].roles == {"staff"} and accounts["analytiker"].roles == {"analyst"}
    assert accounts["administrator"].roles == {"admin"}
    assert all(auth.verify_password(accounts[name], password) for name, password in passwords.items())
    again = subprocess.run(command, cwd=PROJECT, capture_output=True, text=True, check=True).stdout
    assert again == "" and auth.load_accounts(path) == accounts


# --- account changes take effect at once (issue 10) -------------------------------------------


def change_accounts(path: Path, **accounts: auth.Account | None) -> None:
    """Write the accounts file with these accounts added, replaced or (None) removed."""
    current = auth.load_accounts(path)
    for username, account in accounts.items():
        if account is None:
            del current[username]
        else:
            current[username] = account
    auth.save_accounts(path, current)


def test_an_account_added_while_the_app_runs_can_log_in_at_once(tmp_path: Path) -> None:
    async def scenario(client: TestClient) -> tuple[int, str]:
        mette = auth.Account(
            "mette", "Mette Dal", "MD", frozenset({"staff"}), auth.hash_password("mettes lange kode")
        )
        change_accounts(tmp_path / "accounts.yml", mette=mette)
        return await log_in(client, "mette", "mettes lange kode")

    assert run(tmp_path, scenario) == (303, "/personale")


def _replaced(path: Path, username: str, **changes: Any) -> auth.Account:
    return dataclasses.replace(auth.load_accounts(path)[username], **changes)


@pytest.mark.parametrize(
    "change",
    ["removed", "disabled", "new password", "role changed"],
)
def test_a_session_whose_account_changed_is_cleared_on_its_next_request(tmp_path: Path, change: str) -> None:
    path = tmp_path / "accounts.yml"

    async def scenario(client: TestClient) -> None:
        await log_in(client, "anne", STAFF_PASSWORD)
        async with client.get("/test/staff") as response:
            assert response.status == 200
            token = (await response.text()).split(":")[2]
        anne = auth.load_accounts(path)["anne"]
        if change == "removed":
            change_accounts(path, anne=None)
        elif change == "disabled":
            change_accounts(path, anne=dataclasses.replace(anne, disabled=True))
        elif change == "new password":
            change_accounts(
                path, anne=dataclasses.replace(anne, password_hash=auth.hash_password("helt ny kode 3"))
            )
        else:
            change_accounts(path, anne=dataclasses.replace(anne, roles=frozenset({"staff", "analyst"})))
        async with client.post("/test/staff", headers={auth.CSRF_HEADER: token}) as response:
            assert response.status == 401
        async with client.get("/test/staff", allow_redirects=False) as response:
            assert response.status == 303
            assert urlsplit(response.headers["Location"]).path == "/login"
        # the session was cleared: putting the account back as it was does not revive it
        change_accounts(path, anne=anne)
        async with client.get("/test/staff", allow_redirects=False) as response:
            assert response.status == 303

    run(tmp_path, scenario)


def test_a_disabled_account_cannot_log_in_and_gets_the_ordinary_answer(tmp_path: Path) -> None:
    path = tmp_path / "accounts.yml"
    write_accounts(path)
    accounts_main(["--file", str(path), "disable", "anne"])
    assert auth.load_accounts(path)["anne"].disabled

    async def scenario(client: TestClient) -> str:
        token = await login_csrf(client)
        form = {"csrf_token": token, "username": "anne", "password": STAFF_PASSWORD}
        async with client.post("/login", data=form, allow_redirects=False) as response:
            assert response.status == 401
            page = await response.text()
        accounts_main(["--file", str(path), "enable", "anne"])
        assert await log_in(client, "anne", STAFF_PASSWORD) == (303, "/personale")
        return page

    assert "Brugernavn eller adgangskode er forkert" in run(tmp_path, scenario)
    assert not auth.load_accounts(path)["anne"].disabled
    assert "disabled" not in yaml.safe_load(path.read_text())["accounts"][0]  # only written when true


def test_accounts_cli_lists_disabled_accounts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "accounts.yml"
    write_accounts(path)
    accounts_main(["--file", str(path), "disable", "lars"])
    capsys.readouterr()
    accounts_main(["--file", str(path), "list"])
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in lines] == ["anne", "lars"]
    assert lines[1].endswith("\tdisabled") and not lines[0].endswith("\tdisabled")


def test_saving_accounts_replaces_the_file_whole(tmp_path: Path) -> None:
    """A request reading the file while the CLI writes it sees the old or the new file, never half of one."""
    path = tmp_path / "accounts.yml"
    write_accounts(path)
    before = path.stat().st_ino
    write_accounts(path)
    assert path.stat().st_ino != before
    assert path.stat().st_mode & 0o077 == 0
    assert list(tmp_path.iterdir()) == [path]


# --- failed logins are throttled (issue 10) ---------------------------------------------------


async def failed_login(
    client: TestClient, username: str, password: str = "forkert kode"
) -> tuple[int, str, str]:
    token = await login_csrf(client)
    form = {"csrf_token": token, "username": username, "password": password}
    async with client.post("/login", data=form, allow_redirects=False) as response:
        return response.status, await response.text(), response.headers.get("Retry-After", "")


def five_failures_then_the_right_password(
    username: str,
) -> Callable[[TestClient], Awaitable[tuple[int, str, str]]]:
    async def scenario(client: TestClient) -> tuple[int, str, str]:
        for _ in range(auth.LOGIN_FAILURES):
            assert (await failed_login(client, username))[0] == 401
        answer = await failed_login(client, username, STAFF_PASSWORD)  # even the right password
        async with client.get("/test/staff", allow_redirects=False) as response:
            assert response.status == 303
        return answer

    return scenario


def test_an_account_is_locked_after_five_failures_whether_it_exists_or_not(tmp_path: Path) -> None:
    answers = [run(tmp_path, five_failures_then_the_right_password(name)) for name in ("anne", "nobody")]
    for status, page, retry_after in answers:
        assert status == 429
        assert "For mange forsøg" in page and "om 15 min." in page
        assert retry_after == str(15 * 60)
    assert answers[0][1].split('name="csrf_token"')[0] == answers[1][1].split('name="csrf_token"')[0]


def test_an_address_is_locked_after_five_failures_on_any_accounts(tmp_path: Path) -> None:
    async def scenario(client: TestClient) -> int:
        for n in range(auth.LOGIN_FAILURES):
            assert (await failed_login(client, f"gæt{n}"))[0] == 401
        return (await failed_login(client, "lars", ANALYST_PASSWORD))[0]

    assert run(tmp_path, scenario) == 429


def test_login_throttle_locks_for_a_while_resets_on_success_and_stays_bounded() -> None:
    now = [0.0]
    throttle = auth.LoginThrottle(limit=3, window=60, lockout=600, clock=lambda: now[0], max_keys=4)
    for _ in range(2):
        throttle.failed("user:anne", "addr:a")
    throttle.succeeded("user:anne")  # the account's counter starts again, the address's does not
    throttle.failed("user:anne", "addr:a")
    assert throttle.locked("user:anne") is None
    assert throttle.locked("addr:a") == 600
    now[0] = 599
    assert throttle.locked("user:anne", "addr:a") == 1
    now[0] = 600
    assert throttle.locked("addr:a") is None
    throttle.failed("user:lars")
    now[0] = 661  # failures older than the window are forgotten
    throttle.failed("user:lars")
    throttle.failed("user:lars")
    assert throttle.locked("user:lars") is None
    for n in range(100):
        throttle.failed(f"addr:{n}")
    assert len(throttle._entries) <= 4
