"""The action server: rasa-sdk's own, with every call but /health authenticated.

rasa-sdk 3.6 has no authentication: anyone who reaches /webhook can run any action
with a tracker of their making. This entry point runs rasa-sdk's `run` unchanged and
attaches, through rasa-sdk's `attach_sanic_app_extensions` plugin hook, a request
middleware that answers 401 (empty body, no action run, no payload logged) unless
the request carries `Authorization: Bearer <TRAENINGSGUIDEN_ACTION_TOKEN>`, the
header Rasa sends from `action_endpoint.headers` in endpoints.yml. It refuses to
start without the token (fail closed).

    TRAENINGSGUIDEN_ACTION_TOKEN=... python -m actions.server --port 5055
"""

from __future__ import annotations

import hmac
import logging
import os
import re
import sys
from typing import Any, Callable, Coroutine, Mapping, Sequence

import pluggy
from rasa_sdk.endpoint import create_argument_parser
from rasa_sdk.plugin import plugin_manager
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.config import ACTION_TOKEN_ENV

TOKEN_ENV = ACTION_TOKEN_ENV
MIN_TOKEN_LENGTH = 32
OPEN_PATHS = frozenset({"/health"})
_TOKEN_CHARACTERS = re.compile(r"^[A-Za-z0-9._~+/=-]+$")  # fits an HTTP header and a YAML plain scalar
_hookimpl = pluggy.HookimplMarker("rasa_sdk")

log = logging.getLogger("actions.server")  # the same name when run with -m


class ActionTokenError(Exception):
    """The action server's token is missing or unusable."""


def load_token(environ: Mapping[str, str] = os.environ) -> str:
    """The shared secret Rasa must present; `ActionTokenError` (with what to do) if unusable."""
    token = environ.get(TOKEN_ENV, "").strip()
    how = 'e.g. python -c "import secrets; print(secrets.token_urlsafe(32))"'
    if not token:
        raise ActionTokenError(
            f"{TOKEN_ENV} is not set: the action server does not start without it. Set the same "
            f"value for Rasa, which sends it as 'Authorization: Bearer ...' (endpoints.yml); {how}"
        )
    if len(token) < MIN_TOKEN_LENGTH or not _TOKEN_CHARACTERS.match(token):
        raise ActionTokenError(
            f"{TOKEN_ENV} must be at least {MIN_TOKEN_LENGTH} characters of A-Z a-z 0-9 . _ ~ + / = -; {how}"
        )
    return token


def authorised(header: str | None, token: str) -> bool:
    """Whether an Authorization header carries the token (constant-time comparison)."""
    given = (header or "").encode("utf-8", "replace")
    return hmac.compare_digest(given, f"Bearer {token}".encode("ascii"))


def authentication(token: str) -> Callable[[Request], Coroutine[Any, Any, HTTPResponse | None]]:
    """A Sanic request middleware: 401 for every path but /health without the token."""

    async def authenticate(request: Request) -> HTTPResponse | None:
        if request.path in OPEN_PATHS or authorised(request.headers.get("authorization"), token):
            return None
        log.warning("refused an unauthenticated %s %s from %s", request.method, request.path, request.ip)
        return response.empty(status=401, headers={"WWW-Authenticate": "Bearer"})

    return authenticate


class _Authentication:
    """rasa-sdk plugin: attaches the middleware to the app `rasa_sdk.endpoint.run` builds."""

    def __init__(self, token: str) -> None:
        self.token = token

    @_hookimpl
    def attach_sanic_app_extensions(self, app: Sanic) -> None:
        app.register_middleware(authentication(self.token), "request")


def main(argv: Sequence[str] | None = None) -> int:
    """Parse rasa-sdk's own options (`--actions` defaults to our package) and serve."""
    args = create_argument_parser().parse_args(argv)
    if args.actions is None:
        args.actions = "actions"
    try:
        token = load_token()
    except ActionTokenError as e:
        print(f"action server: {e}", file=sys.stderr)
        return 2
    plugin_manager().register(_Authentication(token))
    from rasa_sdk.__main__ import main_from_args

    main_from_args(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
