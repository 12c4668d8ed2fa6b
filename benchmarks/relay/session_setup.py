"""CPU to set up one SMTP session: the gateway's protocol object, made once per connection.

aiosmtpd's ``SMTP.__init__`` lists the members of the server and of the
handler, and reads the EHLO hook's signature, on every connection; with a
new connection per message that is part of each message's cost. This
makes ``GatewaySMTP`` objects on a running loop, as the server does for
each connection, and prints the thread CPU per object (the best of the
rounds). Run it with another checkout first on ``PYTHONPATH`` to compare.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/relay/session_setup.py
    PYTHONPATH=/tmp/wt-old .venv/bin/python benchmarks/relay/session_setup.py
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time

from prometheus_client import CollectorRegistry

from gateway import config
from gateway.metrics import Metrics
from gateway.relay import RelayPool
from gateway.smtp import GatewayHandler, GatewaySMTP, GatewayState


async def measure(objects: int, rounds: int) -> float:
    """The best round's thread CPU per GatewaySMTP made, in microseconds."""
    settings = config.load(None)
    state = GatewayState(settings, RelayPool(settings.relay), Metrics(CollectorRegistry()), "bench.example")
    handler = GatewayHandler(state)
    for _ in range(100):   # warm: first uses fill caches
        GatewaySMTP(handler, state)
    best = float("inf")
    for _ in range(rounds):
        start = time.thread_time()
        for _ in range(objects):
            GatewaySMTP(handler, state)
        best = min(best, (time.thread_time() - start) / objects * 1e6)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--objects", type=int, default=2000, help="sessions made per round (default 2000)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data:
        os.chdir(data)   # the default settings keep their quarantine under ./var
        micros = asyncio.run(measure(args.objects, args.rounds))
    import gateway  # noqa: PLC0415 - only to say which checkout was measured
    print(f"session set-up: {micros:.1f} µs CPU per connection (best of {args.rounds} rounds of {args.objects}; "
          f"gateway from {os.path.dirname(gateway.__file__)})")


if __name__ == "__main__":
    main()
