"""Backup, restore and key rotation as docs/operations.md tells the operator:
an online SQLite backup (taken while the gateway runs) and a pg_dump restore
each give back a held message that can be read and released; `rekey` moves
held messages to a new key so the old one can be destroyed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from gateway.quarantine import Key, open_store
from tests.e2e.harness import Gateway, Sink
from tests.e2e.ops_helpers import start_gateway  # noqa: F401  (fixture)
from tests.e2e.test_quarantine import SSN, cli, data, held_message, store_of

# Starts gateways (each worker loads the detectors) on a shared, loaded machine.
pytestmark = pytest.mark.timeout(300)


def held_id(reply: str) -> str:
    return reply.split(" as ", 1)[1].split()[0].rstrip(".;,)")


def test_sqlite_online_backup_restores_a_readable_releasable_message(
        tmp_path: Path, sink: Sink, start_gateway: Callable[..., Gateway]) -> None:
    gateway = start_gateway(sink.port)
    code, reply = data(gateway, held_message("backup-1"))
    assert code == 250, reply
    ident = held_id(reply)
    backup = tmp_path / "backup" / "quarantine.sqlite"
    taken = cli(gateway, "backup", "--to", str(backup))          # while the gateway runs
    assert taken.returncode == 0, taken.stderr
    assert oct(backup.stat().st_mode & 0o777) == "0o600"
    assert cli(gateway, "backup", "--to", str(backup)).returncode == 1   # never overwrites
    assert gateway.stop() == 0

    # Disaster: the database is gone; the key file was kept with the backup.
    data_dir = Path(gateway.settings["data_dir"])
    for leftover in data_dir.glob("quarantine.sqlite*"):
        leftover.unlink()
    shutil.copy(backup, data_dir / "quarantine.sqlite")

    shown = cli(gateway, "quarantine", "show", ident, "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["id"] == ident and SSN not in shown.stdout
    store = store_of(gateway)
    try:
        assert SSN.encode() in store.content(ident)
    finally:
        store.close()
    released = cli(gateway, "quarantine", "release", ident, "--note", "restored")
    assert released.returncode == 0, released.stderr
    assert SSN.encode() in sink.wait_for(1)[0].content


def test_pg_dump_restore_gives_back_a_held_message(
        tmp_path: Path, sink: Sink, start_gateway: Callable[..., Gateway]) -> None:
    url = os.environ.get("DLP_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("DLP_TEST_POSTGRES_URL is not set (e.g. postgresql://postgres@127.0.0.1:5432/test)")
    schema = f"backup_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        gateway = start_gateway(sink.port, {"quarantine": {"url": f"{url}?schema={schema}"}})
        code, reply = data(gateway, held_message("backup-pg"))
        assert code == 250, reply
        ident = held_id(reply)
        dump = tmp_path / "quarantine.dump"
        subprocess.run(["pg_dump", "--format=custom", f"--schema={schema}", f"--file={dump}", url],
                       check=True, capture_output=True, timeout=120)   # while the gateway runs
        assert gateway.stop() == 0
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
        subprocess.run(["pg_restore", f"--dbname={url}", str(dump)], check=True, capture_output=True, timeout=120)
        shown = cli(gateway, "quarantine", "show", ident, "--json")
        assert shown.returncode == 0, shown.stderr
        assert json.loads(shown.stdout)["id"] == ident
        key = Key.load_existing(Path(gateway.settings["data_dir"]) / "quarantine.key")
        restored = open_store(f"{url}?schema={schema}", tmp_path, key)
        try:
            assert SSN.encode() in restored.content(ident)
        finally:
            restored.close()
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def test_rekey_moves_held_messages_to_the_new_key(sink: Sink, start_gateway: Callable[..., Gateway]) -> None:
    gateway = start_gateway(sink.port)
    ids = []
    for i in range(3):
        code, reply = data(gateway, held_message(f"rekey-{i}"))
        assert code == 250, reply
        ids.append(held_id(reply))
    assert gateway.stop() == 0
    data_dir = Path(gateway.settings["data_dir"])
    old, new = data_dir / "quarantine.key", data_dir / "keys" / "2027.key"

    gateway.settings["quarantine"] = {"key_file": str(new), "old_key_files": [str(old)]}
    gateway.write_config()
    first = cli(gateway, "rekey")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "3 held messages re-encrypted" in first.stdout and "0 still under another key" in first.stdout
    assert oct(new.stat().st_mode & 0o777) == "0o600"
    again = cli(gateway, "rekey")
    assert again.returncode == 0 and "0 held messages re-encrypted" in again.stdout

    # The old key leaves the configuration and is destroyed: every message still reads.
    gateway.settings["quarantine"] = {"key_file": str(new)}
    gateway.write_config()
    old.unlink()
    store = open_store(None, data_dir, Key.load_existing(new))
    try:
        for ident in ids:
            assert SSN.encode() in store.content(ident)
    finally:
        store.close()
    shown = cli(gateway, "quarantine", "release", ids[0])
    assert shown.returncode == 0, shown.stderr


def test_rekey_reports_a_message_under_a_key_it_does_not_have(
        sink: Sink, start_gateway: Callable[..., Gateway]) -> None:
    gateway = start_gateway(sink.port)
    assert data(gateway, held_message("lost-key"))[0] == 250
    assert gateway.stop() == 0
    data_dir = Path(gateway.settings["data_dir"])
    gateway.settings["quarantine"] = {"key_file": str(data_dir / "new.key")}   # the old key forgotten
    gateway.write_config()
    result = cli(gateway, "rekey")
    assert result.returncode == 1 and "1 still under another key" in result.stdout
    assert "sealed under a key that is not configured" in result.stderr
