"""A CPU-time budget for one scan, enforced even inside code that never checks it.

The scan checks its budget between pieces of work (``Deadline.expired``); a
single piece that runs long (parsing one huge sheet, say) is stopped by a
watchdog thread that reads the scanning thread's own CPU clock and, past the
budget, raises ``OutOfTime`` in that thread (CPython's
``PyThreadState_SetAsyncExc``: delivered between two bytecodes, so C code
such as a regex or zlib call finishes its current call first). ``OutOfTime``
derives from BaseException so that the readers' ``except Exception``
handlers do not mistake it for a corrupt part; the scan catches it and marks
the rest ``time-budget``. CPU time, not wall time: a busy machine slows a
scan down but does not cut it short.

>>> with Deadline(5.0) as deadline:
...     deadline.expired()
False
"""

from __future__ import annotations

import ctypes
import os
import threading
import time
from types import TracebackType

_POLL_SECONDS = 0.02
_REFIRE_SECONDS = 0.05  # CPU seconds before raising again: a __del__ can swallow one


class OutOfTime(BaseException):
    """The scan spent its CPU-time budget; nothing about the content."""


class Deadline:
    """A CPU-time budget for the current thread, armed while in its ``with`` block."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.thread = threading.get_ident()
        self.clock = time.pthread_getcpuclockid(self.thread)
        self.start = time.clock_gettime(self.clock)
        self.limit = self.start + seconds
        self.lock = threading.Lock()
        self.armed = False
        self.fired = False
        self.next_fire = self.limit

    def expired(self) -> bool:
        """Return whether the budget is spent (a cooperative check)."""
        return self.fired or time.clock_gettime(self.clock) >= self.limit

    def used(self) -> float:
        """Return the CPU seconds this thread spent since the budget was made."""
        return time.clock_gettime(self.clock) - self.start

    def extend(self, seconds: float) -> None:
        """Move the limit to ``seconds`` after the budget was made, and clear a
        firing that the new limit undoes (one Deadline serves a scan's
        extraction share, then its whole budget)."""
        with self.lock:
            self.limit = self.next_fire = self.start + seconds
            if self.fired:  # raised but maybe not delivered yet: take it back
                self.fired = False
                if self.armed:
                    _set_async_exc(self.thread, None)

    def __enter__(self) -> Deadline:
        self.armed = True
        _WATCHDOG.watch(self)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Disarm: no OutOfTime from now on, and none left pending (idempotent).

        Callers call it again after catching OutOfTime, in case one was
        delivered inside ``__exit__`` itself.
        """
        self.armed = False
        try:
            with self.lock:
                self.armed = False
                if self.fired:  # raised but maybe not delivered yet: take it back
                    _set_async_exc(self.thread, None)
        finally:
            _WATCHDOG.forget(self)

    def fire(self) -> None:
        """Raise OutOfTime in the scanning thread if it is still in the block.

        Again every ``_REFIRE_SECONDS`` of CPU until it leaves: an exception
        raised inside a ``__del__`` is printed and dropped by Python.
        """
        with self.lock:
            if self.armed:
                self.fired = True
                self.next_fire = time.clock_gettime(self.clock) + _REFIRE_SECONDS
                _set_async_exc(self.thread, OutOfTime)


class _Watchdog:
    """One daemon thread polling the CPU clocks of every armed Deadline."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.deadlines: set[Deadline] = set()
        self.thread: threading.Thread | None = None

    def watch(self, deadline: Deadline) -> None:
        with self.lock:
            self.deadlines.add(deadline)
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="dlp-scan-watchdog", daemon=True)
                self.thread.start()

    def forget(self, deadline: Deadline) -> None:
        with self.lock:
            self.deadlines.discard(deadline)

    def after_fork(self) -> None:
        """In a forked child: the parent's thread is not there, and its lock may
        have been held at the fork; start afresh (``replay`` forks its workers)."""
        self.lock = threading.Lock()
        self.deadlines = set()
        self.thread = None

    def _run(self) -> None:
        while True:
            time.sleep(_POLL_SECONDS)
            with self.lock:
                due = [d for d in self.deadlines if _due(d)]
            for deadline in due:
                deadline.fire()


def _due(deadline: Deadline) -> bool:
    try:
        return time.clock_gettime(deadline.clock) >= deadline.next_fire
    except OSError:  # the thread is gone
        return False


def _set_async_exc(thread: int, kind: type[BaseException] | None) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread), ctypes.py_object(kind) if kind else None)


_WATCHDOG = _Watchdog()
os.register_at_fork(after_in_child=_WATCHDOG.after_fork)
