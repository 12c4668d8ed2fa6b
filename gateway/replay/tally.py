"""The replay's totals: counters a worker fills for one batch and the reader merges.

Their size grows with the number of profiles, entities, days, senders and
recipient domains, never with the number of messages; the per-message rows
(held, blocked, changed) go to spool files instead.

>>> a, b = Tally(), Tally()
>>> a.actions[("cerritos", "block")] += 1; b.actions[("cerritos", "block")] += 2
>>> a.merge(b).actions[("cerritos", "block")]
3
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, fields

HELD = ("block", "quarantine")   # the actions whose senders and domains the report ranks


@dataclass(slots=True)
class Tally:
    """Counts over the messages read so far (an accumulator, so not frozen)."""

    messages: int = 0                                                 # scanned and decided
    outside: int = 0                                                  # skipped by --since/--until
    refused: Counter[str] = field(default_factory=Counter)            # reason -> inputs
    actions: Counter[tuple[str, str]] = field(default_factory=Counter)    # (profile, action)
    candidate: Counter[tuple[str, str]] = field(default_factory=Counter)  # the same, candidate profiles
    entities: Counter[str] = field(default_factory=Counter)           # entity -> findings
    entity_messages: Counter[str] = field(default_factory=Counter)    # entity -> messages
    days: Counter[tuple[str, str]] = field(default_factory=Counter)   # (YYYY-MM-DD, action)
    senders: Counter[str] = field(default_factory=Counter)            # masked sender, held or blocked
    domains: Counter[str] = field(default_factory=Counter)            # recipient domain, held or blocked
    unscannable: Counter[str] = field(default_factory=Counter)        # reason -> parts
    changes: Counter[tuple[str, str]] = field(default_factory=Counter)    # (today, candidate) actions

    def merge(self, other: Tally) -> Tally:
        """Add ``other``'s counts to these; returns self."""
        self.messages += other.messages
        self.outside += other.outside
        for f in fields(self):
            mine = getattr(self, f.name)
            if isinstance(mine, Counter):
                mine.update(getattr(other, f.name))
        return self

    @property
    def changed(self) -> int:
        return sum(self.changes.values())
