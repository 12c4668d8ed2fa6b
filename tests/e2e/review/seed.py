"""Putting messages into a gateway's quarantine as the gateway would: the
real scanner finds the values, the store keeps the masked findings."""

from __future__ import annotations

from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

from gateway import config, pipeline
from gateway.quarantine import HeldMessage, new_id, open_from_settings
from gateway.quarantine.store import ReviewStore, utc_now

_PIPELINES: dict[Path, pipeline.Pipeline] = {}


def compose(sender: str, recipients: list[str], subject: str, body: str,
            html: str | None = None, attachment: tuple[str, bytes] | None = None,
            headers: dict[str, str] | None = None) -> bytes:
    """A message as a mail client would send it."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Subject"] = subject
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    if attachment is not None:
        msg.add_attachment(attachment[1], maintype="text", subtype="plain", filename=attachment[0])
    return msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))


def hold(settings: config.Settings, content: bytes, sender: str, recipients: list[str], profile: str,
         subject: str, age: timedelta = timedelta(0), store: ReviewStore | None = None) -> HeldMessage:
    """Scan ``content`` and store it held under ``profile``, received ``age`` ago."""
    stages = _PIPELINES.get(settings.data_dir) or pipeline.Pipeline.from_settings(settings)
    _PIPELINES[settings.data_dir] = stages
    assert stages.scanner is not None
    found = stages.scanner.scan(content).findings
    findings = tuple({"entity": f.entity, "segment": f.segment, "start": f.start, "end": f.end,
                      "score": round(f.score, 2), "masked": f.masked} for f in found)
    received: datetime = utc_now() - age
    message = HeldMessage(id=new_id(), received_at=received, mail_from=sender, rcpt_tos=tuple(recipients),
                          subject=subject, profile=profile, action="quarantine",
                          reasons=("sensitive-data",), findings=findings, size=len(content),
                          status="held", decided_by=None, decided_at=None, note=None)
    own = store is None
    target = store or open_from_settings(settings)
    try:
        target.put(message, content)
    finally:
        if own:
            target.close()
    return message
