"""Operator's maintenance commands: ``dlp-gateway backup`` and ``dlp-gateway rekey``.

``backup --to FILE`` copies a SQLite quarantine with SQLite's online backup API
(a consistent snapshot while the gateway keeps writing). PostgreSQL is backed
up with ``pg_dump`` (docs/operations.md). Either way the key files are not in
the backup: held content is encrypted, so keep them too, elsewhere.

``rekey`` re-encrypts every held message that is sealed under an old key
(``quarantine.old_key_files``) with the current key (``quarantine.key_file``),
one row per transaction, compare-and-set on the old key id so a concurrent
release or delete is never overwritten. After it reports none left, the old key
can leave the configuration and be destroyed.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.config import Settings
from gateway.quarantine import DEFAULT_SQLITE_NAME, QuarantineError, _sqlite_path, open_from_settings
from gateway.quarantine.crypto import ContentDecryptError, Key, KeyFileError, seal, unseal


def add_commands(commands: Any, config_flag: Any) -> None:
    backup = commands.add_parser("backup", help="online backup of a SQLite quarantine")
    backup.add_argument("--to", required=True, type=Path, metavar="FILE", help="the backup file to write")
    config_flag(backup)
    backup.add_argument("--data-dir", metavar="DIR", help="state directory (default ./var)")
    rekey = commands.add_parser("rekey", help="re-encrypt held messages under the current key")
    config_flag(rekey)
    rekey.add_argument("--data-dir", metavar="DIR", help="state directory (default ./var)")


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "backup":
        return _backup(settings, args.to)
    return _rekey(settings)


def _backup(settings: Settings, target: Path) -> int:
    url = settings.quarantine.url
    if url is not None and not url.startswith("sqlite:"):
        print("dlp-gateway backup: the quarantine is in PostgreSQL; back it up with pg_dump "
              "(docs/operations.md, Backup and restore)", file=sys.stderr)
        return 2
    source = _sqlite_path(url, settings.data_dir)
    if not source.is_file():
        print(f"dlp-gateway backup: no quarantine at {source} (wrong --data-dir or --config?)", file=sys.stderr)
        return 1
    if target.exists():
        print(f"dlp-gateway backup: {target} exists; refusing to overwrite it", file=sys.stderr)
        return 1
    pages = copy_sqlite(source, target)
    print(f"dlp-gateway backup: {source} -> {target} ({pages} pages); "
          f"keep {settings.key_file()} (and any old key files) with it: {DEFAULT_SQLITE_NAME} holds "
          "only ciphertext")
    return 0


def copy_sqlite(source: Path, target: Path) -> int:
    """Copy with the online backup API; return the page count."""
    target.parent.mkdir(parents=True, exist_ok=True)
    # 0600 from the first byte (held rows keep addresses in clear), and never over an existing file.
    os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
        row = dst.execute("PRAGMA page_count").fetchone()
        dst.execute("PRAGMA journal_mode=DELETE")   # one self-contained file
    finally:
        dst.close()
        src.close()
    target.chmod(0o600)
    return int(row[0]) if row else 0


@dataclass(frozen=True, slots=True)
class RekeyReport:
    moved: int
    failed: tuple[str, ...]
    left: int


def rekey_store(store: Any) -> RekeyReport:
    """Move every held row sealed under another key to the store's current key."""
    current = store._key
    rows = store._read("SELECT id FROM held_messages WHERE key_id <> ? AND content IS NOT NULL "
                       "AND length(content) > 0 ORDER BY id", [current.key_id])
    moved, failed = 0, []
    for (message_id,) in rows:
        def work(run: Any, id: str = str(message_id)) -> int:
            _, row = run("SELECT key_id, content FROM held_messages WHERE id = ?", [id])
            if row is None or row[0] == current.key_id or not row[1]:
                return 0
            old_id, blob = str(row[0]), bytes(row[1])
            plain = unseal(store._keys, old_id, id, blob)
            count, _ = run("UPDATE held_messages SET key_id = ?, content = ? WHERE id = ? AND key_id = ?",
                           [current.key_id, seal(current, id, plain), id, old_id])
            return int(count)
        try:
            moved += store._transaction(work)
        except ContentDecryptError:
            failed.append(str(message_id))
    left = store._read("SELECT COUNT(*) FROM held_messages WHERE key_id <> ? AND content IS NOT NULL "
                       "AND length(content) > 0", [current.key_id])[0][0]
    return RekeyReport(moved, tuple(failed), int(str(left)))


def _rekey(settings: Settings) -> int:
    try:
        if not settings.key_file().exists():
            Key.load_or_create(settings.key_file())
            print(f"dlp-gateway rekey: created the new key {settings.key_file()} (mode 0600)")
        store = open_from_settings(settings, create=False)
    except (QuarantineError, KeyFileError) as exc:
        print(f"dlp-gateway rekey: {exc}", file=sys.stderr)
        return 2
    try:
        report = rekey_store(store)
    finally:
        store.close()
    print(f"dlp-gateway rekey: {report.moved} held messages re-encrypted under key "
          f"{settings.key_file()}; {report.left} still under another key")
    for id in report.failed:
        print(f"dlp-gateway rekey: {id}: sealed under a key that is not configured", file=sys.stderr)
    return 1 if report.left else 0
