"""Notices about held, refused and deleted mail: to security staff and, per profile,
to the sender. Every notice the gateway and the review app send is built and
sent here.

Masked values only: the envelope given here is the one logs show (its
addresses masked by gateway.masking; the notice goes to the real one).
Notices are sent through the downstream like any mail;
one that cannot be sent is logged and counted, never retried at the cost of
the message it is about (which is already refused or durably held).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Sequence
from email.message import EmailMessage
from email.utils import format_datetime, formatdate, make_msgid
from typing import Any

from gateway import masking
from gateway.config import NotifySettings, RelaySettings
from gateway.metrics import Metrics
from gateway.quarantine.records import HeldMessage
from gateway.relay import RelayError, RelayPool, Transaction
from gateway.verdict import Envelope, Verdict

log = logging.getLogger("dlp.notify")


def _summary(verdict: Verdict, envelope: Envelope, held_as: str | None) -> list[str]:
    domains = sorted({r.rpartition("@")[2].lower() for r in envelope.rcpt_tos})
    lines = [f"Policy profile: {verdict.profile}",
             f"Action: {verdict.action.value}" + (f" (quarantine id {held_as})" if held_as else ""),
             f"Sender: {envelope.mail_from or '<>'}",
             f"Recipient domains: {', '.join(domains)}",
             "Why: " + "; ".join(verdict.reasons)]
    if verdict.findings:
        lines.append("Findings (masked):")
        lines += [f"  {f.entity} in {f.segment}: {f.masked}" for f in verdict.findings[:50]]
        if len(verdict.findings) > 50:
            lines.append(f"  ... and {len(verdict.findings) - 50} more")
    return lines


def security_notice(verdict: Verdict, envelope: Envelope, held_as: str | None, message_id: str | None,
                    sender: str, to: str) -> bytes:
    """The notice to security staff about one blocked or held message."""
    body = _summary(verdict, envelope, held_as)
    if message_id:
        body.insert(3, f"Message-ID: {message_id}")
    return _message(sender, to, f"[dlp-gateway] {verdict.action.value}: {verdict.profile}", body)


def sender_notice(verdict: Verdict, envelope: Envelope, held_as: str | None, subject: str | None,
                  sender: str) -> bytes:
    """The notice to the sender saying what was held and why."""
    what = "held for review by security staff" if held_as else "not sent"
    body = [f"Your message \"{(subject or '(no subject)')[:200]}\" was {what}.",
            "It appears to contain sensitive data: " + "; ".join(verdict.reasons) + "."]
    if held_as:
        body.append(f"Reference: {held_as}. Security staff will release or delete it.")
    if verdict.accepted:
        body.append("If it serves a business purpose, resend it with one of these tags in the subject: "
                    + ", ".join(f"[purpose:{code}]" for code in verdict.accepted) + ".")
    return _message(sender, envelope.mail_from, f"[dlp-gateway] your message was {what}", body)


def _message(sender: str, to: str, subject: str, lines: list[str]) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"   # RFC 3834: no auto-replies to this
    message.set_content("\n".join(lines) + "\n")
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))


def deleted_notice(sender: str, held: HeldMessage, reason: str) -> bytes:
    """The notice to the sender of a held message deleted by review: which message
    (by date and id), that it was deleted, and why."""
    notice = EmailMessage()
    notice["From"] = sender
    notice["To"] = masking.address(held.mail_from)   # the envelope has the real one
    notice["Subject"] = f"Your message was not delivered ({held.id})"
    notice["Date"] = format_datetime(held.received_at.now(held.received_at.tzinfo))
    notice["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2])
    notice["Auto-Submitted"] = "auto-generated"
    notice.set_content(
        f"Your message sent {held.received_at:%Y-%m-%d %H:%M} UTC to {len(held.rcpt_tos)} recipient(s) "
        f"was held by the data-loss-prevention gateway (policy {held.profile}) and deleted by "
        f"security review.\n\nReason: {reason}\nQuarantine id: {held.id}\n")
    return notice.as_bytes(policy=notice.policy.clone(linesep="\r\n"))


class Notifier:
    """The gateway's notices about blocked and held messages, sent after the reply."""

    def __init__(self, pool: RelayPool, settings: NotifySettings, metrics: Metrics,
                 later: Callable[[Coroutine[Any, Any, Any]], None]) -> None:
        self.pool = pool
        self.settings = settings
        self.metrics = metrics
        self.later = later

    def held_or_blocked(self, envelope: Envelope, verdict: Verdict, held_as: str | None,
                        message_id: str | None, subject: str, notify_sender: bool) -> None:
        """Queue the notice to security staff and, when the profile says so, the sender's."""
        settings = self.settings
        notices: list[tuple[str, bytes]] = []
        shown = masking.envelope(envelope)   # for the text; the sender's notice goes to the real address
        if settings.security:
            notices.append((settings.security, security_notice(
                verdict, shown, held_as, message_id, settings.sender, settings.security)))
        if notify_sender and envelope.mail_from:
            notices.append((envelope.mail_from, sender_notice(verdict, shown, held_as, subject, settings.sender)))
        for to, message in notices:
            self.later(self._send(to, message))

    async def _send(self, to: str, message: bytes) -> None:
        sent = await send(self.pool, self.settings.sender, [to], message)
        self.metrics.notices.labels("sent" if sent else "failed").inc()


async def relay(pool: RelayPool, sender: str, recipients: Sequence[str], message: bytes) -> None:
    """Relay one notice downstream (SMTPUTF8 when an address needs it); RelayError when refused."""
    transaction = Transaction(pool)
    options = [] if (sender + "".join(recipients)).isascii() else ["SMTPUTF8"]
    try:
        transaction.mail(sender, options)
        for recipient in recipients:
            await transaction.rcpt(recipient)
        await transaction.data(message)
    finally:
        await transaction.reset()


async def relay_once(settings: RelaySettings, sender: str, recipients: Sequence[str], message: bytes) -> None:
    """``relay`` on a connection of its own (the review app's, outside the gateway's pool)."""
    pool = RelayPool(settings)
    try:
        await relay(pool, sender, recipients, message)
    finally:
        await pool.close()


async def send(pool: RelayPool, sender: str, recipients: Sequence[str], message: bytes) -> bool:
    """Relay one notice downstream; False (and a log line) when it could not go."""
    try:
        await relay(pool, sender, recipients, message)
        return True
    except RelayError as exc:
        log.warning("notice not sent", extra={"fields": {"reason": exc.reason, "reply": exc.reply}})
        return False
    except Exception as exc:  # an address the downstream client cannot encode, say
        log.warning("notice not sent", extra={"fields": {"reason": type(exc).__name__}})
        return False
