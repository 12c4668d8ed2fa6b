"""dlp-gateway backup's file: private from its first byte, never written over."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from gateway.cli.maintenance import copy_sqlite


def source(tmp_path: Path) -> Path:
    db = tmp_path / "quarantine.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE held_messages (id TEXT, mail_from TEXT)")
        conn.execute("INSERT INTO held_messages VALUES ('a', '219456789@citrus.example')")
    return db


def test_the_backup_is_private_whatever_the_umask(tmp_path: Path) -> None:
    before = os.umask(0)
    try:
        target = tmp_path / "out" / "backup.sqlite3"
        copy_sqlite(source(tmp_path), target)
    finally:
        os.umask(before)
    assert target.stat().st_mode & 0o777 == 0o600
    with sqlite3.connect(target) as conn:
        assert conn.execute("SELECT id FROM held_messages").fetchall() == [("a",)]


def test_an_existing_file_is_never_overwritten(tmp_path: Path) -> None:
    target = tmp_path / "backup.sqlite3"
    target.write_bytes(b"keep me")
    with pytest.raises(FileExistsError):
        copy_sqlite(source(tmp_path), target)
    assert target.read_bytes() == b"keep me"
