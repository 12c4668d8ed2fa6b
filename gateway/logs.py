"""JSON log lines on standard error: one object per line, no sensitive values.

Callers pass structured fields with ``extra={"fields": {...}}``; the message
text stays a short event name or sentence.

When standard error is systemd's journal stream (``JOURNAL_STREAM`` names its
device and inode, systemd.exec(5)), each line starts with the syslog priority
in angle brackets (sd-daemon(3)), so journald files it at the right level and
``journalctl -p warning`` works; the JSON that follows is unchanged.

>>> journald_prefix(logging.ERROR), journald_prefix(logging.INFO), journald_prefix(5)
('<3>', '<6>', '<7>')
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import traceback
from typing import Any

_PRIORITIES = ((logging.CRITICAL, 2), (logging.ERROR, 3), (logging.WARNING, 4), (logging.INFO, 6))
_ENCODER = json.JSONEncoder(ensure_ascii=False, default=str)   # json.dumps makes one per call


def journald_prefix(level: int) -> str:
    """The sd-daemon ``<N>`` prefix for a logging level (debug and below: 7)."""
    return f"<{next((p for lvl, p in _PRIORITIES if level >= lvl), 7)}>"


def to_journal(stream: Any = None) -> bool:
    """True when ``stream`` (stderr) is the journal stream systemd connected."""
    expected = os.environ.get("JOURNAL_STREAM", "")
    try:
        info = os.fstat((stream or sys.stderr).fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return expected == f"{info.st_dev}:{info.st_ino}"


class JsonFormatter(logging.Formatter):
    _second = -1
    _stamp = ""

    def __init__(self, journald: bool = False) -> None:
        super().__init__()
        self.journald = journald

    def _timestamp(self, created: float) -> str:
        second = int(created)
        if second != self._second:  # one strftime per second, not per line
            self._second, self._stamp = second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._stamp}.{int((created - second) * 1000):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self._timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info and record.exc_info[0] is not None:
            # The type and where it was raised, never the text: an exception's
            # message may quote message content.
            entry["error"] = record.exc_info[0].__name__
            frames = traceback.extract_tb(record.exc_info[2])
            if frames:
                entry["where"] = f"{frames[-1].filename}:{frames[-1].lineno}"
        line = _ENCODER.encode(entry)
        return journald_prefix(record.levelno) + line if self.journald else line


def setup(level: str) -> None:
    """Send every log record to stderr as JSON at ``level``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(journald=to_journal(sys.stderr)))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Every LogRecord looks up its thread's and process's names, and the
    # caller's file and line, unless told not to (the logging HOWTO's
    # "Optimization"); our lines show none of them (the message line carries
    # the pid itself).
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    logging._srcfile = None
    # aiosmtpd logs every command at INFO, with the peer's data: keep it quiet.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
