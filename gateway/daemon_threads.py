"""A small pool of daemon threads for calls that may block without bound (a
frozen database): the caller gives up at its deadline, and a thread still stuck
when the process stops does not hold the exit (ThreadPoolExecutor joins its
threads at exit). A call whose caller gave up before it started never runs.

>>> pool = DaemonThreads(2, "doc")
>>> pool.submit(lambda: 6 * 7).result(5)
42
"""

from __future__ import annotations

import concurrent.futures
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

_T = TypeVar("_T")


class DaemonThreads:
    """``size`` daemon threads running submitted calls in order."""

    def __init__(self, size: int, name: str) -> None:
        self._calls: queue.SimpleQueue[tuple[concurrent.futures.Future[Any], Callable[[], Any]]] = \
            queue.SimpleQueue()
        for n in range(size):
            threading.Thread(target=self._run, name=f"{name}-{n}", daemon=True).start()

    def submit(self, call: Callable[[], _T]) -> concurrent.futures.Future[_T]:
        future: concurrent.futures.Future[_T] = concurrent.futures.Future()
        self._calls.put((future, call))
        return future

    def _run(self) -> None:
        while True:
            future, call = self._calls.get()
            if not future.set_running_or_notify_cancel():
                continue   # the caller gave up before it started
            try:
                future.set_result(call())
            except BaseException as exc:
                future.set_exception(exc)
