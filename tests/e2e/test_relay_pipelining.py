"""gateway.relay and gateway.downstream against a scripted downstream on a
real socket: MAIL goes with the first RCPT (one write where PIPELINING is
offered, one command at a time where it is not), replies are read in order
however the downstream cuts them, a refused sender is refused at the first
RCPT, and a reply nobody asked for never answers a later command."""

from __future__ import annotations

import asyncio
import smtplib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest

from gateway import xforward
from gateway.config import HostPort, RelaySettings
from gateway.relay import RelayError, RelayPool, Transaction
from tests.e2e.harness import Gateway, Sink, SinkHandler

StartGateway = Callable[..., Gateway]
_T = TypeVar("_T")


@dataclass
class Scripted:
    """A downstream that answers as told and records what each read brought."""

    pipelining: bool = True
    mail_reply: bytes = b"250 2.1.0 Ok\r\n"
    refuse: dict[bytes, bytes] = field(default_factory=dict)   # RCPT address -> reply
    piecemeal: bool = False   # every reply written a few bytes at a time
    silent_at: bytes = b""    # a command not answered, nor any after it
    close_at: bytes = b""     # a command answered by closing the connection
    xforward_reply: bytes = b""   # offer XFORWARD and answer it so
    idle_reply: bytes = b""   # written, unasked, after each delivery
    reads: list[bytes] = field(default_factory=list)
    messages: list[bytes] = field(default_factory=list)
    connections: int = 0
    port: int = 0
    _sessions: list[tuple[asyncio.Task[Any], asyncio.StreamWriter]] = field(default_factory=list)

    async def start(self) -> asyncio.Server:
        server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        return server

    async def stop(self, server: asyncio.Server) -> None:
        server.close()
        for task, writer in self._sessions:
            writer.close()
            task.cancel()
        await asyncio.gather(*(task for task, _ in self._sessions), return_exceptions=True)

    async def _say(self, writer: asyncio.StreamWriter, reply: bytes) -> None:
        if not self.piecemeal:
            writer.write(reply)
            return
        for at in range(0, len(reply), 3):
            writer.write(reply[at:at + 3])
            await writer.drain()
            await asyncio.sleep(0.002)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.current_task()
        assert task is not None
        self._sessions.append((task, writer))
        await self._say(writer, b"220 scripted ESMTP\r\n")
        buffer = b""
        body: bytes | None = None
        mute = False   # from silent_at on, nothing is answered
        while True:
            data = await reader.read(65536)
            if not data:
                break
            self.reads.append(data)
            buffer += data
            while True:
                if body is not None:
                    end = buffer.find(b"\r\n.\r\n")
                    if end < 0 and not buffer.startswith(b".\r\n"):
                        break
                    cut = 3 if buffer.startswith(b".\r\n") else end + 5
                    self.messages.append(body + buffer[:cut - 3])
                    buffer, body = buffer[cut:], None
                    await self._say(writer, b"250 2.0.0 queued\r\n" + self.idle_reply)
                    continue
                line, sep, rest = buffer.partition(b"\r\n")
                if not sep:
                    break
                buffer = rest
                verb = line[:4].upper()
                if self.silent_at and line.startswith(self.silent_at):
                    mute = True
                if mute:
                    continue
                if self.close_at and line.startswith(self.close_at):
                    writer.close()
                    return
                if verb == b"EHLO":
                    offer = b"250-PIPELINING\r\n" if self.pipelining else b""
                    offer += b"250-XFORWARD NAME ADDR\r\n" if self.xforward_reply else b""
                    await self._say(writer, b"250-scripted\r\n" + offer + b"250 8BITMIME\r\n")
                elif verb == b"MAIL":
                    await self._say(writer, self.mail_reply)
                elif verb == b"RCPT":
                    address = line.partition(b":")[2]
                    await self._say(writer, self.refuse.get(address, b"250 2.1.5 Ok\r\n"))
                elif verb == b"DATA":
                    body = b""
                    await self._say(writer, b"354 go ahead\r\n")
                elif verb == b"XFOR":
                    await self._say(writer, self.xforward_reply)
                elif verb == b"QUIT":
                    await self._say(writer, b"221 bye\r\n")
                    writer.close()
                    return
                else:
                    await self._say(writer, b"250 2.0.0 Ok\r\n")
        writer.close()


def against(script: Scripted, scenario: Callable[[RelayPool], Awaitable[_T]], timeout: float = 5) -> _T:
    """``scenario`` with a pool to ``script``, both started for it and closed after it."""
    async def main() -> _T:
        server = await script.start()
        pool = RelayPool(RelaySettings(address=HostPort(host="127.0.0.1", port=script.port), starttls="off",
                                       timeout=timeout))
        try:
            return await scenario(pool)
        finally:
            await pool.close()
            await script.stop(server)
    return asyncio.run(main())


def relay(script: Scripted, transactions: list[tuple[str, list[str]]], timeout: float = 5) -> list[str]:
    """Each (sender, recipients) through one pool to ``script``: each transaction's
    outcome (the DATA reply, or the first RelayError as "stage reason reply")."""
    async def scenario(pool: RelayPool) -> list[str]:
        outcomes = []
        for sender, recipients in transactions:
            transaction = Transaction(pool)
            transaction.mail(sender, [])
            try:
                for recipient in recipients:
                    await transaction.rcpt(recipient)
                outcomes.append(await transaction.data(b"Subject: x\r\n\r\nhello\r\n"))
            except RelayError as exc:
                outcomes.append(f"{exc.stage} {exc.reason} {exc.reply}")
                await transaction.reset()
            await asyncio.sleep(0.05)   # an unasked reply arrives while the connection is idle
        return outcomes
    return against(script, scenario, timeout)


async def _outcome(step: Awaitable[str]) -> str:
    """What a step answered, or its RelayError as "stage reason"."""
    try:
        return await step
    except RelayError as exc:
        return f"{exc.stage!r} {exc.reason}"


def _mail_with_rcpt(reads: list[bytes]) -> list[bool]:
    """For each read that brought a MAIL: whether the RCPT came in the same read."""
    return [b"RCPT TO:" in r for r in reads if b"MAIL FROM:" in r]


def test_mail_and_the_first_rcpt_go_in_one_write_where_pipelining_is_offered() -> None:
    script = Scripted()
    outcomes = relay(script, [("a@citrus.example", ["b@citrus.example", "c@citrus.example"])] * 2)
    assert outcomes == ["250 2.0.0 queued"] * 2
    assert _mail_with_rcpt(script.reads) == [True, True]
    assert script.connections == 1 and len(script.messages) == 2


def test_one_command_at_a_time_where_pipelining_is_not_offered() -> None:
    script = Scripted(pipelining=False)
    assert relay(script, [("a@citrus.example", ["b@citrus.example"])] * 2) == ["250 2.0.0 queued"] * 2
    assert _mail_with_rcpt(script.reads) == [False, False]


@pytest.mark.parametrize("pipelining", [True, False])
def test_a_refused_sender_is_refused_at_the_first_rcpt(pipelining: bool) -> None:
    script = Scripted(pipelining=pipelining, mail_reply=b"553-5.1.8 Sender\r\n553 5.1.8 domain unknown\r\n")
    outcomes = relay(script, [("a@nowhere.example", ["b@citrus.example"])])
    assert outcomes == ["MAIL refused 553 5.1.8 Sender 5.1.8 domain unknown"]
    assert not script.messages
    assert not any(b"RCPT" in r for r in script.reads) or pipelining   # lockstep: no RCPT after a refused MAIL


def test_a_refused_recipient_leaves_the_transaction_open_for_the_next() -> None:
    script = Scripted(refuse={b"<gone@citrus.example>": b"550 5.1.1 No such user\r\n"})

    async def scenario(pool: RelayPool) -> list[str]:
        transaction = Transaction(pool)
        transaction.mail("a@citrus.example", [])
        got = []
        try:
            await transaction.rcpt("gone@citrus.example")
        except RelayError as exc:
            got.append(f"{exc.stage!r} {exc.reason} {exc.reply}")
        got.append(await transaction.rcpt("b@citrus.example"))
        got.append(await transaction.data(b"Subject: x\r\n\r\nhello\r\n"))
        return got
    assert against(script, scenario) == ["'' refused 550 5.1.1 No such user", "250 2.1.5 Ok", "250 2.0.0 queued"]
    assert script.messages == [b"Subject: x\r\n\r\nhello\r\n"]


def test_replies_cut_anywhere_are_read_in_order() -> None:
    script = Scripted(piecemeal=True)
    assert relay(script, [("a@citrus.example", ["b@citrus.example", "c@citrus.example"])] * 2) \
        == ["250 2.0.0 queued"] * 2
    assert script.connections == 1


@pytest.mark.parametrize("unasked", [b"421 4.4.2 idle too long\r\n", b"421-4.4.2 idle\r\n", b"421 4.4"])
def test_an_unasked_reply_retires_the_connection(unasked: bytes) -> None:
    script = Scripted(idle_reply=unasked, pipelining=False)
    outcomes = relay(script, [("a@citrus.example", ["b@citrus.example"])] * 3)
    assert outcomes == ["250 2.0.0 queued"] * 3   # never the 421 as the next MAIL's answer
    assert script.connections == 3
    assert len(script.messages) == 3


@pytest.mark.parametrize(("silent", "stage"), [(b"MAIL", "MAIL"), (b"RCPT", "")])
def test_a_downstream_that_never_answers_is_lost(silent: bytes, stage: str) -> None:
    """Before its MAIL is answered, the transaction cannot open (the edge goes on detached); after
    it, only this recipient is lost (451)."""
    script = Scripted(silent_at=silent)
    outcomes = relay(script, [("a@citrus.example", ["b@citrus.example"])], timeout=0.5)
    assert outcomes == [f"{stage} lost 451 4.4.2 Downstream connection lost or timed out, try again later"]


@dataclass
class RefusingSender(SinkHandler):
    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:
        if address.endswith("@nowhere.example"):
            return "553 5.1.8 Sender address rejected: Domain not found"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 OK"


@pytest.mark.parametrize("pipelining", [True, False])
def test_gateway_client_hears_the_refused_sender_at_the_first_rcpt(start_gateway: StartGateway,
                                                                   pipelining: bool) -> None:
    sink = Sink()
    sink.handler = sink.controller.handler = RefusingSender(pipelining=pipelining)
    sink.start()
    try:
        gateway = start_gateway(sink.port)
        with smtplib.SMTP("127.0.0.1", gateway.port, timeout=30) as client:
            client.ehlo()
            assert client.mail("clerk@nowhere.example")[0] == 250
            assert client.rcpt("b@citrus.example") == (553, b"5.1.8 Sender address rejected: Domain not found")
            assert client.rcpt("c@citrus.example")[0] == 553
            client.rset()
            assert client.sendmail("clerk@citrus.example", ["b@citrus.example"],
                                   b"Subject: ok\r\n\r\nhello\r\n") == {}
        assert [m.mail_from for m in sink.wait_for(1)] == ["clerk@citrus.example"]
        assert gateway.metric('dlp_relay_errors_total{reason="refused"}') == 2
        assert sink.handler.connections == 1   # the refusal left the connection in the pool
    finally:
        sink.stop()


def test_a_wait_cut_short_never_leaves_its_reply_for_the_next_command() -> None:
    script = Scripted(silent_at=b"RCPT TO:<slow@")

    async def scenario(pool: RelayPool) -> list[str]:
        first = Transaction(pool)
        first.mail("a@citrus.example", [])
        await first.rcpt("b@citrus.example")
        waiting = asyncio.ensure_future(first.rcpt("slow@citrus.example"))
        await asyncio.sleep(0.2)
        waiting.cancel()   # the client went away while the downstream was thinking
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await first.reset()
        second = Transaction(pool)
        second.mail("a@citrus.example", [])
        got = [await second.rcpt("c@citrus.example"), await second.data(b"Subject: x\r\n\r\nhello\r\n")]
        return got
    assert against(script, scenario) == ["250 2.1.5 Recipient OK", "250 2.0.0 queued"]
    assert script.connections == 2   # the interrupted connection was not given back


def test_a_connection_lost_after_recipients_were_taken_fails_the_transaction() -> None:
    script = Scripted(close_at=b"RCPT TO:<gone@")

    async def scenario(pool: RelayPool) -> list[str]:
        transaction = Transaction(pool)
        transaction.mail("a@citrus.example", [])
        got = [await transaction.rcpt("b@citrus.example"), await _outcome(transaction.rcpt("gone@citrus.example")),
               await _outcome(transaction.rcpt("c@citrus.example")),
               await _outcome(transaction.data(b"Subject: x\r\n\r\nhello\r\n"))]
        got.append(f"active={transaction.active}")
        return got
    # never a delivery to c alone, which b (told 250) would miss
    assert against(script, scenario) == ["250 2.1.5 Recipient OK", "'' lost", "'' lost", "'' lost", "active=False"]
    assert not script.messages


@pytest.mark.parametrize("pipelining", [True, False])
def test_an_odd_answer_to_xforward_still_opens_the_transaction(pipelining: bool) -> None:
    script = Scripted(pipelining=pipelining, xforward_reply=b"252 2.0.0 noted\r\n")

    async def scenario(pool: RelayPool) -> list[str]:
        transaction = Transaction(pool)
        transaction.mail("a@citrus.example", [], xforward.XForward(name="pc.citrus.example", addr="192.0.2.7"))
        got = [await transaction.rcpt("b@citrus.example"),
               await transaction.data(b"Subject: x\r\n\r\nhello\r\n")]
        return got
    assert against(script, scenario) == ["250 2.1.5 Recipient OK", "250 2.0.0 queued"]
    assert script.messages == [b"Subject: x\r\n\r\nhello\r\n"]
    assert b"XFORWARD NAME=pc.citrus.example ADDR=192.0.2.7" in b"".join(script.reads)


def test_a_reset_cut_short_is_counted_out_of_the_pool() -> None:
    script = Scripted(silent_at=b"RSET")

    async def scenario(pool: RelayPool) -> tuple[int, int]:
        transaction = Transaction(pool)
        transaction.mail("a@citrus.example", [])
        await transaction.rcpt("b@citrus.example")
        resetting = asyncio.ensure_future(transaction.reset())
        await asyncio.sleep(0.2)
        resetting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await resetting
        counts = (pool.open_connections, pool.idle_connections)
        return counts
    assert against(script, scenario) == (0, 0)
