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
stopped or stuck), so no connection waits on balance for much longer than
that (it looks every ``_STEP``, less often while nothing waits).

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
from typing import Any

log = logging.getLogger("dlp.server")

ABSENT = -1
_STEP = 0.001       # seconds between looks at the balance while not accepting,
_STEP_MAX = 0.02    # growing to this while nothing waits in the queue
_PATIENCE = 0.005   # a connection waits no longer for another worker to take it
_RETRY = 1.0        # no descriptor to listen with again: try after this


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
        """Whether another accepting worker holds fewer than half of this one's connections.

        Not merely fewer: sessions on the less busy worker are answered sooner and send
        more, so a split of 13/7 serves as fast as 10/10 (measured), and with a
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

    async def start(self) -> None:
        self.server = await self._listen()
        self.changed()

    def _listen(self) -> Any:
        return self.loop.create_server(self.factory, sock=self.sock.dup(), backlog=self.backlog)

    def changed(self) -> None:
        """A session began or ended: publish the count; stop or start accepting."""
        if self.closed:
            return
        self.balance.publish(self.held())
        if self.server is not None:
            if self.balance.ahead():
                self._pause()
        elif self.reopening is None and self.timer is not None and not self.balance.ahead():
            self._reopen()

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
        if not self.balance.ahead():
            self._reopen()
            return
        readable, _, _ = select.select([self.sock], [], [], 0)
        now = self.loop.time()
        if not readable:   # the others take what comes: look less often
            self.waiting_since = None
            self.step = min(self.step * 2, _STEP_MAX)
        elif self.waiting_since is None:
            self.waiting_since = now
            self.step = _STEP
        elif now - self.waiting_since >= _PATIENCE:
            self._reopen()
            return
        self.timer = self.loop.call_later(self.step, self._look)

    def _reopen(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.reopening = self.loop.create_task(self._listen_again())

    async def _listen_again(self) -> None:
        try:
            server = await self._listen()
        except OSError as exc:   # no descriptor for the copy (EMFILE): the others accept meanwhile
            log.error("accepting connections paused",
                      extra={"fields": {"problem": exc.strerror, "seconds": _RETRY}})
            self.failed()
            self.reopening = None
            self.timer = self.loop.call_later(_RETRY, self._look)
            return
        self.reopening = None
        if self.closed:
            server.close()
            return
        self.server = server
        self.waiting_since = None
