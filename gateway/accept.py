"""Accepting SMTP connections when several workers share one listening socket,
so that no worker is left with few sessions while another holds the rest.

With one accept queue, whichever worker is awake takes what is queued: a client
that opens its long-lived connections in a burst (Postfix's connection cache,
``smtp-source -d``) could leave one worker with all 20 of them for as long as
they last, and one core idle. So each worker publishes how many sessions it
holds in a small array the supervisor shares with every worker, and a worker
that holds more than twice as many as another (``Balance.ahead``) stops
accepting: it closes its server (its own descriptor of the shared socket), and
the other workers take what comes. It listens again as soon as it is no longer
ahead, or when a connection has waited ``_PATIENCE`` for the others (busy,
stopped or stuck); then it keeps listening for ``_STAY`` before it may stop
again, so a stopped worker holding few sessions delays a few connections a
second, not each. It looks every ``_STEP``, less often (up to ``_STEP_MAX``)
while nothing is queued, so the first connection to wait for a stuck worker
waits up to ``_STEP_MAX`` + ``_PATIENCE``.

While a worker is not ahead, and that is nearly always with a connection per
message, it accepts with the event loop's own server (libuv's accept, in C): a
Python accept cost 2-3% of the throughput there (measured).

A slot of ``ABSENT`` is a worker that is not accepting (starting, draining or
dead): nobody waits for it.

>>> counts = [ABSENT, ABSENT]
>>> a, b = Balance(counts, 0), Balance(counts, 1)
>>> a.publish(3); a.ahead()       # b is not accepting yet
False
>>> b.publish(1); a.ahead()       # b holds a third: near enough
False
>>> b.publish(0); a.ahead(), b.ahead()
(True, False)
>>> a.withdraw(); b.ahead()
False
"""

from __future__ import annotations

import asyncio
import logging
import select
import socket
from collections.abc import Callable, MutableSequence

log = logging.getLogger("dlp.server")

ABSENT = -1
_STEP = 0.001       # seconds between looks at the balance while not accepting,
_STEP_MAX = 0.02    # growing to this while nothing waits in the queue
_PATIENCE = 0.005   # a connection waits no longer for another worker to take it
_STAY = 0.25        # after the others left a connection waiting: listen at least this long
_RETRY = 1.0        # a failure while not accepting (no descriptor for a copy): listen again after this


class Balance:
    """This worker's slot in the shared array of connection counts."""

    __slots__ = ("counts", "index")

    def __init__(self, counts: MutableSequence[int], index: int) -> None:
        self.counts = counts
        self.index = index

    def publish(self, held: int) -> None:
        self.counts[self.index] = held

    def withdraw(self) -> None:
        self.counts[self.index] = ABSENT

    def ahead(self) -> bool:
        """Whether another accepting worker holds less than half of this one's connections
        (``2 * other + 1 < mine``).

        Not merely fewer: sessions on the less busy worker are answered sooner and send
        more, so a split of 3/17 served as fast as 10/10 (measured), and with a
        connection per message the counts move by a few all the time; a worker that
        deferred then would only delay connections. What must not happen is a worker
        left with none or few while the other has them all."""
        counts = self.counts
        mine = counts[self.index]
        for index in range(len(counts)):
            other = counts[index]
            if index != self.index and other != ABSENT and 2 * other + 1 < mine:
                return True
        return False


class Acceptor:
    """Serves ``sock`` in this worker while it is not ahead (see the module docstring).
    ``held`` says how many sessions this worker serves; ``changed()`` is called when
    that changes; ``failed()`` counts a failure to listen again."""

    def __init__(self, loop: asyncio.AbstractEventLoop, sock: socket.socket,
                 factory: Callable[[], asyncio.Protocol], held: Callable[[], int],
                 balance: Balance, backlog: int, failed: Callable[[], None]) -> None:
        self.loop = loop
        self.sock = sock          # kept: each time this worker listens, it is on a copy
        self.factory = factory
        self.held = held
        self.balance = balance
        self.backlog = backlog    # as the supervisor's: listen() sets it for the shared socket
        self.failed = failed
        self.server: asyncio.AbstractServer | None = None
        self.reopening: asyncio.Task[None] | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.waiting_since: float | None = None   # of a connection queued while not accepting
        self.closed = False
        self.pauses = 0
        self.step = _STEP
        self.stay_until = 0.0     # loop time before which it does not pause (see _look)
        self.queue = select.poll()   # whether a connection waits, while this worker does not accept
        self.queue.register(sock.fileno(), select.POLLIN)

    async def start(self) -> None:
        self.server = await self._listen()
        self.changed()

    async def _listen(self) -> asyncio.AbstractServer:
        copy = self.sock.dup()
        try:
            return await self.loop.create_server(self.factory, sock=copy, backlog=self.backlog)
        except BaseException:
            copy.close()
            raise

    def changed(self) -> None:
        """A session began or ended: publish the count; stop or start accepting."""
        if self.closed:
            return
        self.balance.publish(self.held())
        try:
            if self.server is not None:
                if self.loop.time() >= self.stay_until and self.balance.ahead():
                    self._pause()
            elif self.reopening is None and self.timer is not None and not self.balance.ahead():
                self._reopen()
        except Exception as exc:  # never into the session that told us: listen again, later
            self._trouble(exc)

    def close(self) -> None:
        """Accept nothing more (what is queued goes to the other workers)."""
        self.closed = True
        self.balance.withdraw()
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.reopening is not None:
            self.reopening.cancel()
            self.reopening = None
        if self.server is not None:
            self.server.close()
            self.server = None
        self.sock.close()   # this worker's last copy: once every copy is closed, connections are refused

    def _pause(self) -> None:
        assert self.server is not None
        self.server.close()   # its copy of the socket; sessions it served go on
        self.server = None
        self.pauses += 1
        self.waiting_since = None
        self.step = _STEP
        self.timer = self.loop.call_later(_STEP, self._look)

    def _look(self) -> None:
        """While not accepting: listen again once no longer ahead, or once a connection
        has waited long enough for the others."""
        self.timer = None
        if self.closed:
            return
        try:
            if not self.balance.ahead():
                self._reopen()
                return
            queued = bool(self.queue.poll(0))
            now = self.loop.time()
            if not queued:   # the others take what comes: look less often
                self.waiting_since = None
                self.step = min(self.step * 2, _STEP_MAX)
            elif self.waiting_since is None:
                self.waiting_since = now
                self.step = _STEP
            elif now - self.waiting_since >= _PATIENCE:
                # the others do not accept (a worker stopped or stuck, its count low):
                # listen a while before pausing again, not a pause a connection
                self._reopen(stay=_STAY)
                return
            self.timer = self.loop.call_later(self.step, self._look)
        except Exception as exc:
            self._trouble(exc)

    def _reopen(self, stay: float = 0.0) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.reopening = self.loop.create_task(self._listen_again(stay))

    async def _listen_again(self, stay: float) -> None:
        try:
            server = await self._listen()
        except Exception as exc:   # no descriptor for the copy (EMFILE): the others accept meanwhile
            self.reopening = None
            self._trouble(exc)
            return
        self.reopening = None
        if self.closed:
            server.close()
            return
        self.server = server
        self.waiting_since = None
        self.stay_until = self.loop.time() + stay

    def _trouble(self, exc: Exception) -> None:
        """Something failed while this worker was not accepting: log it, count it, and listen
        again after ``_RETRY`` whatever the balance (serving comes before sharing)."""
        log.error("accepting connections paused",
                  extra={"fields": {"problem": getattr(exc, "strerror", None) or type(exc).__name__,
                                    "seconds": _RETRY}})
        self.failed()
        if not self.closed and self.server is None and self.reopening is None and self.timer is None:
            self.timer = self.loop.call_later(_RETRY, self._reopen)
