"""The SQL every backend shares, on one DB-API connection: the dialect hooks and
the group commit (gateway.quarantine.batch), written once for both backends.

SQL is written with ``?`` placeholders; a dialect may rewrite them. One
connection per store, serialised by a lock, so a store may be shared by
threads. Every write runs in ``_transaction``: writes that arrive while one
commits share the next commit, each in its own savepoint.
"""

from __future__ import annotations

import builtins
import json
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, TypeVar

from gateway import siem
from gateway.quarantine.batch import GroupCommit, Pending
from gateway.quarantine.crypto import Key
from gateway.quarantine.records import QuarantineError

_T = TypeVar("_T")

Row = Sequence[object]
# Runs one statement inside the caller's transaction: (rowcount, first row or None).
Execute = Callable[[str, Sequence[object]], tuple[int, "Row | None"]]


class SqlBase(ABC):
    """The connection, its lock, the group commit and the dialect hooks."""

    def __init__(self, key: Key, old_keys: Sequence[Key] = ()) -> None:
        self._key = key
        self._keys = (key, *old_keys)
        self._lock = threading.Lock()
        self._group = GroupCommit()
        # audit records also go to the SIEM, once committed
        self._transaction = siem.audited(self._transaction)  # type: ignore[method-assign, assignment]

    def _transaction(self, work: Callable[[Execute], _T]) -> _T:
        """Run ``work`` inside one committed transaction (rolled back if it raises),
        with whatever other writes are queued (one commit, one fsync)."""
        return self._group.submit(self._lock, work, self._run_batch)

    def _run_batch(self, batch: builtins.list[Pending[Any]]) -> None:
        """Every queued write in one transaction, each in a savepoint: one write's
        failure rolls back only that write."""
        with self._batch() as run:
            for pending in batch:
                try:
                    with self._savepoint():
                        pending.result = pending.work(run)
                except Exception as exc:
                    pending.error = self._driver_error(exc)

    def _write(self, sql: str, params: Sequence[object]) -> int:
        """Run one statement in its own committed transaction; return rowcount."""
        return self._transaction(lambda run: run(sql, params)[0])

    # -- dialect hooks -------------------------------------------------------

    @abstractmethod
    def _batch(self) -> AbstractContextManager[Execute]:
        """One transaction: committed when the block ends, rolled back if it raises;
        a driver error becomes a DatabaseError (no row values in its text)."""

    @abstractmethod
    def _savepoint(self) -> AbstractContextManager[None]:
        """A savepoint inside ``_batch``: rolled back to if the block raises."""

    @abstractmethod
    def _driver_error(self, exc: Exception) -> Exception:
        """``exc`` as a write's error: a driver error as a DatabaseError, others as they are."""

    def _serialise(self, run: Execute, key: str) -> None:
        """Serialise writers of ``key`` until commit, across connections (a
        no-op where writers are serialised anyway)."""

    @abstractmethod
    def _read(self, sql: str, params: Sequence[object]) -> builtins.list[Row]:
        """Run one query and return all rows."""

    @abstractmethod
    def _time_in(self, value: datetime) -> object:
        """Return ``value`` (aware UTC) as the database stores it."""

    @abstractmethod
    def _time_out(self, value: object) -> datetime:
        """Return a stored timestamp as an aware UTC datetime."""

    @abstractmethod
    def _day(self, column: str) -> str:
        """Return SQL for the UTC calendar day of timestamp ``column`` as YYYY-MM-DD."""

    @abstractmethod
    def _contains(self, column: str) -> str:
        """Return SQL true when text ``column`` contains the next parameter, exactly (case too)."""

    @abstractmethod
    def _for_update(self) -> str:
        """Return the clause that locks the rows a SELECT reads until commit ("" when writers are serialised)."""

    @abstractmethod
    def migrate(self) -> None:
        """Apply pending schema migrations (a no-op when up to date)."""

    @abstractmethod
    def close(self) -> None:
        """Close the connection."""


def json_tuple(text: object) -> tuple[object, ...]:
    """Decode a JSON list column into a tuple."""
    value = json.loads(str(text))
    if not isinstance(value, list):
        raise QuarantineError("corrupt JSON list column")
    return tuple(value)


def in_(column: str, values: tuple[str, ...]) -> str:
    """Return ``column IN (?, ...)``, or a false condition for no values."""
    return f"{column} IN ({', '.join('?' for _ in values)})" if values else "1 = 0"
