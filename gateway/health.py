"""Readiness checks behind ``GET /readyz``: configuration loaded, downstream
reachable, quarantine store writable. Each check is named, bounded in time and
never quotes a driver's error text (it may hold a password or data).

>>> render([Check("config", True, "loaded"), Check("downstream", False, "connection refused")])
'not ready\\nconfig ok: loaded\\ndownstream FAIL: connection refused\\n'
"""

from __future__ import annotations

import smtplib
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from gateway.config import HostPort, Settings
from gateway.quarantine import _sqlite_path

CHECK_TIMEOUT = 2.0
# Probes are cached this long, so a tight scrape or probe loop costs little.
CACHE_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str


def render(checks: list[Check]) -> str:
    """The /readyz body: a first line, then one line per named check."""
    head = "ready" if all(c.ok for c in checks) else "not ready"
    lines = [f"{c.name} {'ok' if c.ok else 'FAIL'}: {c.detail}" for c in checks]
    return "\n".join([head, *lines]) + "\n"


def downstream(address: HostPort, timeout: float = CHECK_TIMEOUT) -> Check:
    """The downstream MTA greets with 220 (then QUIT: no mail, and no "lost
    connection after CONNECT" in the MTA's log)."""
    try:
        with smtplib.SMTP(timeout=timeout) as client:
            code, _ = client.connect(address.host, address.port)
            client.quit()
    except (OSError, smtplib.SMTPException) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        return Check("downstream", False, f"{address}: {reason}")
    if code != 220:
        return Check("downstream", False, f"{address}: greeting {code}")
    return Check("downstream", True, str(address))


def store(settings: Settings, timeout: float = CHECK_TIMEOUT) -> Check:
    """The quarantine database takes a write lock (and lets it go at once)."""
    url = settings.quarantine.url
    try:
        if url is None or url.startswith("sqlite:"):
            detail = _sqlite_writable(_sqlite_path(url, settings.data_dir), timeout)
        else:
            detail = _postgres_writable(url, timeout)
    except Exception as exc:  # the class only: driver texts can quote the URL
        return Check("store", False, type(exc).__name__)
    return Check("store", detail == "writable", detail)


def _sqlite_writable(path: object, timeout: float) -> str:
    db = Path(str(path))
    if not db.is_file():
        return f"{db} is missing"
    conn = sqlite3.connect(f"file:{db}?mode=rw", uri=True, timeout=timeout, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
    except sqlite3.OperationalError as exc:
        return "locked" if "locked" in str(exc) else "not writable"
    finally:
        conn.close()
    return "writable"


def _postgres_writable(url: str, timeout: float) -> str:
    # Here, not at the top: psycopg (libpq) loads only where the store is PostgreSQL.
    import psycopg  # noqa: PLC0415

    from gateway.quarantine.postgres import split_schema  # noqa: PLC0415
    conninfo, schema = split_schema(url)
    table = f"{schema}.held_messages" if schema else "held_messages"
    with psycopg.connect(conninfo, connect_timeout=max(1, int(timeout)), autocommit=True) as conn:
        row = conn.execute(
            "SELECT pg_is_in_recovery(), current_setting('transaction_read_only'), "
            "has_table_privilege(%s, 'INSERT')", [table]).fetchone()
    if row is None:
        return "no answer"
    recovery, read_only, insert = row
    if recovery or read_only == "on":
        return "read-only"
    return "writable" if insert else "no INSERT privilege"


_instances: list[Readiness] = []


def reloaded(settings: Settings) -> None:
    """A SIGHUP reload took effect: check the new downstream and store from now on."""
    for readiness in list(_instances):
        readiness.use(settings)


class Readiness:
    """The three checks, cached for ``CACHE_SECONDS``; thread-safe."""

    def __init__(self, settings: Settings | None) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._at = 0.0
        self._last: list[Check] = []
        _instances.append(self)

    def use(self, settings: Settings) -> None:
        with self._lock:
            self._settings, self._last = settings, []

    def close(self) -> None:
        if self in _instances:
            _instances.remove(self)

    def checks(self) -> list[Check]:
        with self._lock:
            if time.monotonic() - self._at > CACHE_SECONDS or not self._last:
                self._last = self._run()
                self._at = time.monotonic()
            return list(self._last)

    def _run(self) -> list[Check]:
        settings = self._settings
        if settings is None:
            return [Check("config", False, "not loaded")]
        return [Check("config", True, "loaded"), downstream(settings.relay.address), store(settings)]
