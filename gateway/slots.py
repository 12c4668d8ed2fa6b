"""Session slots that idle or slow clients cannot hog (issue 10).

Three rules, each configurable under ``smtp:`` (gateway.config):

- ``max_sessions_per_client``: sessions one client address may hold; more are
  refused at connect with 421 (a mail server sending to us opens about 20:
  Postfix's default destination concurrency).
- ``pre_mail_timeout``: a session must start a transaction (MAIL) within
  this many seconds of connecting or of its last transaction ending, however
  many other commands it sends; otherwise it is closed with 421. And when
  every slot is taken, a new client takes the slot of the session that has
  waited longest without a transaction, if that is ``EVICTABLE_AFTER``
  seconds or more (421 to that one), so idle connections never lock a
  working mail server out.
- ``min_data_rate``: after ``data_rate_grace`` seconds, DATA must arrive at
  this many bytes per second on average, or the session is closed with 421
  (the sender keeps the message and retries).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from typing import Any, Protocol

from gateway import replies

log = logging.getLogger("dlp.smtp")
_RATE_CHECK_SECONDS = 1.0
EVICTABLE_AFTER = 5.0  # seconds a session must have waited for MAIL before it can be evicted


class Slot(Protocol):
    """What these rules need to know of a session (gateway.smtp.GatewaySMTP)."""

    peer_ip: str
    busy: bool
    idle_since: float | None  # monotonic time it started to wait for MAIL; None in a transaction
    received: int  # bytes received so far

    def close_with(self, reply: str) -> None: ...


def too_many_from(peer_ip: str, sessions: Iterable[Slot], limit: int) -> bool:
    """Return whether ``peer_ip`` holds more than ``limit`` of ``sessions``."""
    return sum(1 for s in sessions if s.peer_ip == peer_ip) > limit


def evict_idle(sessions: Iterable[Slot], newcomer: Slot) -> bool:
    """Close the session longest without a transaction to make room; False when none."""
    now = time.monotonic()
    idle = [s for s in sessions if s is not newcomer and not s.busy and s.idle_since is not None
            and now - s.idle_since >= EVICTABLE_AFTER]
    if not idle:
        return False
    victim = min(idle, key=lambda s: s.idle_since or 0.0)
    log.warning("idle session evicted for a new client", extra={"fields": {"client": victim.peer_ip}})
    victim.close_with(replies.R421_IDLE.format())
    return True


def expire_if_idle(session: Slot, since: float) -> None:
    """Close ``session`` if it is still waiting for MAIL since ``since`` (a timer callback)."""
    if session.idle_since == since and not session.busy:
        log.info("no transaction started in time", extra={"fields": {"client": session.peer_ip}})
        session.close_with(replies.R421_IDLE.format())


class DataRate:
    """Close a session when DATA arrives slower than ``min_rate`` bytes/s after
    ``grace`` s; checked every second until the data is in (the session turns
    busy), the session ends or ``cancel``. On loop timers, not a task: a task
    per DATA cost a coroutine, a future and four loop callbacks per message."""

    __slots__ = ("_loop", "_session", "_min_rate", "_grace", "_started", "_base", "_timer")

    def __init__(self, loop: asyncio.AbstractEventLoop, session: Slot, min_rate: float, grace: float) -> None:
        self._loop, self._session, self._min_rate, self._grace = loop, session, min_rate, grace
        self._started, self._base = time.monotonic(), session.received
        self._timer: asyncio.TimerHandle | None = loop.call_later(_RATE_CHECK_SECONDS, self._check)

    def _check(self) -> None:
        self._timer = None
        session = self._session
        if session.busy:
            return
        elapsed = time.monotonic() - self._started
        if elapsed >= self._grace and (session.received - self._base) < self._min_rate * elapsed:
            log.warning("DATA too slow", extra={"fields": {"client": session.peer_ip,
                                                           "rate": round((session.received - self._base) / elapsed)}})
            session.close_with(replies.R421_TOO_SLOW.format(rate=int(self._min_rate)))
            return
        self._timer = self._loop.call_later(_RATE_CHECK_SECONDS, self._check)

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


def arm(loop: asyncio.AbstractEventLoop, session: Any, timeout: float) -> None:
    """Start the pre-MAIL clock of ``session`` now."""
    since = session.idle_since = time.monotonic()
    session.idle_timer = loop.call_later(timeout, expire_if_idle, session, since)


def disarm(session: Any) -> None:
    """Stop the pre-MAIL clock (a transaction started, or the session ended)."""
    session.idle_since = None
    timer = getattr(session, "idle_timer", None)
    if timer is not None:
        timer.cancel()
        session.idle_timer = None
