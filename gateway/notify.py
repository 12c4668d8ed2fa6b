"""Notices about held and refused mail: to security staff and, per profile, to the sender.

Masked values only: the envelope given here is the one logs show (its
addresses masked by gateway.masking; the caller sends to the real one).
Notices are sent through the downstream like any mail;
one that cannot be sent is logged and counted, never retried at the cost of
the message it is about (which is already refused or durably held).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from gateway.pipeline import Envelope, Verdict
from gateway.relay import RelayError, RelayPool, Transaction

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


async def send(pool: RelayPool, sender: str, recipients: Sequence[str], message: bytes) -> bool:
    """Relay one notice downstream; False (and a log line) when it could not go."""
    transaction = Transaction(pool)
    options = [] if (sender + "".join(recipients)).isascii() else ["SMTPUTF8"]
    try:
        await transaction.mail(sender, options)
        for recipient in recipients:
            await transaction.rcpt(recipient)
        await transaction.data(message)
        return True
    except RelayError as exc:
        log.warning("notice not sent", extra={"fields": {"reason": exc.reason, "reply": exc.reply}})
        return False
    except Exception as exc:  # an address the downstream client cannot encode, say
        log.warning("notice not sent", extra={"fields": {"reason": type(exc).__name__}})
        return False
    finally:
        await transaction.reset()
