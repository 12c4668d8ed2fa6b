"""Every SMTP reply the gateway sends of its own, as named constants.

RFC 5321 gives the basic code, RFC 3463 the enhanced status code; the class
digit of both always agrees (a test checks it).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Reply:
    code: int
    enhanced: str
    text: str

    def format(self, **values: object) -> str:
        """Return the reply line, with ``values`` filled into the text."""
        return f"{self.code} {self.enhanced} {self.text.format(**values)}"

    def __str__(self) -> str:
        return self.format()


R250_OK = Reply(250, "2.0.0", "OK")
R250_SENDER_OK = Reply(250, "2.1.0", "Sender OK")
R250_RECIPIENT_OK = Reply(250, "2.1.5", "Recipient OK")
R250_RELAYED = Reply(250, "2.0.0", "OK: queued as {queue_id}")
R250_QUARANTINED = Reply(250, "2.0.0", "OK: held for review as {id} by policy {profile}: {why}")
R421_SHUTTING_DOWN = Reply(421, "4.3.2", "Service shutting down, try again later")
R421_TOO_MANY_SESSIONS = Reply(421, "4.3.2", "Too many connections, try again later")
R421_TOO_MANY_FROM_CLIENT = Reply(421, "4.7.0", "Too many connections from your address, try again later")
R421_IDLE = Reply(421, "4.4.2", "No transaction started in time, closing")
R421_TOO_SLOW = Reply(421, "4.4.2", "Message data slower than {rate} bytes/s, closing; try again later")
R451_RELAY_DOWN = Reply(451, "4.4.1", "Downstream unavailable, try again later")
R451_RELAY_LOST = Reply(451, "4.4.2", "Downstream connection lost or timed out, try again later")
R451_RELAY_DEFERRED = Reply(451, "4.4.0", "Downstream deferred ({code}), try again later")
R451_STORE = Reply(451, "4.3.0", "Quarantine store unavailable, try again later")
R451_INTERNAL = Reply(451, "4.3.0", "Temporary processing error, try again later")
R452_TOO_MANY_RECIPIENTS = Reply(452, "4.5.3", "Too many recipients")
R452_BUSY = Reply(452, "4.3.1", "Insufficient system resources (messages in flight), try again later")
R550_BLOCKED = Reply(550, "5.7.1", "Refused by data-loss policy {profile}: {why}")
R552_TOO_BIG = Reply(552, "5.3.4", "Message size exceeds fixed limit of {limit} bytes")
R554_NOT_TRUSTED = Reply(554, "5.7.1", "Client host {ip} is not in the trusted networks; relaying denied")
R554_RELAY_REFUSED = Reply(554, "5.0.0", "Downstream refused the message ({code})")

ALL = tuple(v for k, v in sorted(globals().items()) if k[:1] == "R" and isinstance(v, Reply))
