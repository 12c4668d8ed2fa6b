"""Named points where a test may have the gateway killed (SIGKILL), to prove
that no crash loses a message. Off unless DLP_FAILPOINTS lists the name
(comma-separated); read once at import, so the check costs one set lookup.
"""

from __future__ import annotations

import os
import signal

_ARMED = frozenset(filter(None, os.environ.get("DLP_FAILPOINTS", "").split(",")))


def reached(name: str) -> None:
    """Die here, at once and without cleanup, when ``name`` is armed."""
    if name in _ARMED:
        os.kill(os.getpid(), signal.SIGKILL)


class FailpointError(RuntimeError):
    """Raised where a test armed a failure (``raised``)."""


def raised(name: str) -> None:
    """Raise FailpointError here when ``name`` is armed (an unexpected bug, say)."""
    if name in _ARMED:
        raise FailpointError(name)
