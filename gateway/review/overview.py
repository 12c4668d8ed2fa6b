"""At a glance: the dashboard, the audit log (page and CSV) and accounts."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from starlette.concurrency import iterate_in_threadpool
from starlette.responses import Response, StreamingResponse

from gateway.quarantine.store import AuditQuery, ReviewStore, utc_now
from gateway.review import chart, users as accounts
from gateway.review.app import Rq, day, number
from gateway.review.pages import STATUSES, visible_profiles

AUDIT_PAGE = 100
CSV_BATCH = 1000
CHART_EVENTS = ("block", "quarantine", "exception", "release")
CHART_DAYS = 30


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
    return rq.page("dashboard.html", title="Dashboard", counts=sorted(counts.items()), statuses=STATUSES,
                   totals={s: sum(c.get(s, 0) for c in counts.values()) for s in STATUSES},
                   chart=chart.bars(days, series), series=series)


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


def _shown(record: dict[str, object]) -> dict[str, str]:
    at = record["at"]
    return {"seq": str(record["seq"]), "at": at.strftime("%Y-%m-%d %H:%M:%S") if isinstance(at, datetime) else "",
            "event": str(record["event"]), "actor": str(record["actor"]),
            "message_id": str(record["message_id"] or ""),
            "details": json.dumps(record["details"], ensure_ascii=False, sort_keys=True)}


def audit_csv(rq: Rq) -> Response:
    """The filtered audit log as CSV, newest first."""
    query, _ = _audit_query(rq)
    store = rq.review.store
    store.audit("audit-export", rq.access.name, None, {"filters": _filters(query)})
    stamp = utc_now().strftime("%Y%m%d-%H%M%S")
    return StreamingResponse(_threaded(csv_chunks(store, query)), media_type="text/csv; charset=utf-8",
                             headers={"content-disposition": f'attachment; filename="audit-{stamp}.csv"'})


def csv_chunks(store: ReviewStore, query: AuditQuery, batch: int = CSV_BATCH) -> Iterator[str]:
    """The CSV text, one chunk per batch of records, newest first.

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
            writer.writerow([cell_safe(shown[k]) for k in ("seq", "at", "event", "actor", "message_id", "details")])
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
