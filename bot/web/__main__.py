"""`python -m bot.web`: the chat, staff and draft pages on 127.0.0.1 (port: TRAENINGSGUIDEN_WEB_PORT, default 8080)."""

from __future__ import annotations

import logging

from aiohttp import web

from bot.config import Settings
from bot.web.app import RedactingAccessLogger, create_app

log = logging.getLogger("bot.web")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = Settings.from_env()
    port = config.port
    log.info("chat on http://127.0.0.1:%d/, staff on http://127.0.0.1:%d/personale", port, port)
    web.run_app(
        create_app(config),
        host="127.0.0.1",
        port=port,
        access_log_class=RedactingAccessLogger,
        print=None,
    )


if __name__ == "__main__":
    main()
