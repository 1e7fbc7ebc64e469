"""Staff and analyst accounts, login sessions and CSRF protection.

- Accounts come from configuration: a YAML file (`Settings.accounts_file`) of
  username, name, initials, roles (`staff`, `analyst`, `admin`), an argon2 hash
  (argon2-cffi) and an optional `disabled: true`. `python -m bot.web.accounts`
  adds, disables and removes accounts and sets passwords. The file is read again
  when it changes (`AccountStore`), so a change takes effect at once.
- Every request checks its session against the account as it is now: a session
  whose account was removed or disabled, or whose password or roles changed since
  the login, is cleared and sent to the login page.
- Failed logins are throttled per username and per client address
  (`LoginThrottle`, in memory); the answer is the same whether the account exists.
- Sessions are aiohttp-session's encrypted cookies (Fernet): `HttpOnly`,
  `SameSite=Strict`, `Secure` when the site is served over https, and they end
  after `SESSION_HOURS`. Logging in starts a new session (no fixation).
- Every unsafe request to a login-protected route must carry the session's CSRF
  token (form field `csrf_token` or header `X-CSRF-Token`); `require_role`
  checks it. The login form has one too (login CSRF).

Handlers use `require_role("staff")` / `require_role("analyst")` /
`require_role("admin")`, `current_user` and `csrf_token`. The roles are separate: `admin`
(reads the audit log of analysts' reads) grants no analyst page, and `analyst` no admin page;
an account may have several.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import functools
import hashlib
import hmac
import logging
import math
import os
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any, Awaitable, Callable, Literal, Mapping
from urllib.parse import urlencode

import aiohttp_session
import yaml
from aiohttp import web
from aiohttp_session.cookie_storage import EncryptedCookieStorage
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from cryptography.fernet import Fernet

from bot.config import DEFAULT_SESSION_KEY_FILE, SESSION_KEY_ENV
from bot.datafiles import Copy
from bot.errors import DataFileError
from bot.keys import load_key
from bot.web.pages import render_page

log = logging.getLogger(__name__)

Role = Literal["staff", "analyst", "admin"]
ROLES: tuple[Role, ...] = ("staff", "analyst", "admin")
HOME: Mapping[Role, str] = {"staff": "/personale", "analyst": "/analyse", "admin": "/analyse/adgangslog"}
COPY = Copy("copy_web_da.yml")
text = COPY.text
SESSION_COOKIE = "tg_session"
SESSION_HOURS = 8  # one shift
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
_USER = "user"
_STAMP = "stamp"  # fingerprint of the account's password hash and roles at login
_CSRF = "csrf"
LOGIN_FAILURES = 5  # failed logins per username or address ...
LOGIN_WINDOW_MINUTES = 15  # ... within this many minutes lock it
LOGIN_LOCKOUT_MINUTES = 15  # for this long

_hasher = PasswordHasher()

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclasses.dataclass(frozen=True)
class Account:
    username: str
    name: str
    initials: str
    roles: frozenset[Role]
    password_hash: str
    disabled: bool = False

    def has(self, role: Role) -> bool:
        return role in self.roles


class AccountsError(DataFileError):
    """The accounts file is invalid."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@functools.cache
def dummy_hash() -> str:
    """Verified when the username is unknown, so a wrong name costs as long as a wrong password.

    Made on first use (a login), not at import: importing this module costs no argon2 hash.
    """
    return hash_password(secrets.token_urlsafe(16))


def _account(entry: Any, source: Path) -> Account:
    if not isinstance(entry, Mapping):
        raise AccountsError(f"{source}: every account is a mapping")
    try:
        username, name, initials = (str(entry[k]).strip() for k in ("username", "name", "initials"))
        roles = entry["roles"]
        password_hash = str(entry["password_hash"])
        disabled = entry.get("disabled", False)
    except KeyError as e:
        raise AccountsError(f"{source}: an account lacks {e}") from e
    if not username or not initials.isalpha() or not 1 <= len(initials) <= 5:
        raise AccountsError(f"{source}: account {username!r} needs a username and 1-5 letters as initials")
    if not isinstance(roles, list) or not roles or any(r not in ROLES for r in roles):
        raise AccountsError(f"{source}: account {username!r} needs roles from {ROLES}")
    if not password_hash.startswith("$argon2"):
        raise AccountsError(f"{source}: account {username!r} has no argon2 password hash")
    if not isinstance(disabled, bool):
        raise AccountsError(f"{source}: account {username!r}: disabled is true or false")
    return Account(username, name, initials.upper(), frozenset(roles), password_hash, disabled)


def load_accounts(path: Path) -> dict[str, Account]:
    """Accounts by username; no file means no accounts (staff and analyst pages then refuse everyone)."""
    if not path.exists():
        log.warning("no accounts file at %s: nobody can log in (python -m bot.web.accounts add ...)", path)
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as e:
        raise AccountsError(f"cannot read {path}: {e}") from e
    entries = data.get("accounts", []) if isinstance(data, Mapping) else None
    if not isinstance(entries, list):
        raise AccountsError(f"{path}: expected `accounts:` with a list")
    accounts = [_account(entry, path) for entry in entries]
    by_name = {a.username: a for a in accounts}
    if len(by_name) != len(accounts):
        raise AccountsError(f"{path}: a username occurs twice")
    return by_name


def _entry(a: Account) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "username": a.username,
        "name": a.name,
        "initials": a.initials,
        "roles": sorted(a.roles),
        "password_hash": a.password_hash,
    }
    if a.disabled:
        entry["disabled"] = True
    return entry


def save_accounts(path: Path, accounts: Mapping[str, Account]) -> None:
    """Write the accounts file (mode 0600: it holds password hashes).

    Written to a temporary file and renamed over the old one, so the running web
    app, which reads the file when it changes, sees the old or the new file whole.
    """
    data = yaml.safe_dump(
        {"accounts": [_entry(a) for a in accounts.values()]}, allow_unicode=True, sort_keys=False
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class AccountStore:
    """The accounts file, read again when it changes (its inode, size or modification time).

    One `os.stat` per lookup. A file that has become invalid logs an error and lets
    nobody in until it is fixed; a missing file means no accounts.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._signature: tuple[int, int, int] | None = None
        self._accounts: dict[str, Account] = {}
        self._accounts = load_accounts(path)  # invalid at start: refuse to start
        self._signature = self._stat()

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def get(self, username: str) -> Account | None:
        signature = self._stat()
        if signature != self._signature:
            try:
                self._accounts = load_accounts(self.path)
            except AccountsError as e:
                log.error("accounts file changed and is invalid, nobody can log in until it is fixed: %s", e)
                self._accounts = {}
            self._signature = signature
        return self._accounts.get(username)


class LoginThrottle:
    """Locks a key (a username or a client address) after `limit` failures within `window` seconds.

    In memory, per process, at most `max_keys` keys (the oldest are forgotten first).
    Behind a reverse proxy every client has the proxy's address: throttle there too.
    """

    def __init__(
        self,
        *,
        limit: int = LOGIN_FAILURES,
        window: float = LOGIN_WINDOW_MINUTES * 60.0,
        lockout: float = LOGIN_LOCKOUT_MINUTES * 60.0,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 10_000,
    ) -> None:
        self.limit, self.window, self.lockout, self.clock, self.max_keys = (
            limit,
            window,
            lockout,
            clock,
            max_keys,
        )
        # key -> (times of recent failures, locked until)
        self._entries: collections.OrderedDict[str, tuple[list[float], float]] = collections.OrderedDict()

    def locked(self, *keys: str) -> float | None:
        """Seconds until the longest lock among `keys` ends; None when none is locked."""
        now = self.clock()
        remaining = [
            until - now for _, until in (self._entries.get(k, ([], 0.0)) for k in keys) if until > now
        ]
        return max(remaining) if remaining else None

    def failed(self, *keys: str) -> None:
        now = self.clock()
        for key in keys:
            failures, until = self._entries.pop(key, ([], 0.0))
            failures = [t for t in failures if t > now - self.window] + [now]
            if len(failures) >= self.limit:
                failures, until = [], now + self.lockout
            while len(self._entries) >= self.max_keys:
                self._entries.popitem(last=False)
            self._entries[key] = (failures, until)  # most recent last

    def succeeded(self, key: str) -> None:
        self._entries.pop(key, None)


def verify_password(account: Account | None, password: str) -> bool:
    """True if the password is right; as slow for an unknown user as for a known one."""
    try:
        return (
            _hasher.verify(account.password_hash if account else dummy_hash(), password)
            and account is not None
        )
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


ACCOUNTS = web.AppKey("accounts", AccountStore)
LOGIN_THROTTLE = web.AppKey("login_throttle", LoginThrottle)
STAMP_KEY = web.AppKey("account_stamp_key", bytes)


def setup(app: web.Application, *, accounts_file: Path, session_key: bytes | None, secure: bool) -> None:
    """Sessions, the accounts and the /login and /logout routes."""
    key = session_key or load_key(DEFAULT_SESSION_KEY_FILE, env=SESSION_KEY_ENV, what="session key")
    storage = EncryptedCookieStorage(
        Fernet(key),
        cookie_name=SESSION_COOKIE,
        max_age=SESSION_HOURS * 3600,
        httponly=True,
        secure=secure,
        samesite="Strict",
    )
    aiohttp_session.setup(app, storage)
    app[ACCOUNTS] = AccountStore(accounts_file)
    app[LOGIN_THROTTLE] = LoginThrottle()
    app[STAMP_KEY] = hashlib.sha256(b"account stamp\0" + key).digest()
    app.router.add_get("/login", login_form)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)


def _stamp(app: web.Application, account: Account) -> str:
    """A short keyed fingerprint of what the session was granted: the password hash and the roles."""
    granted = "\0".join([account.password_hash, *sorted(account.roles)]).encode()
    return hmac.new(app[STAMP_KEY], granted, hashlib.sha256).hexdigest()[:32]


async def current_user(request: web.Request) -> Account | None:
    """The logged-in account as it is now; a session it no longer matches is cleared."""
    session = await aiohttp_session.get_session(request)
    username = session.get(_USER)
    if not isinstance(username, str):
        return None
    account = request.app[ACCOUNTS].get(username)
    stamp = session.get(_STAMP)
    if (
        account is None
        or account.disabled
        or not isinstance(stamp, str)
        or not hmac.compare_digest(stamp, _stamp(request.app, account))
    ):
        log.info("session ended: its account was removed, disabled or changed")
        session.invalidate()
        return None
    return account


async def csrf_token(request: web.Request) -> str:
    """The session's CSRF token (created on first use)."""
    session = await aiohttp_session.get_session(request)
    token = session.get(_CSRF)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session[_CSRF] = token
    return token


async def check_csrf(request: web.Request) -> None:
    """403 unless the request carries the session's CSRF token."""
    session = await aiohttp_session.get_session(request)
    expected = session.get(_CSRF)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        sent = str((await request.post()).get(CSRF_FIELD, ""))
    if not isinstance(expected, str) or not sent or not hmac.compare_digest(expected, sent):
        raise web.HTTPForbidden(text=text("errors.csrf"), content_type="text/plain")


def _safe_next(target: str | None, account: Account) -> str:
    """Only a path on this site; anything else goes to the account's home page."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return HOME[sorted(account.roles)[-1]] if account.roles else "/"


def require_role(role: Role) -> Callable[[Handler], Handler]:
    """Anonymous: to the login page. Logged in without `role`: 403. Unsafe methods: CSRF checked."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            account = await current_user(request)
            if account is None:
                if request.method != "GET":
                    raise web.HTTPUnauthorized(text=text("errors.login_needed"), content_type="text/plain")
                raise web.HTTPSeeOther("/login?" + urlencode({"next": request.path_qs}))
            if not account.has(role):
                return _page(text("errors.forbidden.title"), text("errors.forbidden.text"), status=403)
            if request.method not in ("GET", "HEAD", "OPTIONS"):
                await check_csrf(request)
            return await handler(request)

        return guarded

    return decorate


def _page(
    title: str, *paragraphs: str, status: int = 200, form: Mapping[str, Any] | None = None
) -> web.Response:
    html = render_page("login.html", title=title, paragraphs=paragraphs, form=form)
    return web.Response(text=html, status=status, content_type="text/html")


async def _login_page(request: web.Request, *, error: str | None = None, status: int = 200) -> web.Response:
    form = {
        "csrf": await csrf_token(request),
        "next": request.query.get("next", ""),
        "error": error,
        "username": text("login.username"),
        "password": text("login.password"),
        "submit": text("login.submit"),
    }
    return _page(text("login.title"), text("login.intro"), status=status, form=form)


async def login_form(request: web.Request) -> web.Response:
    return await _login_page(request)


async def login(request: web.Request) -> web.StreamResponse:
    await check_csrf(request)
    form = await request.post()
    username, password = str(form.get("username", "")).strip(), str(form.get("password", ""))
    throttle = request.app[LOGIN_THROTTLE]
    keys = (f"user:{username[:100]}", f"addr:{request.remote or 'unknown'}")
    locked = throttle.locked(*keys)
    if locked is not None:  # the same for a username that does not exist
        log.info("login refused: too many failures")
        minutes = max(1, math.ceil(locked / 60))
        response = await _login_page(request, error=text("login.throttled", minutes=minutes), status=429)
        response.headers["Retry-After"] = str(math.ceil(locked))
        return response
    account = request.app[ACCOUNTS].get(username)
    if account is not None and account.disabled:
        account = None  # answered like an unknown user, after as long a verification
    ok = await asyncio.to_thread(verify_password, account, password)
    if not ok or account is None:
        log.info("failed login")  # no username in the log: it may be a password typed in the wrong field
        throttle.failed(*keys)
        return await _login_page(request, error=text("login.failed"), status=401)
    throttle.succeeded(keys[0])  # the address's failures still count
    session = await aiohttp_session.new_session(request)  # a fresh session: no fixation
    session[_USER] = account.username
    session[_STAMP] = _stamp(request.app, account)
    session[_CSRF] = secrets.token_urlsafe(32)
    log.info("login: %s", account.initials)
    raise web.HTTPSeeOther(_safe_next(str(form.get("next", "")) or request.query.get("next"), account))


async def logout(request: web.Request) -> web.StreamResponse:
    await check_csrf(request)
    session = await aiohttp_session.get_session(request)
    session.invalidate()
    raise web.HTTPSeeOther("/login")
