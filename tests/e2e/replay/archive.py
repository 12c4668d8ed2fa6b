"""A synthetic sent-mail archive for replay's browser test, screenshot and benchmark.

The messages are the labeled detection corpus (tests/corpus), re-addressed:
each copy gets a sender from one of the shipped profiles, internal or external
recipients, a date spread over a quarter and sometimes a purpose tag, so the
report has every profile, action, entity and day to show. Written as an mbox
(From lines quoted as ``mailbox`` does), streamed: memory does not grow with
``count``. A candidate policy file changes three chains of today's profiles.
"""

from __future__ import annotations

import random
import re
from datetime import date, timedelta
from pathlib import Path

import yaml

from gateway.policy import profiles
from tests.corpus.generate import generate

SENDERS = ["billing@citrus.example", "ar@lancaster.example", "service@pomona.example", "payroll@cerritos.example",
           "clerk@pvestates.example", "it@example.org", "hr@cerritos.example", "meter@citrus.example"]
EXTERNAL = ["agency.example", "partner.example", "lawfirm.example", "vendor.example", "mail.example"]
START = date(2026, 1, 5)
_HEADER = re.compile(rb"^(From|To|Cc|Date|Subject):[^\n]*\n(?:[ \t][^\n]*\n)*", re.MULTILINE | re.IGNORECASE)
_FROM_LINE = re.compile(rb"^(>*From )", re.MULTILINE)


def _readdress(message: bytes, n: int, rng: random.Random) -> bytes:
    sender = SENDERS[n % len(SENDERS)]
    domain = sender.split("@")[1]
    to = f"staff{n % 13}@{domain}" if rng.random() < 0.35 else f"contact{n % 17}@{rng.choice(EXTERNAL)}"
    day = START + timedelta(days=rng.randrange(90))
    head, _, body = message.replace(b"\r\n", b"\n").partition(b"\n\n")
    subject = re.search(rb"^Subject:([^\n]*)", head, re.MULTILINE | re.IGNORECASE)
    tag = b" [purpose:collections]" if rng.random() < 0.08 else b""
    fields = (f"From: {sender}\nTo: {to}\nDate: {day:%a, %d %b %Y} 09:{n % 60:02d}:00 -0800\n".encode()
              + b"Subject:" + (subject.group(1) if subject else b" (none)") + tag + b"\n")
    return fields + _HEADER.sub(b"", head + b"\n") + b"\n" + body


def write_mbox(path: Path, count: int, seed: int = 14, corpus: int = 600) -> int:
    """Write ``count`` messages to the mbox ``path``; return its size in bytes."""
    rng = random.Random(seed)
    samples = [s.message for s in generate(seed=seed, count=min(count, corpus))]
    with open(path, "wb") as f:
        for n in range(count):
            message = _FROM_LINE.sub(rb">\1", _readdress(samples[n % len(samples)], n, rng))
            f.write(b"From archive@replay.invalid Mon Jan  5 09:00:00 2026\n" + message.rstrip(b"\n") + b"\n\n")
        return f.tell()


def write_candidate(path: Path) -> None:
    """Today's profiles with three changes: Citrus blocks, Cerritos holds cards, Lancaster takes no purpose."""
    document = yaml.safe_load(profiles.SHIPPED.read_text())
    chains = {name: p["chain"] for name, p in document["profiles"].items()}
    next(link for link in chains["citrus-water"] if link["rule"] == "sensitive-data")["action"] = "block"
    next(link for link in chains["cerritos"] if link["rule"] == "card-data")["action"] = "quarantine"
    chains["lancaster-lce"][:] = [link for link in chains["lancaster-lce"] if link["rule"] != "business-purpose"]
    path.write_text(yaml.safe_dump(document))
