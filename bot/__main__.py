"""`python -m bot <command>`: report, retention, forget, export, consume, rotate-draft-key.

    python -m bot report --since 7d [--municipality ballerup] [--format text|csv]
    python -m bot retention            # conversations after N days, expired drafts, old audit rows
    python -m bot forget --conversation ID | --draft TG-2026-000123
    python -m bot export --conversation ID | --draft TG-2026-000123 [--out FILE]
    python -m bot consume              # RabbitMQ events -> analytics tables
    python -m bot rotate-draft-key     # re-encrypt drafts with the first key of TRAENINGSGUIDEN_DRAFT_KEY

Databases and periods come from the same environment variables as the web app
(README, "Analytics").
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import sys
from pathlib import Path
from typing import Sequence

from bot.analytics import queries
from bot.analytics.report import overview_csv, report_text
from bot.analytics.retention import (
    export_conversation,
    export_draft,
    forget_conversation,
    forget_draft,
    open_stores,
    purge,
)
from bot.config import Settings

log = logging.getLogger("bot")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot", description="Træningsguiden: analytics and retention"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    report = commands.add_parser("report", help="overview of the conversations in a period")
    report.add_argument("--since", default="7d", help="'7d', '24h' or a date YYYY-MM-DD (default 7d)")
    report.add_argument("--until", default=None, help="a date YYYY-MM-DD (default now)")
    report.add_argument("--municipality", default=None, help="a municipality id, e.g. ballerup")
    report.add_argument("--channel", choices=("citizen", "staff"), default=None)
    report.add_argument("--format", choices=("text", "csv"), default="text")

    commands.add_parser(
        "retention", help="delete conversations, drafts and audit rows past their retention period"
    )
    commands.add_parser(
        "rotate-draft-key",
        help="re-encrypt every draft with the first key of TRAENINGSGUIDEN_DRAFT_KEY (list: new,old)",
    )

    for name, helptext in (
        ("forget", "delete everything about"),
        ("export", "write as JSON everything about"),
    ):
        command = commands.add_parser(name, help=f"{helptext} one conversation or draft")
        target = command.add_mutually_exclusive_group(required=True)
        target.add_argument("--conversation", help="a conversation (Rasa sender) id")
        target.add_argument("--draft", help="a draft reference, TG-YYYY-NNNNNN")
        if name == "export":
            command.add_argument("--out", type=Path, default=None, help="file to write (default stdout)")

    consume = commands.add_parser(
        "consume", help="read Rasa's events from RabbitMQ into the analytics tables"
    )
    consume.add_argument("--amqp-url", default=None)
    consume.add_argument("--queue", default=None)
    consume.add_argument(
        "--max-attempts",
        type=int,
        default=None,
        help="failed tries before an event is dead-lettered (default 3)",
    )
    return parser


def _report(args: argparse.Namespace, config: Settings) -> int:
    now = _now()
    try:
        since = queries.parse_since(args.since, now)
        until = queries.parse_since(args.until, now) if args.until else now
    except ValueError as e:
        log.error("%s", e)
        return 2
    stores = open_stores(config, drafts=False)
    try:
        source = stores.analytics if stores.analytics is not None else stores.tracker
        records = source.records(since=since, until=until)
    finally:
        stores.close()
    filters = queries.Filters(since=since, until=until, municipality=args.municipality, channel=args.channel)
    chosen = queries.select(records, filters)
    figures = queries.overview(chosen)
    if args.format == "csv":
        sys.stdout.write(overview_csv(figures))
    else:
        sys.stdout.write(
            report_text(
                figures,
                queries.funnel(chosen),
                queries.not_understood(chosen),
                since=since,
                until=until,
                municipality=args.municipality,
            )
        )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    args = _parser().parse_args(argv)
    config = Settings.from_env()
    if args.command == "report":
        return _report(args, config)
    if args.command == "consume":
        from bot.analytics.consumer import run  # aio-pika only when consuming

        url = args.amqp_url or config.amqp_url
        attempts = args.max_attempts or config.analytics_max_attempts
        asyncio.run(
            run(
                url,
                args.queue or config.analytics_queue,
                config.analytics_database_url or "",
                max_attempts=attempts,
            )
        )
        return 0
    if args.command == "rotate-draft-key":
        from bot.drafts.store import DraftStore

        store = DraftStore(config.database_url, key=config.key, table_prefix=config.table_prefix)
        try:
            sys.stdout.write(f"rotated={store.rotate()}\n")
        finally:
            store.close()
        return 0
    stores = open_stores(config)
    try:
        if args.command == "retention":
            deleted = purge(
                stores,
                now=_now(),
                conversation_days=config.conversation_retention_days,
                audit_days=config.audit_retention_days,
            )
            sys.stdout.write(
                f"conversations={deleted.conversations} events={deleted.event_rows} "
                f"analytics={deleted.analytics_conversations} drafts={deleted.drafts} "
                f"audit={deleted.audit_rows}\n"
            )
        elif args.command == "forget":
            if args.conversation:
                deleted = forget_conversation(stores, args.conversation)
            else:
                deleted = forget_draft(stores, args.draft)
            sys.stdout.write(
                f"conversations={deleted.conversations} events={deleted.event_rows} "
                f"analytics={deleted.analytics_conversations} drafts={' '.join(deleted.draft_references) or 0}\n"
            )
            if not (deleted.event_rows or deleted.draft_references or deleted.analytics_conversations):
                log.warning("nothing found to delete")
                return 1
        elif args.command == "export":
            now = _now()
            data = (
                export_conversation(stores, args.conversation, now=now)
                if args.conversation
                else export_draft(stores, args.draft, now=now)
            )
            body = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
            if args.out is None:
                sys.stdout.write(body)
            else:
                args.out.parent.mkdir(parents=True, exist_ok=True)
                args.out.touch(mode=0o600, exist_ok=True)
                args.out.write_text(body, encoding="utf-8")
                log.info("wrote %s", args.out)
    finally:
        stores.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
