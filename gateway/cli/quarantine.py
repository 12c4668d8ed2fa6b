"""``dlp-gateway quarantine list|show|release|delete`` and ``dlp-gateway audit export``.

The same operations as the review app, for scripts. They open the store the
way ``serve`` does (the configured URL, else SQLite under --data-dir), act as
the operating-system user unless ``--by`` names someone, and print text or,
with ``--json``, JSON. Envelope, subject and errors are masked as the review
app masks them. A release under a profile with ``release_note: required``
needs ``--note`` (the authorization); a delete needs ``--reason``. Exit
status: 0 done, 1 refused (unknown id, already decided, no note, downstream
refusal), 2 bad arguments or configuration.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from datetime import UTC, date, datetime
from typing import IO, Any

from gateway import masking
from gateway.config import Settings
from gateway.policy import profiles
from gateway.quarantine import HeldMessage, QuarantineError, open_from_settings
from gateway.quarantine.crypto import ContentDecryptError, KeyFileError
from gateway.quarantine.release import delete, release
from gateway.verdict import ReleaseOutcome


def add_commands(commands: Any, config_flag: Any) -> None:
    """Add ``quarantine`` and ``audit`` to the ``dlp-gateway`` parser."""
    quarantine = commands.add_parser("quarantine", help="list, show, release or delete held messages")
    actions = quarantine.add_subparsers(dest="quarantine_command", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="held messages, newest first")
    listing.add_argument("--status", choices=("held", "released", "deleted", "all"), default="held")
    listing.add_argument("--profile", metavar="NAME")
    listing.add_argument("--limit", type=int, default=50, metavar="N")
    show = actions.add_parser("show", help="one message: envelope, verdict, masked findings")
    show.add_argument("id")
    rel = actions.add_parser("release", help="relay a held message downstream (at most once)")
    rel.add_argument("id")
    rel.add_argument("--note", metavar="TEXT", help="the authorization: who authorized the release (required "
                     "by profiles with release_note: required); in the audit log and X-DLP-Released-By")
    rel.add_argument("--recipient", action="append", metavar="ADDR",
                     help="release to this recipient only (repeatable); default: all")
    rel.add_argument("--force", action="store_true",
                     help="take over a release that died midway (after checking it did not go out)")
    drop = actions.add_parser("delete", help="delete a held message (recorded)")
    drop.add_argument("id")
    drop.add_argument("--reason", metavar="TEXT", required=True, help="why (recorded in the audit log)")
    drop.add_argument("--force", action="store_true",
                      help="delete a message whose release died midway (after checking the downstream)")
    for sub in (listing, show, rel, drop):
        _common(sub, config_flag)
    for sub in (rel, drop):
        sub.add_argument("--by", metavar="NAME", help="who decides (default: the operating-system user)")

    audit = commands.add_parser("audit", help="the audit log")
    audit_actions = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    export = audit_actions.add_parser("export", help="audit records as JSON Lines, oldest first")
    export.add_argument("--since", required=True, type=_since, metavar="DATE",
                        help="YYYY-MM-DD (UTC) or an ISO 8601 time")
    _common(export, config_flag, json_flag=False)


def _common(parser: argparse.ArgumentParser, config_flag: Any, json_flag: bool = True) -> None:
    config_flag(parser)
    parser.add_argument("--data-dir", metavar="DIR", help="quarantine location (default ./var)")
    if json_flag:
        parser.add_argument("--json", action="store_true", help="print JSON")


def _since(text: str) -> datetime:
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (use YYYY-MM-DD)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def run(args: argparse.Namespace, settings: Settings, out: IO[str] = sys.stdout,
        err: IO[str] = sys.stderr) -> int:
    """Run one quarantine or audit command."""
    try:
        store = open_from_settings(settings, create=False)
    except (QuarantineError, KeyFileError, OSError) as exc:
        print(f"dlp-gateway {args.command}: cannot open the quarantine store: {exc}", file=err)
        return 2
    try:
        if args.command == "audit":
            for record in store.audit_since(args.since):
                record["details"] = masking.details(_dict(record["details"]))
                out.write(json.dumps(record, default=_json, sort_keys=True) + "\n")
            return 0
        verb = args.quarantine_command
        if verb == "list":
            status = None if args.status == "all" else args.status
            messages = store.list(status=status, profile=args.profile, limit=args.limit)
            if args.json:
                out.write(json.dumps([_record(m) for m in messages], default=_json) + "\n")
            else:
                for m in messages:
                    sender, _, subject = masking.held(m)
                    entities = ",".join(sorted({str(f["entity"]) for f in m.findings})) or "-"
                    out.write(f"{m.id}  {m.received_at:%Y-%m-%d %H:%M}  {m.status:<8}  {m.profile:<14}  "
                              f"{_printable(sender or '<>')}  -> {len(m.rcpt_tos)}  {entities}  "
                              f"{_printable(subject[:60])}\n")
            return 0
        if verb == "show":
            held = store.get(args.id)
            if held is None:
                print(f"dlp-gateway quarantine: no message {args.id}", file=err)
                return 1
            if args.json:
                out.write(json.dumps(_record(held), default=_json) + "\n")
            else:
                out.write(_text(_record(held)))
            return 0
        by = args.by or _user()
        if verb == "release":
            outcome = release(store, settings.relay, args.id, by, args.note, args.recipient,
                              policy=profiles.load(args.config), force=args.force)
        else:
            outcome = delete(store, args.id, by, args.reason, force=args.force)
        return _report(verb, outcome, args.json, out, err)
    except (QuarantineError, ContentDecryptError) as exc:
        print(f"dlp-gateway {args.command}: {exc}", file=err)
        return 1
    finally:
        store.close()


def _report(verb: str, outcome: ReleaseOutcome, as_json: bool, out: IO[str], err: IO[str]) -> int:
    if as_json:
        out.write(json.dumps({"id": outcome.id, "done": outcome.done, "error": outcome.error,
                              "downstream": outcome.reply}) + "\n")
    elif outcome.done:
        past = "released" if verb == "release" else "deleted"
        out.write(f"{outcome.id} {past}" + (f" (downstream: {outcome.reply})" if outcome.reply else "") + "\n")
    else:
        print(f"dlp-gateway quarantine {verb} {outcome.id}: {outcome.error}", file=err)
    return 0 if outcome.done else 1


def _record(message: HeldMessage) -> dict[str, Any]:
    """One held message for printing, masked as the review app shows it."""
    sender, recipients, subject = masking.held(message)
    error = masking.address(message.last_error) if message.last_error else None
    return {"id": message.id, "received_at": message.received_at, "status": message.status,
            "profile": message.profile, "action": message.action, "mail_from": sender,
            "rcpt_tos": list(recipients), "subject": subject, "size": message.size,
            "reasons": list(message.reasons),
            "findings": [{**f, "segment": masking.address(str(f.get("segment")))}
                         for f in message.findings],
            "decided_by": message.decided_by, "decided_at": message.decided_at, "note": message.note,
            "last_error": error}


_LABELS = (("id", "Quarantine id"), ("status", "Status"), ("received_at", "Received"), ("profile", "Profile"),
           ("action", "Verdict"), ("reasons", "Reasons"), ("mail_from", "Sender"), ("rcpt_tos", "Recipients"),
           ("subject", "Subject"), ("size", "Size"), ("decided_by", "Decided by"), ("decided_at", "Decided at"),
           ("note", "Note"), ("last_error", "Last error"))


def _text(record: dict[str, Any]) -> str:
    """``quarantine show`` for a person: one labelled line per fact, then the masked findings."""
    lines = []
    for key, label in _LABELS:
        value = record[key]
        if value is None or value == []:
            continue
        if isinstance(value, datetime):
            value = value.strftime("%Y-%m-%d %H:%M:%S UTC")
        elif isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        elif key == "size":
            value = f"{value} bytes"
        elif key == "mail_from" and not value:
            value = "<>"
        lines.append(f"{label + ':':<15}{_printable(str(value))}")
    findings = record["findings"]
    lines.append(f"{'Findings:':<15}{len(findings)}")
    for f in findings:
        lines.append(f"  {f.get('entity')} in {_printable(str(f.get('segment')))}: {f.get('masked')}"
                     f" (score {f.get('score')})")
    return "\n".join(lines) + "\n"


def _dict(value: object) -> dict[str, object]:
    return dict(value) if isinstance(value, dict) else {}


def _json(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def _printable(text: str) -> str:
    """Sender-written text for a terminal: control characters (escapes) shown as ?."""
    return "".join(ch if ch.isprintable() else "?" for ch in text)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"
