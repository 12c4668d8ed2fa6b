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
import threading
import time
from types import TracebackType

_POLL_SECONDS = 0.02


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

    def expired(self) -> bool:
        """Return whether the budget is spent (a cooperative check)."""
        return self.fired or time.clock_gettime(self.clock) >= self.limit

    def used(self) -> float:
        """Return the CPU seconds this thread spent since the budget was made."""
        return time.clock_gettime(self.clock) - self.start

    def __enter__(self) -> "Deadline":
        self.armed = True
        _WATCHDOG.watch(self)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        try:
            with self.lock:
                self.armed = False
                if self.fired:  # raised but maybe not delivered yet: take it back
                    _set_async_exc(self.thread, None)
        finally:
            _WATCHDOG.forget(self)

    def fire(self) -> None:
        """Raise OutOfTime in the scanning thread, once, if still in the block."""
        with self.lock:
            if self.armed and not self.fired:
                self.fired = True
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

    def _run(self) -> None:
        while True:
            time.sleep(_POLL_SECONDS)
            with self.lock:
                due = [d for d in self.deadlines if not d.fired and _spent(d)]
            for deadline in due:
                deadline.fire()


def _spent(deadline: Deadline) -> bool:
    try:
        return time.clock_gettime(deadline.clock) >= deadline.limit
    except OSError:  # the thread is gone
        return False


def _set_async_exc(thread: int, kind: type[BaseException] | None) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread), ctypes.py_object(kind) if kind else None)


_WATCHDOG = _Watchdog()
