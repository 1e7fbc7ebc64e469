"""The action server: rasa-sdk's own, with every call but /health authenticated.

rasa-sdk 3.6 has no authentication: anyone who reaches /webhook can run any action
with a tracker of their making. This entry point runs rasa-sdk's server (`run` here:
rasa-sdk's app, plugins and options, with our idle timeout and listen backlog, see
IDLE_TIMEOUT_S) and attaches, through rasa-sdk's `attach_sanic_app_extensions` plugin
hook, a request middleware that answers 401 (empty body, no action run, no payload logged) unless
the request carries `Authorization: Bearer <TRAENINGSGUIDEN_ACTION_TOKEN>`, the
header Rasa sends from `action_endpoint.headers` in endpoints.yml. It refuses to
start without the token (fail closed).

rasa-sdk 3.6 also answers an action's exception with the exception's message and the
whole request body (the citizen's words, every slot), which Rasa then writes to its log
at ERROR. The same plugin replaces that handler: the answer is `{"error": "action
failed"}` and the log says which action failed where (exception type and stack frames),
never the message or the payload.

    TRAENINGSGUIDEN_ACTION_TOKEN=... python -m actions.server --port 5055
"""

from __future__ import annotations

import argparse
import hmac
import logging
import os
import re
import sys
import traceback
from typing import Any, Callable, Coroutine, Mapping, Sequence

import pluggy
from rasa_sdk.endpoint import create_argument_parser
from rasa_sdk.plugin import plugin_manager
from sanic import Sanic, response
from sanic.exceptions import SanicException
from sanic.helpers import STATUS_CODES
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.config import ACTION_TOKEN_ENV

TOKEN_ENV = ACTION_TOKEN_ENV
MIN_TOKEN_LENGTH = 32
OPEN_PATHS = frozenset({"/health"})
_TOKEN_CHARACTERS = re.compile(r"^[A-Za-z0-9._~+/=-]+$")  # fits an HTTP header and a YAML plain scalar
_hookimpl = pluggy.HookimplMarker("rasa_sdk")

# How long a connection may stay open without a request (Sanic's KEEP_ALIVE_TIMEOUT, 5 s by
# default), and how many connections the kernel may queue for accept (Sanic's backlog, 100).
# Rasa 3.6 opens a new connection for every action call and, with many conversations at a time,
# its busy event loop writes the request seconds after the kernel opened the connection: at
# Sanic's 5 s the action server closed such connections unanswered, and Rasa answered the
# citizen with the technical error (bench/README.md, "At 200 at a time"; bench/action_burst.py).
IDLE_TIMEOUT_S = 60.0  # as long as Sanic waits for a request that has begun (REQUEST_TIMEOUT)
LISTEN_BACKLOG = 1024  # the kernel caps it at net.core.somaxconn (4096 since Linux 5.4)

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


_ACTION_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def failed_action_name(request: Request) -> str:
    """The `next_action` of the call, if it looks like an action name (it is the caller's text)."""
    try:
        body = request.json
    except Exception:  # a body that is not JSON: the SDK's own check answers that one
        return "unknown action"
    name = body.get("next_action") if isinstance(body, dict) else None
    return name if isinstance(name, str) and _ACTION_NAME.match(name) else "unknown action"


async def action_failed(request: Request, exception: Exception) -> HTTPResponse:
    """Sanic exception handler: a generic answer; the log names the action, type and frames only."""
    if isinstance(exception, SanicException):  # 404, 405, a body too large: Sanic's own status
        return response.json(
            {"error": STATUS_CODES.get(exception.status_code, b"").decode()}, status=exception.status_code
        )
    frames = "".join(traceback.format_tb(exception.__traceback__))
    log.error("%s failed: %s\n%s", failed_action_name(request), type(exception).__name__, frames.rstrip())
    return response.json({"error": "action failed"}, status=500)


class _Authentication:
    """rasa-sdk plugin: attaches the middleware and the exception handler to the app
    `rasa_sdk.endpoint.run` builds (after `create_app`, so ours replaces the SDK's handler)."""

    def __init__(self, token: str) -> None:
        self.token = token

    @_hookimpl
    def attach_sanic_app_extensions(self, app: Sanic) -> None:
        app.register_middleware(authentication(self.token), "request")
        app.error_handler.add(Exception, action_failed)


def run(args: argparse.Namespace) -> None:
    """rasa-sdk 3.6's `main_from_args` and `run` (rasa_sdk/__main__.py, rasa_sdk/endpoint.py),
    unchanged but for our idle timeout and backlog: `run` calls `app.run` without a backlog."""
    from rasa_sdk import utils
    from rasa_sdk.constants import APPLICATION_ROOT_LOGGER_NAME
    from rasa_sdk.endpoint import create_app, create_ssl_context

    logging.getLogger("matplotlib").setLevel(logging.WARN)
    utils.configure_colored_logging(args.loglevel)
    utils.configure_file_logging(
        logging.getLogger(APPLICATION_ROOT_LOGGER_NAME), args.log_file, args.loglevel, args.logging_config_file
    )
    utils.update_sanic_log_level()

    log.info("Starting action endpoint server...")
    app = create_app(args.actions, cors_origins=args.cors, auto_reload=args.auto_reload)
    app.config.KEEP_ALIVE_TIMEOUT = IDLE_TIMEOUT_S
    plugin_manager().hook.attach_sanic_app_extensions(app=app)
    ssl_context = create_ssl_context(args.ssl_certificate, args.ssl_keyfile, args.ssl_password)
    host = os.environ.get("SANIC_HOST", "0.0.0.0")
    log.info("Action endpoint is up and running on %s://%s:%s", "https" if ssl_context else "http", host, args.port)
    app.run(host, args.port, ssl=ssl_context, workers=utils.number_of_sanic_workers(), backlog=LISTEN_BACKLOG)


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
    run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
