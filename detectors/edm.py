"""Exact data match: a utility's own customer account list, stored only as
salted SHA-256 hashes of the normalised numbers (digits only).

The salt is made once per installation (``edm.salt`` beside the store,
mode 0600) so the same list hashes differently at every site. Account
numbers have few digits: whoever holds both the salt and the store can
still try every number, so the data directory must stay private.

>>> import tempfile
>>> store = EdmStore(Path(tempfile.mkdtemp()))
>>> store.add(["2-12-345-6789", "0012345678 "], utility="SCE")
2
>>> edm = store.load()
>>> edm.contains("2123456789"), edm.contains("2123456780"), len(edm)
(True, False, 2)
"""

from __future__ import annotations

import csv
import hashlib
import os
import secrets
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

STORE = "edm.sqlite"
SALT = "edm.salt"
MIN_DIGITS, MAX_DIGITS = 6, 16


class EdmError(Exception):
    """The account list cannot be read; the message never quotes a number."""


def normalise(number: str) -> str:
    return "".join(ch for ch in number if ch.isdigit())


@dataclass(frozen=True, slots=True)
class EdmSet:
    salt: bytes
    hashes: frozenset[bytes]

    def contains(self, digits: str) -> bool:
        if not MIN_DIGITS <= len(digits) <= MAX_DIGITS:
            return False
        return hashlib.sha256(self.salt + digits.encode("ascii")).digest() in self.hashes

    def __len__(self) -> int:
        return len(self.hashes)


class EdmStore:
    """The hashed account list under a data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.dir = data_dir
        self.path = data_dir / STORE

    def _salt(self) -> bytes:
        path = self.dir / SALT
        if not path.exists():
            self.dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(secrets.token_bytes(32))
        return path.read_bytes()

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path)
        db.execute("CREATE TABLE IF NOT EXISTS accounts (hash BLOB PRIMARY KEY, utility TEXT NOT NULL)")
        return db

    def add(self, numbers: Iterable[str], utility: str) -> int:
        """Store the hashes of ``numbers``; return how many were new."""
        salt = self._salt()
        rows = []
        for number in numbers:
            digits = normalise(number)
            if MIN_DIGITS <= len(digits) <= MAX_DIGITS:
                rows.append((hashlib.sha256(salt + digits.encode("ascii")).digest(), utility))
        with self._connect() as db:
            before = db.total_changes
            db.executemany("INSERT OR IGNORE INTO accounts VALUES (?, ?)", rows)
            added = db.total_changes - before
        db.close()
        return added

    def import_csv(self, path: Path, column: str, utility: str) -> int:
        """Hash the account numbers in ``column`` of a CSV file."""
        try:
            with path.open(newline="", encoding="utf-8-sig") as handle:
                reader = csv.DictReader(handle)
                if reader.fieldnames is None or column not in reader.fieldnames:
                    raise EdmError(f"{path}: no column {column!r} (columns: {', '.join(reader.fieldnames or [])})")
                return self.add((row[column] or "" for row in reader), utility)
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise EdmError(f"{path}: cannot read: {type(exc).__name__}") from None

    def load(self) -> EdmSet | None:
        """The hashed list, or None when nothing was imported."""
        if not self.path.exists():
            return None
        with self._connect() as db:
            hashes = frozenset(row[0] for row in db.execute("SELECT hash FROM accounts"))
        db.close()
        return EdmSet(self._salt(), hashes) if hashes else None
