"""Release and delete, one message or a selection, and the sender's notice.

The work is gateway.quarantine.release's: a release claims the message
first, so two reviewers (or two gateway instances) never both relay it, and a
refusal by the downstream leaves it held with the error shown. Every page
checks the message is one this person may see, and answers "not found" when
it is not.
"""

from __future__ import annotations

import asyncio
import logging

from starlette.responses import Response

from gateway import notify
from gateway.quarantine import release as releasing
from gateway.quarantine.store import HeldMessage
from gateway.relay import RelayError
from gateway.review.context import Rq
from gateway.review.pages import visible

log = logging.getLogger("dlp.review")
_NOTE_MAX = 500


def release_one(rq: Rq) -> Response:
    """Release to every recipient, or to the ticked subset, with the note as the authorization.

    The page's form says it lists the recipients (field ``choosing``), so a form with
    none ticked is refused rather than taken as "everyone"; without it (a script), all.
    The page names each recipient by its position (the page shows addresses masked);
    a script may name them by address.
    """
    held = visible(rq, rq.param("id"))
    if held is None:
        return rq.not_found()
    chosen = [_recipient(held, value) for value in rq.fields("recipients")]
    if rq.field("choosing") == "1" and not chosen:   # the form listed them and none is ticked
        return rq.redirect(f"/messages/{held.id}", "Choose at least one recipient.")
    subset = chosen if chosen and set(chosen) != set(held.rcpt_tos) else None
    outcome = releasing.release(rq.review.store, rq.review.settings.relay, held.id, rq.access.name,
                                rq.field("note")[:_NOTE_MAX] or None, subset, policy=rq.review.profiles)
    if outcome.done:
        count = len(subset) if subset else len(held.rcpt_tos)
        return rq.redirect(f"/messages/{held.id}", f"Released {held.id} to {count} recipient(s).")
    return rq.redirect(f"/messages/{held.id}", f"Not released: {outcome.error}")


def _recipient(held: HeldMessage, value: str) -> str:
    """The recipient a form names: by position on the page (ASCII digits), else by address."""
    if value.isascii() and value.isdigit() and len(value) < 7 and int(value) < len(held.rcpt_tos):
        return held.rcpt_tos[int(value)]
    return value


def delete_one(rq: Rq) -> Response:
    """Delete with a reason, optionally telling the sender."""
    held = visible(rq, rq.param("id"))
    if held is None:
        return rq.not_found()
    reason = rq.field("reason")[:_NOTE_MAX]
    if not reason:
        return rq.redirect(f"/messages/{held.id}", "Not deleted: give a reason.")
    text = _delete(rq, held, reason, rq.field("notify") == "on")
    return rq.redirect(f"/messages/{held.id}", text)


def bulk(rq: Rq) -> Response:
    """Release or delete every selected message; a summary says what happened to each."""
    back = rq.field("back", "/queue")
    action, ids = rq.field("action"), list(dict.fromkeys(rq.fields("ids")))
    text = rq.field("text")[:_NOTE_MAX]
    if not ids or action not in ("release", "delete"):
        return rq.redirect(back, "Select messages and an action.")
    if action == "delete" and not text:
        return rq.redirect(back, "Not deleted: give a reason.")
    done, failed = 0, []
    for id in ids:
        held = visible(rq, id)
        if held is None:
            failed.append(f"{id[:20]}: not found")
            continue
        if action == "release":
            outcome = releasing.release(rq.review.store, rq.review.settings.relay, held.id,
                                        rq.access.name, text or None, policy=rq.review.profiles)
            ok, error = outcome.done, outcome.error
        else:
            ok = releasing.delete(rq.review.store, held.id, rq.access.name, text).done
            error = f"already {held.status}" if not ok else None
            if ok and rq.field("notify") == "on":
                _notify(rq, held, text)
        if ok:
            done += 1
        else:
            failed.append(f"{held.id}: {error}")
    verb = "Released" if action == "release" else "Deleted"
    summary = f"{verb} {done} of {len(ids)}." + (" Not done: " + "; ".join(failed) if failed else "")
    return rq.redirect(back, summary)


def _delete(rq: Rq, held: HeldMessage, reason: str, notify: bool) -> str:
    outcome = releasing.delete(rq.review.store, held.id, rq.access.name, reason)
    if not outcome.done:
        return f"Not deleted: {outcome.error}"
    if notify:
        return f"Deleted {held.id}. " + _notify(rq, held, reason)
    return f"Deleted {held.id}."


def _notify(rq: Rq, held: HeldMessage, reason: str) -> str:
    """Tell the sender their message was deleted (no content, no values); audited as "notify-sender"."""
    if not held.mail_from:
        return "The message had no sender address to notify."
    settings = rq.review.settings
    notice = notify.deleted_notice(settings.notify.sender, held, reason)
    try:
        asyncio.run(notify.relay_once(settings.relay, settings.notify.sender, [held.mail_from], notice))
        sent, text = True, "The sender was notified."
    except RelayError as exc:
        sent, text = False, f"The sender could not be notified: {exc.reply}"
    rq.review.store.audit("notify-sender", rq.access.name, held.id, {"profile": held.profile, "sent": sent})
    return text
