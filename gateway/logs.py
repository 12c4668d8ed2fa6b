"""JSON log lines on standard error: one object per line, no sensitive values.

Callers pass structured fields with ``extra={"fields": {...}}``; the message
text stays a short event name or sentence.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import traceback
from typing import Any


class JsonFormatter(logging.Formatter):
    _second = -1
    _stamp = ""

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
        return json.dumps(entry, ensure_ascii=False, default=str)


def setup(level: str) -> None:
    """Send every log record to stderr as JSON at ``level``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aiosmtpd logs every command at INFO, with the peer's data: keep it quiet.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
