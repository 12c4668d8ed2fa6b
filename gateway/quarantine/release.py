"""Releasing a held message: relay the stored original downstream, at most once.

The message is claimed in the store first (one claimant wins, across
reviewers and gateway instances), then relayed, then marked released with its
audit record in one transaction. A downstream refusal gives the claim back:
the message stays held with the error shown. Used by the CLI and the review app.

Where a profile says ``release_note: required`` (Cerritos, Palos Verdes
Estates: a release *is* the written authorization of a supervisor, Director
or the City Manager), a release without a note naming who authorized it is
refused; the note goes into the audit record and the ``X-DLP-Released-By``
header. What goes out carries no ``X-DLP-*`` field but that one: any the
sender wrote (a message held before the edge removed them) is dropped.
A delete needs a reason.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from email.header import Header

from gateway import edits
from gateway.config import RelaySettings
from gateway.policy.profiles import Profiles, defaults
from gateway.quarantine.records import AuditEntry
from gateway.quarantine.store import QuarantineStore
from gateway.relay import RelayError, RelayPool, Transaction
from gateway.verdict import Action, Event, ReleaseOutcome, Status

log = logging.getLogger("dlp.quarantine")
_UNSAFE = re.compile(r"[\x00-\x1f\x7f]+")


class _Uncertain(Exception):
    """DATA was sent but no answer came back: the message may have been delivered."""


def released_by_header(by: str, note: str | None, id: str) -> bytes:
    """The ``X-DLP-Released-By`` header: who released it, and the note (the authorization)."""
    text = f"{_UNSAFE.sub(' ', by)}; quarantine={id}"
    if note:
        text += f"; note={_UNSAFE.sub(' ', note)}"
    text = text[:900]
    if not text.isascii():
        text = Header(text, "utf-8", header_name="X-DLP-Released-By").encode(linesep="\r\n")
    return f"X-DLP-Released-By: {text}\r\n".encode("ascii")


def released_copy(content: bytes, profile: str, policy: Profiles | None) -> bytes:
    """What goes out: the original as delivery edits it (gateway.edits: no declared
    purpose, no X-DLP-* field), with the statement of a profile that puts it on
    everything it delivers (palos-verdes)."""
    policy = policy or defaults()
    statement = None
    if profile in policy.settings.profiles:
        plan = policy.plan(profile)
        if plan.statement and plan.chain.links[-1].action == Action.DISCLAIMER.value:
            statement = plan.statement
    return edits.released(content, statement)


NOTE_REQUIRED = ("policy {profile} requires a release note naming who authorized the release "
                 "(a supervisor, Department Director or the City Manager)")
REASON_REQUIRED = "give a reason"


def note_required(profile: str, policy: Profiles | None) -> bool:
    """True when a release of a message held under ``profile`` needs a note (the authorization).

    A profile no longer configured falls under ``default``, as retention treats it.
    """
    configured = (policy or defaults()).settings.profiles
    settings = configured.get(profile) or configured.get("default")
    return settings is not None and settings.release_note == "required"


def clean(text: str | None) -> str | None:
    """A note or reason as recorded: control characters as spaces, trimmed; None when blank."""
    text = _UNSAFE.sub(" ", text or "").strip()
    return text or None


def release(store: QuarantineStore, relay: RelaySettings, id: str, by: str, note: str | None = None,
            recipients: Sequence[str] | None = None, policy: Profiles | None = None,
            force: bool = False) -> ReleaseOutcome:
    """Relay held ``id`` to its recipients (or the ``recipients`` subset of them) and mark it released.

    ``force`` takes over the claim of a release that died midway (see
    QuarantineStore.claim): only when a person has checked it did not go out.
    """
    held = store.get(id)
    if held is None:
        return ReleaseOutcome(id, False, "no such message")
    if held.status != Status.HELD:
        return ReleaseOutcome(id, False, f"already {held.status}")
    note = clean(note)
    if note is None and note_required(held.profile, policy):
        return ReleaseOutcome(id, False, NOTE_REQUIRED.format(profile=held.profile))
    targets = tuple(held.rcpt_tos if recipients is None else recipients)
    unknown = sorted(set(targets) - set(held.rcpt_tos))
    if unknown or not targets:
        return ReleaseOutcome(id, False, "recipients must be a non-empty subset of the message's recipients")
    if not store.claim(id, by, force):
        return ReleaseOutcome(id, False, "being released by someone else (or a release died midway: "
                                  "check the downstream, then release with force)")
    progress: list[str] = []   # "data" once the message is on its way
    try:
        content = released_copy(store.content(id), held.profile, policy)
        message = released_by_header(by, note, id) + content
        reply = asyncio.run(_relay(relay, held.mail_from, targets, message, progress))
    except _Uncertain as exc:
        # The message may have gone out: never offer it again by itself.
        error = f"outcome unknown, check the downstream before releasing again with force: {exc}"
        store.keep_claim(id, by, error)
        store.audit(Event.RELEASE_UNCERTAIN, by, id, {"profile": held.profile, "error": str(exc)})
        log.error("release outcome unknown", extra={"fields": {"id": id}})
        return ReleaseOutcome(id, False, error)
    except RelayError as exc:   # answered with a refusal (or never reached DATA): nothing went out
        store.unclaim(id, by, exc.reply)
        store.audit(Event.RELEASE_REFUSED, by, id, {"profile": held.profile, "downstream": exc.reply})
        return ReleaseOutcome(id, False, f"downstream refused: {exc.reply}")
    except BaseException:   # interrupted: once DATA began, the message may have gone out
        if "data" in progress:
            store.keep_claim(id, by, "release interrupted while sending: outcome unknown, check the "
                                     "downstream before releasing again with force")
        else:
            store.unclaim(id, by, "release failed (internal error)")
        raise
    details: dict[str, object] = {"profile": held.profile, "recipients": len(targets),
                                  "of": len(held.rcpt_tos), "note": note, "downstream": reply}
    if not store.decide(id, Status.RELEASED, by, note, audit=AuditEntry(Event.RELEASE, by, details)):
        # Sent, but someone forced the claim meanwhile: say so rather than pretend.
        log.error("released message not recorded", extra={"fields": {"id": id}})
        return ReleaseOutcome(id, True, "relayed, but the release could not be recorded (claim taken over)", reply)
    return ReleaseOutcome(id, True, None, reply)


def delete(store: QuarantineStore, id: str, by: str, reason: str | None,
           force: bool = False) -> ReleaseOutcome:
    """Mark held ``id`` deleted, with who and why in the audit log.

    ``force`` also deletes a message whose release died midway (see release):
    for when a person found that it did go out, or retention expires it.
    """
    held = store.get(id)
    if held is None:
        return ReleaseOutcome(id, False, "no such message")
    reason = clean(reason)
    if reason is None:
        return ReleaseOutcome(id, False, REASON_REQUIRED)
    entry = AuditEntry(Event.DELETE, by, {"profile": held.profile, "reason": reason, "forced": force})
    if not store.decide(id, Status.DELETED, by, reason, audit=entry, force=force):
        return ReleaseOutcome(id, False, f"already {held.status}" if held.status != Status.HELD else "being released")
    return ReleaseOutcome(id, True)


async def _relay(settings: RelaySettings, sender: str, recipients: Sequence[str], message: bytes,
                 progress: list[str]) -> str:
    """Relay one message on a fresh connection; any refused recipient refuses the release."""
    pool = RelayPool(settings)
    transaction = Transaction(pool)
    options = ["SMTPUTF8"] if not (sender + "".join(recipients)).isascii() else []
    if not message.isascii():
        options.append("BODY=8BITMIME")
    try:
        transaction.mail(sender, options)
        for recipient in recipients:
            await transaction.rcpt(recipient)
        progress.append("data")
        try:
            return await transaction.data(message)
        except RelayError as exc:
            if exc.reason in ("refused", "deferred"):
                raise
            raise _Uncertain(exc.reply) from None
        except Exception as exc:
            raise _Uncertain(type(exc).__name__) from None
    finally:
        await transaction.reset()
        await pool.close()
