"""Process lifecycle: workers die with their supervisor, a restart never runs
beside the workers of a previous gateway, and crashing workers are restarted
with backoff.

Workers ask the kernel for SIGTERM when their parent dies (Linux
``PR_SET_PDEATHSIG``), so a supervisor killed with SIGKILL leaves no workers
serving the old configuration. Each worker holds a shared lock on
``data_dir/workers.lock`` for its whole life; a starting gateway takes that lock
exclusively first, waiting (up to a bound) until the last old worker is gone.

>>> slots = Slots(2, healthy_after=5.0, loop_after=3)
>>> slots.died(0, lived=1.0, now=100.0)    # an early crash: restart after a backoff
0.5
>>> slots.died(0, lived=1.0, now=101.0), slots.died(0, lived=1.0, now=103.0)
(1.0, 2.0)
>>> slots.crash_loop()                      # the other worker is healthy
False
>>> _ = [slots.died(1, lived=0.1, now=t) for t in (110.0, 111.0, 112.0)]
>>> slots.crash_loop()
True
>>> slots.died(1, lived=60.0, now=200.0)    # a worker that ran a while restarts at once
0.0
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import logging
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

log = logging.getLogger("dlp.server")

_PR_SET_PDEATHSIG = 1
LOCK_NAME = "workers.lock"
BACKOFF_FIRST = 0.5
BACKOFF_MAX = 30.0


def die_with_parent(parent: int) -> None:
    """Have the kernel send this process SIGTERM when its parent exits; exit now
    if the parent is already gone (it died before the request took effect)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:  # pragma: no cover - Linux only
        log.warning("parent-death signal unavailable", extra={"fields": {"errno": ctypes.get_errno()}})
    if os.getppid() != parent:
        os._exit(0)


def _lock_file(data_dir: Path) -> IO[bytes]:
    data_dir.mkdir(parents=True, exist_ok=True)
    return open(data_dir / LOCK_NAME, "ab")


def wait_for_old_workers(data_dir: Path, timeout: float) -> None:
    """Return once no worker of an earlier gateway on ``data_dir`` is alive.

    Raises OSError (EBUSY) when they are still there after ``timeout`` seconds.
    """
    with _lock_file(data_dir) as handle:
        deadline = time.monotonic() + timeout
        logged = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
            if time.monotonic() > deadline:
                raise OSError(errno.EBUSY, f"workers of an earlier gateway still run on {data_dir} "
                                           f"after {timeout:.0f}s; not starting beside them")
            if not logged:
                log.warning("waiting for the workers of an earlier gateway to exit")
                logged = True
            time.sleep(0.1)
        fcntl.flock(handle, fcntl.LOCK_UN)


def hold_worker_lock(data_dir: Path) -> IO[bytes]:
    """Take the shared lock this worker holds until it exits (keep the handle)."""
    handle = _lock_file(data_dir)
    fcntl.flock(handle, fcntl.LOCK_SH)
    return handle


@dataclass(slots=True)
class Slots:
    """Restart bookkeeping for N worker slots."""

    count: int
    healthy_after: float = 5.0   # a worker that ran this long was healthy
    loop_after: int = 5          # consecutive early deaths that make a slot crash-loop
    failures: list[int] = field(default_factory=list)
    due: dict[int, float] = field(default_factory=dict)   # slot -> when to restart it

    def __post_init__(self) -> None:
        self.failures = [0] * self.count

    def died(self, slot: int, lived: float, now: float) -> float:
        """Record a death; return the delay before the slot's next start."""
        if lived >= self.healthy_after:
            self.failures[slot] = 0
            delay = 0.0
        else:
            self.failures[slot] += 1
            delay = min(BACKOFF_FIRST * 2 ** (self.failures[slot] - 1), BACKOFF_MAX)
        self.due[slot] = now + delay
        return delay

    def ready(self, now: float) -> list[int]:
        """The slots whose restart is due (and no longer pending)."""
        slots = [slot for slot, at in self.due.items() if at <= now]
        for slot in slots:
            del self.due[slot]
        return slots

    def next_due(self) -> float | None:
        return min(self.due.values()) if self.due else None

    def crash_loop(self) -> bool:
        """Every slot died early ``loop_after`` times in a row: stop the service."""
        return all(n >= self.loop_after for n in self.failures)
