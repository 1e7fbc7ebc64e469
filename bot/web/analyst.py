"""Analyst pages under /analyse: overview, funnel, "not understood", conversations, transcripts;
and the audit log of analysts' reads at /analyse/adgangslog.

Only for the `analyst` role (`bot.web.auth.require_role`); the audit log only for `admin`.
Every read of a transcript and every CSV export writes one audit row (`bot.analytics.audit`)
before anything is read: who, when, which conversation or which export; if the row cannot be
written, nothing is shown (a Danish 503). Server-rendered
HTML (Jinja2, autoescaped) with SVG charts and the same numbers in tables; no
script, so the strict CSP holds. Every list can be downloaded as CSV. Records
come from Rasa's tracker store, or from the analytics consumer's tables when
`Settings.analytics_database_url` is set; transcripts always from the tracker
store. While the app runs, `bot.web.background.delete_old_conversations` deletes
conversations past their retention period (started here, where the stores are opened).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import functools
import logging
from typing import Any, AsyncIterator, Callable, Generic, Mapping, Sequence, TypeVar
from urllib.parse import urlencode

from aiohttp import web

from bot.analytics import queries, report
from bot.analytics.audit import AuditEntry, AuditLog, AuditWriteError, What
from bot.analytics.queries import OUTCOME_KEYS, Filters
from bot.analytics.records import CHANNELS, ConversationRecord, summarise
from bot.analytics.retention import Stores
from bot.analytics.store import AnalyticsStore, TrackerEvents
from bot.analytics.texts import (
    duration,
    municipality_name,
    number,
    outcome_label,
    percent,
    question_label,
    text,
    yes_no,
)
from bot.analytics.transcript import transcript
from bot.config import Settings
from bot.municipality import profiles
from bot.web.auth import csrf_token, current_user, require_role
from bot.web.auth import text as web_text
from bot.web.background import delete_old_conversations, repeating
from bot.web.pages import message_page, render_page

log = logging.getLogger(__name__)

PREFIX = "/analyse"
DEFAULT_DAYS = 30
PAGE_SIZE = 50  # conversations, or "not understood" groups, on one page (`?side=N`)
JUNK_LIMIT = 100  # junk groups shown in their collapsed section (the CSV has them all)
PAGE_PARAMETER = "side"
AUDIT_PATH = f"{PREFIX}/adgangslog"
AUDIT_USER, AUDIT_CONVERSATION = "bruger", "samtale"  # the audit page's filters


@dataclasses.dataclass
class AnalystState:
    config: Settings
    stores: Stores | None = None  # opened on start-up

    def opened(self) -> Stores:
        if self.stores is None:
            raise RuntimeError("the analyst pages' stores are opened on start-up")
        return self.stores


STATE = web.AppKey("analyst_state", AnalystState)


# --- data -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Form:
    """The filter form: what the query string asked for, parsed, with an error if a date was bad."""

    filters: Filters
    values: dict[str, str]
    error: str | None


def _date(value: str) -> dt.datetime | None:
    day = dt.date.fromisoformat(value)
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.timezone.utc)


def _bool(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)


def parse_form(query: Any, now: dt.datetime) -> Form:
    """Filters from the query string; unknown values are ignored, bad dates reported."""
    values = {k: str(query.get(k, "")).strip() for k in ("since", "until", *_CHOICE_FIELDS)}
    error = None
    default_since = (now - dt.timedelta(days=DEFAULT_DAYS)).date().isoformat()
    try:
        since = _date(values["since"] or default_since)
        until = _date(values["until"]) if values["until"] else None
    except ValueError:
        error = text("filters.invalid_date")
        since, until = _date(default_since), None
        values["since"], values["until"] = default_since, ""
    values["since"] = values["since"] or default_since
    municipality = values["municipality"] if values["municipality"] in profiles() else None
    channel = values["channel"] if values["channel"] in CHANNELS else None
    outcome = values["outcome"] if values["outcome"] in OUTCOME_KEYS else None
    filters = Filters(
        since=since,
        until=until,
        municipality=municipality,
        channel=channel,
        outcome=outcome,
        handoff=_bool(values["handoff"]),
        fallback=_bool(values["fallback"]),
        draft=_bool(values["draft"]),
    )
    return Form(filters, values, error)


_CHOICE_FIELDS = ("municipality", "channel", "outcome", "handoff", "fallback", "draft")


async def _records(request: web.Request, form: Form) -> list[ConversationRecord]:
    stores = request.app[STATE].opened()
    source: AnalyticsStore | TrackerEvents = (
        stores.analytics if stores.analytics is not None else stores.tracker
    )
    found = await asyncio.to_thread(source.records, since=form.filters.since, until=form.filters.until)
    return queries.select(found, form.filters)


# --- view helpers -----------------------------------------------------------------------

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a long list: its items, "51-100 of 437", links to the pages either side."""

    items: Sequence[T]
    number: int  # 1-based
    count: int  # how many pages (at least 1)
    total: int  # items in the whole list
    first: int  # 1-based position of the first item shown (0 when there are none)
    last: int
    previous: str | None  # link, keeping the filter query
    next: str | None


def page_number(request: web.Request, total: int, size: int = PAGE_SIZE) -> int:
    """The page `?side=N` asks for; a missing or bad number is page 1, one past the end the last page."""
    count = max(1, -(-total // size))
    try:
        number = int(request.query.get(PAGE_PARAMETER, "1"))
    except ValueError:
        number = 1
    return min(max(number, 1), count)


def page_of(
    shown: Sequence[T],
    request: web.Request,
    values: Mapping[str, str],
    *,
    number: int,
    total: int,
    size: int = PAGE_SIZE,
) -> Page[T]:
    """Page `number` of a list of `total` items showing `shown`, with links keeping the filters `values`."""
    count = max(1, -(-total // size))
    start = (number - 1) * size
    filters = {k: v for k, v in values.items() if v}

    def link(n: int) -> str | None:
        if not 1 <= n <= count or n == number:
            return None
        return f"{request.path}?{urlencode({**filters, PAGE_PARAMETER: n})}"

    return Page(
        items=shown,
        number=number,
        count=count,
        total=total,
        first=start + 1 if shown else 0,
        last=start + len(shown),
        previous=link(number - 1),
        next=link(number + 1),
    )


def paginate(items: Sequence[T], request: web.Request, form: Form, size: int = PAGE_SIZE) -> Page[T]:
    """The page `?side=N` asks for of a list in memory (see `page_number`)."""
    number = page_number(request, len(items), size)
    start = (number - 1) * size
    return page_of(
        items[start : start + size], request, form.values, number=number, total=len(items), size=size
    )


@dataclasses.dataclass(frozen=True)
class Bar:
    label: str
    value: int
    shown: str  # the number as written beside the bar
    width: float  # percent of the drawing width
    part: float = 0.0  # a second, darker part (the funnel's "left here"), percent


def bars(items: Sequence[tuple[str, int, str]], *, parts: Sequence[int] | None = None) -> list[Bar]:
    top = max((value for _, value, _ in items), default=0) or 1
    return [
        Bar(
            label, value, shown, round(100 * value / top, 2), round(100 * (parts[i] if parts else 0) / top, 2)
        )
        for i, (label, value, shown) in enumerate(items)
    ]


def _choices() -> dict[str, list[tuple[str, str]]]:
    any_ = ("", text("filters.any"))
    yes_no_choices = [any_, ("yes", text("filters.yes")), ("no", text("filters.no"))]
    return {
        "municipality": [any_, *((key, p.name) for key, p in profiles().items() if key != "default")],
        "channel": [any_, *((c, text(f"channels.{c}")) for c in CHANNELS)],
        "outcome": [any_, *((o, outcome_label(o)) for o in OUTCOME_KEYS)],
        "handoff": yes_no_choices,
        "fallback": yes_no_choices,
        "draft": yes_no_choices,
    }


@dataclasses.dataclass(frozen=True)
class NavLink:
    path: str
    href: str  # with the filter query, for the analyst pages
    label: str


def _nav(roles: frozenset[str], query: str) -> list[NavLink]:
    """The pages this account may open: the analyst pages (keeping the filters) and the audit log."""
    links = []
    if "analyst" in roles:
        for path, key in (
            (PREFIX, "overview"),
            (f"{PREFIX}/tragt", "funnel"),
            (f"{PREFIX}/ikke-forstaaet", "not_understood"),
            (f"{PREFIX}/samtaler", "conversations"),
        ):
            links.append(NavLink(path, f"{path}?{query}" if query else path, text(f"nav.{key}")))
    if "admin" in roles:
        links.append(NavLink(AUDIT_PATH, AUDIT_PATH, text("nav.audit")))
    return links


async def _render(request: web.Request, template: str, form: Form | None, **context: Any) -> web.Response:
    user = await current_user(request)
    query = urlencode({k: v for k, v in form.values.items() if v}) if form else ""
    html = render_page(
        template,
        t=text,
        labels={
            "question": question_label,
            "outcome": outcome_label,
            "municipality": municipality_name,
            "duration": duration,
            "percent": percent,
            "number": number,
            "yes_no": yes_no,
            "channel": lambda c: text(f"channels.{c}"),
            "kind": lambda k: text(f"kinds.{k}"),
        },
        prefix=PREFIX,
        path=request.path,
        query=query,
        form=form,
        choices=_choices(),
        nav=_nav(frozenset(user.roles) if user else frozenset(), query),
        user_name=user.name if user else "",
        csrf=await csrf_token(request),
        logout_label=web_text("login.logout"),
        **context,
    )
    return web.Response(text=html, content_type="text/html")


def _csv(body: str, filename: str) -> web.Response:
    response = web.Response(text=body, content_type="text/csv", charset="utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _form(request: web.Request) -> Form:
    return parse_form(request.query, request.app[STATE].config.clock())


async def _audited(
    request: web.Request,
    what: What,
    *,
    conversation_id: str | None = None,
    export: str | None = None,
    filters: Mapping[str, str] | None = None,
) -> web.Response | None:
    """Write this read's audit row, before anything is read; if it cannot be written, the Danish
    refusal to send instead (fail closed), else None."""
    user = await current_user(request)
    if user is None:  # `require_role` let no anonymous request in
        raise web.HTTPUnauthorized(text=web_text("errors.login_needed"), content_type="text/plain")
    state = request.app[STATE]
    entry = AuditEntry(
        at=state.config.clock(),
        username=user.username,
        roles=tuple(sorted(user.roles)),
        what=what,
        conversation_id=conversation_id,
        export=export,
        filters=tuple((k, v) for k, v in (filters or {}).items() if v),
    )
    audit = state.opened().audit
    try:
        if audit is None:
            raise AuditWriteError("no audit log is open")
        await asyncio.to_thread(audit.record, entry)
    except AuditWriteError:
        return message_page(
            text("audit.unavailable.title"),
            text("audit.unavailable.text"),
            status=503,
            link=(PREFIX, text("audit.unavailable.link")),
        )
    return None


async def _export(
    request: web.Request, filename: str, body: Callable[[list[ConversationRecord]], str]
) -> web.Response:
    """A CSV export of the filtered records, audited first (the file name and the filters asked for)."""
    form = _form(request)
    refused = await _audited(request, "export", export=filename, filters=form.values)
    if refused is not None:
        return refused
    records = await _records(request, form)
    return _csv(
        await asyncio.to_thread(body, records), filename
    )  # grouping can take seconds: off the event loop


# --- pages ------------------------------------------------------------------------------


@require_role("analyst")
async def overview_page(request: web.Request) -> web.Response:
    form = _form(request)
    figures = queries.overview(await _records(request, form))
    analytics = request.app[STATE].opened().analytics
    dead_letters = (  # None in the embedded profile: no consumer, nothing to set aside
        await asyncio.to_thread(
            queries.dead_lettered, analytics, since=form.filters.since, until=form.filters.until
        )
        if analytics is not None
        else None
    )
    outcome_bars = bars(
        [(outcome_label(k), n, str(n)) for k, n in figures.outcomes.items()],
    )
    total = figures.conversations
    rate_items = [
        (text("overview.completion_rate"), figures.completed, percent(figures.completion_rate)),
        (text("overview.handoff_rate"), figures.handoffs, percent(figures.handoff_rate)),
        (
            text("overview.with_fallback"),
            figures.with_fallback,
            percent(figures.with_fallback / total if total else None),
        ),
    ]
    rate_bars = [
        Bar(label, value, shown, round(100 * value / total, 2) if total else 0.0)
        for label, value, shown in rate_items
    ]
    return await _render(
        request,
        "analyst_overview.html",
        form,
        title=text("overview.title"),
        figures=figures,
        outcome_bars=outcome_bars,
        rate_bars=rate_bars,
        dead_letters=dead_letters,
    )


@require_role("analyst")
async def overview_csv(request: web.Request) -> web.Response:
    return await _export(request, "overblik.csv", lambda found: report.overview_csv(queries.overview(found)))


@require_role("analyst")
async def funnel_page(request: web.Request) -> web.Response:
    form = _form(request)
    steps = queries.funnel(await _records(request, form))
    funnel_bars = bars(
        [(question_label(s.question), s.reached, f"{s.reached} / {s.left}") for s in steps],
        parts=[s.left for s in steps],
    )
    return await _render(
        request, "analyst_funnel.html", form, title=text("funnel.title"), steps=steps, funnel_bars=funnel_bars
    )


@require_role("analyst")
async def funnel_csv(request: web.Request) -> web.Response:
    return await _export(request, "tragt.csv", lambda found: report.funnel_csv(queries.funnel(found)))


@require_role("analyst")
async def not_understood_page(request: web.Request) -> web.Response:
    form = _form(request)
    # grouping is CPU work: a thread, so other requests are answered meanwhile
    groups = await asyncio.to_thread(queries.not_understood, await _records(request, form))
    return await _render(
        request,
        "analyst_not_understood.html",
        form,
        title=text("not_understood.title"),
        page=paginate([g for g in groups if not g.junk], request, form),
        junk=[g for g in groups if g.junk],
        junk_limit=JUNK_LIMIT,
    )


@require_role("analyst")
async def not_understood_csv(request: web.Request) -> web.Response:
    return await _export(
        request,
        "ikke-forstaaet.csv",
        lambda found: report.not_understood_csv(queries.not_understood(found)),
    )


@require_role("analyst")
async def conversations_page(request: web.Request) -> web.Response:
    form = _form(request)
    records = await _records(request, form)
    return await _render(
        request,
        "analyst_conversations.html",
        form,
        title=text("conversations.title"),
        page=paginate(records, request, form),
    )


@require_role("analyst")
async def conversations_csv(request: web.Request) -> web.Response:
    return await _export(request, "samtaler.csv", report.conversations_csv)


@require_role("analyst")
async def transcript_page(request: web.Request) -> web.Response:
    sender = request.match_info["sender"]
    refused = await _audited(request, "transcript", conversation_id=sender)
    if refused is not None:
        return refused
    tracker = request.app[STATE].opened().tracker
    events = await asyncio.to_thread(tracker.events, sender)
    if not events:
        response = await _render(
            request,
            "analyst_transcript.html",
            None,
            title=text("transcript.title", id=sender),
            lines=None,
            record=None,
        )
        response.set_status(404)
        return response
    return await _render(
        request,
        "analyst_transcript.html",
        None,
        title=text("transcript.title", id=sender),
        sender=sender,
        record=summarise(sender, events),
        lines=transcript(events),
        back=f"{PREFIX}/samtaler?{request.query_string}" if request.query_string else f"{PREFIX}/samtaler",
    )


def describe_filters(entry: AuditEntry) -> str:
    """An export's filters as the analyst chose them: 'Fra dato: 2026-11-01, Kanal: Borger'."""
    choices = _choices()
    parts = [
        f"{text(f'filters.{key}')}: {dict(choices.get(key, ())).get(value, value)}"
        for key, value in entry.filters
        if key in ("since", "until", *_CHOICE_FIELDS)
    ]
    return ", ".join(parts) or text("audit.no_filters")


@require_role("admin")
async def audit_page(request: web.Request) -> web.Response:
    """The audit log, newest first, filtered by user and by conversation, a page at a time."""
    state = request.app[STATE]
    audit = state.opened().audit
    values = {
        AUDIT_USER: request.query.get(AUDIT_USER, "").strip()[:255],
        AUDIT_CONVERSATION: request.query.get(AUDIT_CONVERSATION, "").strip()[:255],
    }
    chosen = {"username": values[AUDIT_USER] or None, "conversation_id": values[AUDIT_CONVERSATION] or None}
    total = await asyncio.to_thread(functools.partial(audit.count, **chosen)) if audit else 0
    number = page_number(request, total)
    shown = (
        await asyncio.to_thread(
            functools.partial(audit.entries, **chosen, offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE)
        )
        if audit
        else []
    )
    users = await asyncio.to_thread(audit.usernames) if audit else []
    page = page_of(shown, request, values, number=number, total=total)
    return await _render(
        request,
        "analyst_audit.html",
        None,
        title=text("audit.title"),
        page=page,
        values=values,
        users=users,
        days=state.config.audit_retention_days,
        describe_filters=describe_filters,
        role_label=lambda role: text(f"roles.{role}"),
    )


# --- set-up -----------------------------------------------------------------------------


def setup(app: web.Application, config: Settings) -> None:
    """Routes under /analyse and the stores they read (opened on start-up)."""
    state = AnalystState(config)

    async def context(app: web.Application) -> AsyncIterator[None]:
        tracker = TrackerEvents(config.tracker_database_url)
        analytics = (
            await asyncio.to_thread(AnalyticsStore, config.analytics_database_url)
            if config.analytics_database_url
            else None
        )
        audit = AuditLog(config.audit_database_url)  # creates its table on the first read it records
        stores = Stores(tracker, analytics, None, audit)  # no drafts: `bot.web.drafts` has its own job
        state.stores = stores
        try:
            async with repeating(
                functools.partial(delete_old_conversations, stores, config),
                every=config.purge_interval_seconds,
                what="deleting old conversations",
            ):
                yield
        finally:
            stores.close()
            state.stores = None

    app[STATE] = state
    app.cleanup_ctx.append(context)
    add = app.router.add_get
    add(PREFIX, overview_page)
    add(f"{PREFIX}/overblik.csv", overview_csv)
    add(f"{PREFIX}/tragt", funnel_page)
    add(f"{PREFIX}/tragt.csv", funnel_csv)
    add(f"{PREFIX}/ikke-forstaaet", not_understood_page)
    add(f"{PREFIX}/ikke-forstaaet.csv", not_understood_csv)
    add(f"{PREFIX}/samtaler", conversations_page)
    add(f"{PREFIX}/samtaler.csv", conversations_csv)
    add(f"{PREFIX}/samtaler/{{sender:[^/]{{1,255}}}}", transcript_page)
    add(AUDIT_PATH, audit_page)
