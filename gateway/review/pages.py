"""The queue and the message page, and an admin's reveal of one value."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from starlette.responses import Response

from gateway import masking
from gateway.quarantine import release as releasing
from gateway.quarantine.crypto import ContentDecryptError
from gateway.quarantine.records import HeldMessage, MessageQuery, utc_now
from gateway.review import render
from gateway.review.context import Rq, day, number

log = logging.getLogger("dlp.review")
PAGE_SIZE = 50
ENTITIES = ("US_SSN", "US_ITIN", "US_EIN", "CREDIT_CARD", "UTILITY_ACCOUNT", "US_BANK_ROUTING", "US_BANK_ACCOUNT",
            "US_DRIVER_LICENSE", "PHONE_NUMBER")
STATUSES = ("held", "released", "deleted")
FILTERS = ("status", "profile", "entity", "sender", "domain", "from", "to", "q")


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the queue."""

    id: str
    received: str
    age: str
    sender: str
    recipients: str
    subject: str
    profile: str
    entities: str
    status: str
    error: str | None
    rcpt_tos: tuple[str, ...]   # every recipient, masked


def queue(rq: Rq) -> Response:
    """Held messages, newest first, filtered and paged."""
    query, values, problems = parse_filters(rq)
    page = number(rq.query("page"), 1)
    store = rq.review.store
    total = store.search_count(query)
    found = store.search(query, PAGE_SIZE, (page - 1) * PAGE_SIZE)
    now = utc_now()
    kept = {k: v for k, v in values.items() if v}

    def link(n: int) -> str:
        return "/queue?" + urlencode({**kept, "page": n})

    return rq.page("queue.html", title="Quarantine", rows=[row(m, now) for m in found], total=total,
                   values=values, problems=problems, profiles=visible_profiles(rq), entities=ENTITIES,
                   statuses=STATUSES, page=page, pages=max(1, -(-total // PAGE_SIZE)),
                   prev_url=link(page - 1) if page > 1 else None,
                   next_url=link(page + 1) if page * PAGE_SIZE < total else None,
                   back="/queue?" + urlencode({**kept, "page": page}))


def parse_filters(rq: Rq) -> tuple[MessageQuery, dict[str, str], list[str]]:
    """The queue's filters from the query string: the store query, the form values, problems."""
    values = {name: rq.query(name) for name in FILTERS}
    if "status" not in rq.request.query_params:
        values["status"] = "held"
    problems: list[str] = []
    days = {}
    for name in ("from", "to"):
        if values[name]:
            moment = day(values[name])
            if moment is None:
                problems.append(f"'{name}' must be a date like 2026-03-01")
                values[name] = ""
            else:
                days[name] = moment
    until = days["to"] + timedelta(days=1) if "to" in days else None
    status = values["status"] if values["status"] in STATUSES else None
    query = MessageQuery(status=status, allowed=rq.access.allowed, profile=values["profile"] or None,
                         entity=values["entity"] or None, sender=values["sender"] or None,
                         recipient_domain=values["domain"].lstrip("@") or None,
                         received_from=days.get("from"), received_until=until, text=values["q"] or None)
    return query, values, problems


def visible_profiles(rq: Rq) -> tuple[str, ...]:
    allowed = rq.access.allowed
    return allowed if allowed is not None else rq.review.profile_names


def row(m: HeldMessage, now: datetime) -> Row:
    """One message as the queue and the message page show it: masked as the CLI masks it."""
    counts = Counter(str(f.get("entity")) for f in m.findings)
    sender, recipients, subject = masking.held(m)
    rcpts = ", ".join(recipients[:2]) + (f" +{len(recipients) - 2}" if len(recipients) > 2 else "")
    error = masking.address(m.last_error) if m.last_error else None
    return Row(m.id, m.received_at.strftime("%Y-%m-%d %H:%M UTC"), age(now - m.received_at), sender or "<>",
               rcpts, subject or "(no subject)", m.profile,
               ", ".join(f"{e} ×{n}" for e, n in sorted(counts.items())), m.status, error, recipients)


def age(delta: timedelta) -> str:
    """A short age: "4 min", "3 h", "12 d".

    >>> age(timedelta(seconds=30)), age(timedelta(hours=5)), age(timedelta(days=3, hours=1))
    ('0 min', '5 h', '3 d')
    """
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{max(0, minutes)} min"
    return f"{minutes // 60} h" if minutes < 24 * 60 else f"{minutes // (24 * 60)} d"


def visible(rq: Rq, id: str) -> HeldMessage | None:
    """The message ``id`` if this person may see it; None otherwise (the caller says 404)."""
    held = rq.review.store.get(id)
    return held if held is not None and rq.access.may_see(held.profile) else None


def message(rq: Rq, revealed: dict[int, str] | None = None) -> Response:
    """One message: envelope, reasons, masked findings in context, bodies, attachments, actions."""
    held = visible(rq, rq.param("id"))
    if held is None:
        return rq.not_found()
    limits = rq.review.settings.detection.limits()
    try:
        view = render.build(held, rq.review.store.content(held.id), limits, rq.review.detector())
        unreadable = None
    except ContentDecryptError as exc:   # a lost old key: the envelope still shows, and the actions
        view = render.MessageView((), (), (), render.findings_only(held, rq.review.detector()))
        unreadable = str(exc)
    return rq.page("message.html", title=f"Message {held.id}", m=held, view=view, unreadable=unreadable,
                   row=row(held, utc_now()), revealed=revealed or {},
                   note_required=releasing.note_required(held.profile, rq.review.profiles))


def reveal(rq: Rq) -> Response:
    """Show one finding's value to an admin, rescanning the original; audited as "reveal"."""
    held = visible(rq, rq.param("id"))
    index = number(rq.field("finding"), -1, low=0)
    if held is None or not 0 <= index < len(held.findings):
        return rq.not_found()
    wanted = held.findings[index]
    scanner = rq.review.scanner()
    value = None
    try:
        content = rq.review.store.content(held.id)
    except ContentDecryptError:   # deleted (erased) or a lost old key: nothing to reveal
        scanner, content = None, b""
    if scanner is not None:
        for f in scanner.scan(content).findings:
            if (f.entity, f.segment, f.start, f.end) == (wanted.get("entity"), wanted.get("segment"),
                                                         wanted.get("start"), wanted.get("end")):
                value = f.value
                break
    segment = render.masked_text(str(wanted.get("segment")), rq.review.detector())   # a file name can hold one
    rq.review.store.audit("reveal", rq.access.name, held.id,
                          {"profile": held.profile, "finding": index, "entity": wanted.get("entity"),
                           "segment": segment, "found": value is not None})
    log.info("value revealed", extra={"fields": {"id": held.id, "finding": index, "actor": rq.access.name}})
    shown = value if value is not None else "(not found again: the detectors have changed since)"
    return message(rq, {index: shown})

