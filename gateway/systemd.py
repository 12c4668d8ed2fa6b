"""systemd's notify protocol (sd_notify(3)), without libsystemd.

Under ``Type=notify`` systemd passes ``NOTIFY_SOCKET`` (a datagram socket path,
``@`` for the abstract namespace) and, with ``WatchdogSec=``, ``WATCHDOG_USEC``
and ``WATCHDOG_PID``. We send ``READY=1`` once the listeners are bound and the
store is open, ``WATCHDOG=1`` at half the watchdog interval from the loop that
does the work, and ``STOPPING=1`` when the drain starts. Without ``NOTIFY_SOCKET`` every call is a
no-op, so the same code runs under systemd, Docker or a terminal.

Source: sd_notify(3), sd_watchdog_enabled(3), systemd.service(5).

>>> Watchdog.from_environ({}).interval is None
True
>>> Watchdog.from_environ({"WATCHDOG_USEC": "4000000"}).interval
2.0
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import socket
import struct
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("dlp.systemd")


def notify(*assignments: str, environ: Mapping[str, str] | None = None) -> bool:
    """Send ``KEY=VALUE`` lines to systemd; False when not under a notify service."""
    path = (os.environ if environ is None else environ).get("NOTIFY_SOCKET")
    if not path:
        return False
    address = "\0" + path[1:] if path.startswith("@") else path
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto("\n".join(assignments).encode(), address)
    except OSError as exc:  # systemd gone or the socket wrong: never fatal
        log.warning("systemd notify failed", extra={"fields": {"problem": exc.strerror or type(exc).__name__}})
        return False
    return True


def ready(status: str = "serving") -> bool:
    return notify("READY=1", f"STATUS={status}", f"MAINPID={os.getpid()}")


def stopping(status: str = "draining") -> bool:
    return notify("STOPPING=1", f"STATUS={status}")


@dataclass(slots=True)
class Watchdog:
    """Pings ``WATCHDOG=1`` at most every ``interval`` seconds (half systemd's)."""

    interval: float | None
    _last: float = field(default=0.0)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Watchdog:
        env = os.environ if environ is None else environ
        usec, pid = env.get("WATCHDOG_USEC", ""), env.get("WATCHDOG_PID", "")
        if not usec.isdigit() or int(usec) == 0 or (pid.isdigit() and int(pid) != os.getpid()):
            return cls(None)
        return cls(int(usec) / 2_000_000)

    def tick(self) -> None:
        """Ping if due; call it from the loop whose liveness the ping vouches for."""
        self.tick_with(None)

    def tick_with(self, environ: Mapping[str, str] | None) -> None:
        if self.interval is None:
            return
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            notify("WATCHDOG=1", environ=environ)


async def keep_alive(watchdog: Watchdog | None = None) -> None:
    """Ping the watchdog from the event loop for as long as the loop runs."""
    dog = watchdog or Watchdog.from_environ()
    if dog.interval is None:
        return
    while True:
        dog.tick()
        await asyncio.sleep(dog.interval / 2)


_CREDENTIALS = struct.calcsize("3i")  # struct ucred: pid, uid, gid


class WorkerHub:
    """The supervisor's side of the protocol, for N workers.

    Workers get a private ``NOTIFY_SOCKET`` (and systemd's watchdog interval);
    the supervisor tells systemd ``READY=1`` once every live worker said it, and
    pings systemd's watchdog only while every live worker pings its own. The
    sender of each datagram is known from its kernel credentials (SO_PASSCRED),
    as systemd itself does.
    """

    def __init__(self) -> None:
        self.upstream = dict(os.environ)
        self.watchdog = Watchdog.from_environ(self.upstream)
        self._dir = Path(tempfile.mkdtemp(prefix="dlp-gateway-notify-"))
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self._sock.bind(str(self._dir / "notify"))
        self._sock.setblocking(False)
        self._ready: set[int] = set()
        self._pinged: dict[int, float] = {}
        self._born: dict[int, float] = {}
        self.announced = False
        os.environ["NOTIFY_SOCKET"] = str(self._dir / "notify")   # inherited by spawned workers
        os.environ.pop("WATCHDOG_PID", None)
        if self.watchdog.interval is None:
            os.environ.pop("WATCHDOG_USEC", None)

    def poll(self, workers: list[int]) -> None:
        """Read what workers said; pass READY and WATCHDOG on when all agree."""
        self._receive()
        now = time.monotonic()
        for pid in workers:
            self._born.setdefault(pid, now)
        live = set(workers)   # forget workers that are gone
        self._ready &= live
        self._pinged = {pid: at for pid, at in self._pinged.items() if pid in live}
        self._born = {pid: at for pid, at in self._born.items() if pid in live}
        if not self.announced and workers and all(pid in self._ready for pid in workers):
            notify("READY=1", "STATUS=serving", f"MAINPID={os.getpid()}", environ=self.upstream)
            self.announced = True
        interval = self.watchdog.interval
        if self.announced and interval is not None and all(
                now - self._pinged.get(pid, self._born[pid]) < 2 * interval for pid in workers):
            self.watchdog.tick_with(self.upstream)

    def stopping(self) -> None:
        notify("STOPPING=1", "STATUS=draining", environ=self.upstream)

    def close(self) -> None:
        self._sock.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def _receive(self) -> None:
        while True:
            try:
                data, ancillary, _, _ = self._sock.recvmsg(4096, socket.CMSG_SPACE(_CREDENTIALS))
            except (BlockingIOError, InterruptedError):
                return
            pid = _sender(ancillary)
            if pid is None:
                continue
            lines = set(data.decode("ascii", "replace").splitlines())
            if "READY=1" in lines:
                self._ready.add(pid)
            if "WATCHDOG=1" in lines or "READY=1" in lines:
                self._pinged[pid] = time.monotonic()


def _sender(ancillary: list[tuple[int, int, bytes]]) -> int | None:
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS and len(data) >= _CREDENTIALS:
            return int(struct.unpack("3i", data[:_CREDENTIALS])[0])
    return None
