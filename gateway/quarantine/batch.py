"""Group commit: writes that arrive while one commits share the next commit.

Each write to the quarantine store must be durable before the gateway
answers, which costs an fsync per commit. Under load, writes from several
sessions queue behind the store's lock; the first to get the lock takes every
write queued so far and runs them in one transaction, each in its own
savepoint (so one write's failure rolls back only that write), then commits
once. Every write is still committed before its caller returns.

>>> import threading
>>> group = GroupCommit()
>>> def run_batch(batch):
...     for pending in batch:
...         pending.result = pending.work(None)
>>> group.submit(threading.Lock(), lambda run: 42, run_batch)
42
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from gateway.quarantine.records import DatabaseError, QuarantineError

_T = TypeVar("_T")


class Pending(Generic[_T]):
    """One write waiting for a commit."""

    __slots__ = ("work", "result", "error", "done")

    def __init__(self, work: Callable[[Any], _T]) -> None:
        self.work = work
        self.result: _T | None = None
        self.error: BaseException | None = None
        self.done = False

    def outcome(self) -> _T:
        if self.error is not None:
            raise self.error
        return self.result  # type: ignore[return-value]


def _own(exc: BaseException) -> Exception:
    """A fresh error for another waiting thread (one instance raised in several
    threads would gather all their tracebacks)."""
    if isinstance(exc, QuarantineError):
        return type(exc)(*exc.args)
    return DatabaseError(f"quarantine write not committed: {type(exc).__name__}")


class GroupCommit:
    """The queue of writes waiting for the store's lock."""

    def __init__(self) -> None:
        self._queue: list[Pending[Any]] = []
        self._queue_lock = threading.Lock()

    def submit(self, lock: threading.Lock, work: Callable[[Any], _T],
               run_batch: Callable[[list[Pending[Any]]], None]) -> _T:
        """Run ``work`` in a committed transaction, with whatever else is queued."""
        pending: Pending[_T] = Pending(work)
        with self._queue_lock:
            self._queue.append(pending)
        with lock:
            if not pending.done:
                with self._queue_lock:
                    batch, self._queue = self._queue, []
                try:
                    run_batch(batch)
                except BaseException as exc:   # the commit failed: nothing of the batch is stored
                    for item in batch:
                        item.result = None
                        if item is not pending:   # an interrupt is this thread's; others may retry
                            item.error = item.error or _own(exc)
                    raise
                finally:
                    for item in batch:
                        item.done = True
        return pending.outcome()
