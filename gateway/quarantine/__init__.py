"""Quarantine store: held messages, encrypted content and the audit log.

``open_store`` picks the backend from a URL: None or ``sqlite:///path`` for
SQLite (default ``data_dir/quarantine.sqlite``), ``postgresql://...`` for
PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from gateway.config import Settings
from gateway.quarantine.crypto import ContentDecryptError, Key, KeyFileError
from gateway.quarantine.migrations import SchemaTooNewError
from gateway.quarantine.records import (
    AuditEntry,
    DatabaseError,
    HeldMessage,
    QuarantineError,
    UnknownMessageError,
    new_id,
)
from gateway.quarantine.store import QuarantineStore

DEFAULT_SQLITE_NAME = "quarantine.sqlite"

__all__ = [
    "AuditEntry", "ContentDecryptError", "DatabaseError", "HeldMessage", "Key", "KeyFileError", "QuarantineError",
    "QuarantineStore", "SchemaTooNewError", "UnknownMessageError", "new_id", "open_from_settings", "open_store",
]


def open_store(
    url: str | None, data_dir: Path, key: Key, old_keys: Sequence[Key] = ()
) -> QuarantineStore:
    """Open (creating and migrating as needed) the store named by ``url``."""
    if url is None or url.startswith("sqlite:"):
        # Each backend loads its driver only when the settings name it (psycopg: libpq).
        from gateway.quarantine.sqlite import SqliteStore  # noqa: PLC0415

        return SqliteStore(_sqlite_path(url, data_dir), key, old_keys)
    if url.startswith(("postgresql://", "postgres://")):
        from gateway.quarantine.postgres import PostgresStore  # noqa: PLC0415

        return PostgresStore(url, key, old_keys)
    raise QuarantineError("quarantine URL must start with sqlite:/// or postgresql://")


def open_from_settings(settings: Settings, create: bool = True) -> QuarantineStore:
    """Open the store ``serve``, the CLI and the review app share: the configured
    URL, else SQLite under data_dir; the key file is created on first use.

    With ``create=False`` (the CLI) a missing key or SQLite file is an error
    rather than a new, empty quarantine in the wrong place.
    """
    if not create:
        if settings.quarantine.url is None and not (settings.data_dir / DEFAULT_SQLITE_NAME).exists():
            raise QuarantineError(f"no quarantine in {settings.data_dir} (wrong --data-dir or --config?)")
        key = Key.load_existing(settings.key_file())
    else:
        key = Key.load_or_create(settings.key_file())
    old = [Key.load_existing(path) for path in settings.quarantine.old_key_files]
    return open_store(settings.quarantine.url, settings.data_dir, key, old)


def _sqlite_path(url: str | None, data_dir: Path) -> Path:
    """Return the database path for a ``sqlite:///path`` URL (or the default)."""
    if url is None or url in ("sqlite:", "sqlite://", "sqlite:///"):
        return data_dir / DEFAULT_SQLITE_NAME
    if not url.startswith("sqlite:///"):
        raise QuarantineError("SQLite quarantine URL must look like sqlite:///path")
    # sqlite:///relative/path and sqlite:////absolute/path, as in SQLAlchemy.
    return Path(url.removeprefix("sqlite:///"))
