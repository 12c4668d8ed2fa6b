"""At a glance: the dashboard, the audit log (page and CSV) and accounts.

Audit details show as labelled fields, with the sender-written ones
(addresses, downstream replies) masked and bidirectional controls escaped,
on the page and in the CSV alike.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from starlette.concurrency import iterate_in_threadpool
from starlette.responses import Response, StreamingResponse

from gateway import masking
from gateway.quarantine.records import HELD, AuditQuery, MessageQuery, utc_now
from gateway.quarantine.store import ReviewStore
from gateway.review import chart, users as accounts
from gateway.review.app import Rq, day, number
from gateway.review.render import visible
from gateway.review.pages import STATUSES, visible_profiles

AUDIT_PAGE = 100
CSV_BATCH = 1000
CHART_EVENTS = ("block", "quarantine", "exception", "release")
CHART_DAYS = 30
# Every decision the audit log records about a message (plain deliveries are
# counted in dlp_messages_total, not audited).
ACTIONS = ("block", "quarantine", "exception", "monitor", "release", "delete")
TOP = 10
TOP_SCAN = 5000   # held messages read for the top lists (the newest)
_BATCH = 500


@dataclass(frozen=True, slots=True)
class Held:
    """What the held mail is: the most frequent senders (masked) and entities."""

    senders: tuple[tuple[str, int], ...]
    entities: tuple[tuple[str, int, int], ...]   # (entity, messages, findings)
    read: int
    total: int


def dashboard(rq: Rq) -> Response:
    """Held messages by profile and status, and the last 30 days of decisions."""
    store, allowed = rq.review.store, rq.access.allowed
    counts: dict[str, dict[str, int]] = {}
    for profile, status, n in store.summary(allowed):
        counts.setdefault(profile, {})[status] = n
    today = utc_now().date()
    first = today - timedelta(days=CHART_DAYS - 1)
    since = datetime(first.year, first.month, first.day, tzinfo=UTC)
    daily = store.audit_daily(since, CHART_EVENTS, allowed)
    days = [(first + timedelta(days=i)).isoformat() for i in range(CHART_DAYS)]
    series = {event: [daily.get((day, event), 0) for day in days] for event in CHART_EVENTS}
    recent = store.audit_daily(since, ACTIONS, allowed)
    volume = [(action, sum(n for (_, e), n in recent.items() if e == action),
               store.audit_count(AuditQuery(event=action, profiles=allowed))) for action in ACTIONS]
    return rq.page("dashboard.html", title="Dashboard", counts=sorted(counts.items()), statuses=STATUSES,
                   totals={s: sum(c.get(s, 0) for c in counts.values()) for s in STATUSES},
                   chart=chart.bars(days, series), series=series, volume=volume,
                   held=held_mail(store, allowed))


def held_mail(store: ReviewStore, allowed: tuple[str, ...] | None, limit: int = TOP_SCAN) -> Held:
    """The top senders and entities of the held messages (the newest ``limit`` of them)."""
    query = MessageQuery(status=HELD, allowed=allowed)
    senders: Counter[str] = Counter()
    messages: Counter[str] = Counter()
    findings: Counter[str] = Counter()
    read = 0
    while read < limit and (batch := store.search(query, min(_BATCH, limit - read), read)):
        read += len(batch)
        for m in batch:
            sender, _, _ = masking.held(m)
            senders[sender or "<>"] += 1
            entities = [str(f.get("entity")) for f in m.findings]
            findings.update(entities)
            messages.update(set(entities))
    top = tuple((e, n, findings[e]) for e, n in sorted(messages.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP])
    return Held(tuple(sorted(senders.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]), top, read,
                store.search_count(query) if read >= limit else read)


def _audit_query(rq: Rq) -> tuple[AuditQuery, dict[str, str]]:
    values = {name: rq.query(name) for name in ("event", "actor", "message", "from", "to")}
    moments: dict[str, datetime] = {}
    for name in ("from", "to"):
        moment = day(values[name])
        if moment is None:
            values[name] = ""
        else:
            moments[name] = moment
    until = moments["to"] + timedelta(days=1) if "to" in moments else None
    query = AuditQuery(event=values["event"] or None, actor=values["actor"] or None,
                       message_id=values["message"] or None, since=moments.get("from"), until=until,
                       profiles=rq.access.allowed)
    return query, values


def audit(rq: Rq) -> Response:
    """The audit log, newest first, filtered and paged (limited reviewers see their profiles' records)."""
    query, values = _audit_query(rq)
    page = number(rq.query("page"), 1)
    store = rq.review.store
    total = store.audit_count(query)
    records = store.audit_page(query, AUDIT_PAGE, (page - 1) * AUDIT_PAGE)
    kept = {k: v for k, v in values.items() if v}

    def link(n: int) -> str:
        return "/audit?" + urlencode({**kept, "page": n})

    return rq.page("audit.html", title="Audit log", records=[_shown(r) for r in records], total=total,
                   values=values, page=page, csv_url="/audit.csv?" + urlencode(kept),
                   prev_url=link(page - 1) if page > 1 else None,
                   next_url=link(page + 1) if page * AUDIT_PAGE < total else None)


def _shown(record: dict[str, object]) -> dict[str, object]:
    at = record["at"]
    raw = record["details"]
    fields = detail_fields(masking.details(raw if isinstance(raw, dict) else {}))
    return {"seq": str(record["seq"]), "at": at.strftime("%Y-%m-%d %H:%M:%S") if isinstance(at, datetime) else "",
            "event": str(record["event"]), "actor": str(record["actor"]),
            "message_id": str(record["message_id"] or ""), "fields": fields,
            "details": "; ".join(f"{label}: {value}" for label, value in fields)}


def detail_fields(details: dict[str, object]) -> list[tuple[str, str]]:
    """Audit details as (label, text) pairs, in a stable order; empty values left out.

    >>> detail_fields({"sender": "a@x.example", "entities": {"US_SSN": 2}, "recipient_domains": ["x", "y"],
    ...                "purpose": None, "forced": False, "recipients": 1})
    [('entities', 'US_SSN ×2'), ('forced', 'no'), ('recipient domains', 'x, y'), ('recipients', '1'), ('sender', 'a@x.example')]
    """
    out: list[tuple[str, str]] = []
    for key in sorted(details):
        value = details[key]
        if value is None or value == "" or value == [] or value == {}:
            continue
        out.append((key.replace("_", " "), _text(value)))
    return out


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return ", ".join(f"{k} ×{v}" if isinstance(v, int) and not isinstance(v, bool) else f"{k}: {_text(v)}"
                         for k, v in sorted(value.items()))
    if isinstance(value, (list, tuple)):
        return ", ".join(_text(v) for v in value)
    return str(value)


def audit_csv(rq: Rq) -> Response:
    """The filtered audit log as CSV, newest first."""
    query, _ = _audit_query(rq)
    store = rq.review.store
    store.audit("audit-export", rq.access.name, None, {"filters": _filters(query)})
    stamp = utc_now().strftime("%Y%m%d-%H%M%S")
    chunks = csv_chunks(store, query)
    return StreamingResponse(_threaded(chunks), media_type="text/csv; charset=utf-8",
                             headers={"content-disposition": f'attachment; filename="audit-{stamp}.csv"'})


def csv_chunks(store: ReviewStore, query: AuditQuery, batch: int = CSV_BATCH) -> Iterator[str]:
    """The CSV text, one chunk per batch of records, newest first; details as
    "label: value" pairs, masked and with bidi controls escaped as the page shows them.

    Batches follow the sequence number (each starts below the last one sent),
    so records appended while the export runs neither repeat nor shift rows.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["seq", "at", "event", "actor", "message_id", "details"])
    before: int | None = None
    while True:
        records = store.audit_page(query, batch, before=before)
        for record in records:
            shown = _shown(record)
            writer.writerow([cell_safe(visible(str(shown[k])))
                             for k in ("seq", "at", "event", "actor", "message_id", "details")])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if len(records) < batch:
            return
        before = int(str(records[-1]["seq"]))


async def _threaded(rows: Iterator[str]) -> AsyncIterator[str]:
    async for chunk in iterate_in_threadpool(rows):
        yield chunk


def cell_safe(text: str) -> str:
    """Neutralise spreadsheet formulas (OWASP "CSV Injection").

    >>> cell_safe("=HYPERLINK(1)"), cell_safe("alice")
    ("'=HYPERLINK(1)", 'alice')
    """
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _filters(query: AuditQuery) -> dict[str, str]:
    return {k: str(v) for k, v in (("event", query.event), ("actor", query.actor),
                                   ("message_id", query.message_id)) if v}


def users(rq: Rq, error: str | None = None) -> Response:
    """Accounts, with forms to add and disable (admins only)."""
    return rq.page("users.html", title="Accounts", accounts=rq.review.store.users(), error=error,
                   roles=accounts.ROLES, profiles=visible_profiles(rq), min_password=accounts.MIN_PASSWORD)


def add_user(rq: Rq) -> Response:
    """Create an account (audited as "user-add" by the acting admin)."""
    try:
        accounts.add(rq.review.store, rq.field("name"), rq.field("role"), tuple(rq.fields("profiles")),
                     rq.form.get("password", [""])[0], set(rq.review.profile_names), rq.access.name)
    except accounts.UserError as exc:
        return users(rq, str(exc))
    return rq.redirect("/users", f"Added {rq.field('name')}.")


def disable_user(rq: Rq) -> Response:
    """Disable an account (not one's own, not the last enabled admin); its sessions end with its next request."""
    try:
        accounts.disable(rq.review.store, rq.param("name"), rq.access.name)
    except accounts.UserError as exc:
        return users(rq, str(exc))
    return rq.redirect("/users", f"Disabled {rq.param('name')}.")
