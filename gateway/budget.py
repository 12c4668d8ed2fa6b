"""The in-flight byte budget of one worker: bytes of messages being received
(as declared with SIZE=) and being judged and relayed, so that many large
messages at once cannot take a worker's memory with them. A message is always
admitted when nothing else is in flight (the message size limit bounds it).

>>> budget = Budget(1000)
>>> budget.admit(600, held=0), budget.admit(600, held=0), budget.used
(True, False, 600)
>>> budget.admit(400, held=0), budget.used
(True, 1000)
>>> budget.release(1000); budget.admit(5000, held=0)   # alone: always admitted
True
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Budget:
    """Bytes in flight in this worker, against ``limit``."""

    limit: int
    used: int = 0

    def admit(self, size: int, held: int) -> bool:
        """Take ``size`` more bytes for a message that already holds ``held``;
        False (nothing taken) when that would pass the limit while others are in flight."""
        if self.used + size > self.limit and self.used - held > 0:
            return False
        self.used += size
        return True

    def release(self, size: int) -> None:
        self.used = max(0, self.used - size)
