"""The reference relay for benchmarks/relay: the least a Python relay must do.

One process, one uvloop event loop: an aiosmtpd server whose DATA hook sends
the message, as received, to the downstream with aiosmtplib over a pool of
reused connections, and answers 250 only once the downstream has accepted it.
No parsing, no headers, no logging, no metrics: the gateway is judged against
this, so it is meant to be a good, honest relay and nothing more.

    python benchmarks/relay/bare_relay.py --listen 127.0.0.1:10025 --relay 127.0.0.1:10026
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket

import aiosmtplib
import uvloop
from aiosmtpd.smtp import SMTP, Envelope, Session

_LOST = (aiosmtplib.SMTPServerDisconnected, ConnectionError)


def host_port(text: str) -> tuple[str, int]:
    """Split ``HOST:PORT``."""
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)


class Pool:
    """Idle downstream connections, most recently used first."""

    def __init__(self, host: str, port: int, size: int) -> None:
        self.host, self.port, self.size = host, port, size
        self.idle: list[aiosmtplib.SMTP] = []

    async def acquire(self) -> tuple[aiosmtplib.SMTP, bool]:
        """Return a connected client and whether it came from the pool."""
        while self.idle:
            client = self.idle.pop()
            if client.is_connected:
                return client, True
        client = aiosmtplib.SMTP(hostname=self.host, port=self.port, start_tls=False, timeout=60)
        await client.connect()
        await client.ehlo()
        return client, False

    def release(self, client: aiosmtplib.SMTP, reusable: bool) -> None:
        """Keep ``client`` for the next message, or close it."""
        if reusable and client.is_connected and len(self.idle) < self.size:
            self.idle.append(client)
        else:
            client.close()


class RelayHandler:
    """aiosmtpd hook: relay each message, then answer with the outcome."""

    def __init__(self, pool: Pool) -> None:
        self.pool = pool

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        for _ in range(2):  # a pooled connection the downstream closed gets one retry
            try:
                client, reused = await self.pool.acquire()
            except (aiosmtplib.SMTPException, OSError):
                return "451 4.4.1 Downstream unavailable"
            try:
                await client.sendmail(envelope.mail_from or "", envelope.rcpt_tos,
                                      envelope.original_content or b"")
            except _LOST:
                self.pool.release(client, reusable=False)
                if reused:
                    continue
                return "451 4.4.2 Downstream connection lost"
            except aiosmtplib.SMTPResponseException as exc:
                self.pool.release(client, reusable=True)  # sendmail has sent RSET
                return f"{exc.code} {exc.message}" if exc.code >= 500 else "451 4.4.0 Deferred"
            except (aiosmtplib.SMTPException, OSError):
                self.pool.release(client, reusable=False)
                return "451 4.4.0 Relay failed"
            self.pool.release(client, reusable=True)
            return "250 2.0.0 OK relayed"
        return "451 4.4.2 Downstream connection lost"


async def serve(listen: tuple[str, int], relay: tuple[str, int], pool_size: int) -> None:
    """Relay until SIGTERM or SIGINT."""
    handler = RelayHandler(Pool(*relay, size=pool_size))
    hostname = socket.getfqdn()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, decode_data=False, hostname=hostname, ident="bare-relay"),
        *listen, backlog=1024, reuse_address=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen", required=True, metavar="HOST:PORT")
    parser.add_argument("--relay", required=True, metavar="HOST:PORT")
    parser.add_argument("--pool-size", type=int, default=16, metavar="N",
                        help="idle downstream connections kept (default 16, as the gateway)")
    args = parser.parse_args()
    uvloop.run(serve(host_port(args.listen), host_port(args.relay), args.pool_size))


if __name__ == "__main__":
    main()
