"""Fuzzing that stays (issue 10): the scanner and the SMTP edge, on mutations of
CPython's test_email messages (when the stdlib test package is installed), of
the detection corpus (tests/corpus) and of our own hostile cases, with a fixed
number of examples (a few seconds) in every test run.

Each target must never raise and must finish within its budget. An input that
fails (hypothesis prints it) is saved to tests/e2e/fuzz/regressions/ as
``<what>.eml`` and replayed by ``test_regressions`` on every run.
"""

from __future__ import annotations

import smtplib
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from detectors.extract.lines import crlf
from detectors.scan import Budgets, Scanner
from tests.e2e.fuzz import hostile
from tests.e2e.fuzz.edge import start as edge_start
from tests.e2e.harness import Gateway, Sink

HERE = Path(__file__).parent
REGRESSIONS = HERE / "regressions"
SCANNER = Scanner(budgets=Budgets(cpu_seconds=1.0))


def _seeds() -> list[bytes]:
    found: list[bytes] = []
    try:
        import test.test_email as email_tests
        data = Path(email_tests.__file__).parent / "data"
        found += [p.read_bytes() for p in sorted(data.glob("msg_*.txt"))]
    except ImportError:  # the stdlib test package is optional in distributions
        pass
    from tests.corpus.generate import generate
    found += [sample.message for sample in generate(seed=10, count=20)]
    found += [hostile.message(b"SSN 219-45-6789\r\n"),
              hostile.with_attachment("a.zip", hostile.overlapping_zip(20, 4096), "application/zip"),
              hostile.message(b"hi\r\n", subject="=?utf-8\0?q?SSN_219-45-6789?="),
              b"From: a@lancaster.example\rSubject: hi\r\rSSN 219-45-6789\r"]
    return found


SEEDS = _seeds()


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A seed message with a few byte-level edits: flips, cuts, splices, junk."""
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 4))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        kind = draw(st.sampled_from(["flip", "cut", "insert", "dup"]))
        if kind == "flip":
            data[at] = draw(st.integers(0, 255))
        elif kind == "cut":
            del data[at : at + draw(st.integers(1, 64))]
        elif kind == "insert":
            data[at:at] = draw(st.sampled_from([b"\0", b"\r", b"\n", b"=?", b"?=", b"--", b"\r\n\r\n",
                                                b"; boundary=x", b"Content-Type: multipart/mixed\r\n",
                                                b"base64", b'charset="\0"', b"219-45-6789"]))
        else:
            piece = bytes(data[at : at + 200])
            data[at:at] = piece * draw(st.integers(1, 20))
    return bytes(data)


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(mutated())
def test_scanner_never_raises_and_stays_in_budget(message: bytes) -> None:
    began = time.process_time()
    result = SCANNER.scan(message)
    assert isinstance(result.findings, tuple)
    assert time.process_time() - began < 5.0


@settings(max_examples=100, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(st.binary(max_size=2000))
def test_line_ends_are_idempotent(data: bytes) -> None:
    once = crlf(data)
    assert crlf(once) == once
    assert once.replace(b"\r\n", b"") .count(b"\r") == 0 and once.replace(b"\r\n", b"").count(b"\n") == 0


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    sink = Sink().start()
    gateway = edge_start(tmp_path_factory.mktemp("fuzz-edge"), sink.port)
    yield gateway
    gateway.stop()
    sink.stop()


@settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(message=mutated())
def test_smtp_edge_answers_every_message(edge: Gateway, message: bytes) -> None:
    # Every mutated message gets a reply of ours, never a dropped connection or a 5xx
    # other than a policy refusal.
    with smtplib.SMTP("127.0.0.1", edge.port, timeout=30) as client:
        try:
            client.sendmail("clerk@lancaster.example", ["someone@outside.example"], message)
            code = 250
        except smtplib.SMTPDataError as exc:
            code = exc.smtp_code
        except smtplib.SMTPResponseException as exc:
            code = exc.smtp_code
    assert code in (250, 451, 550, 552), code


COMMANDS = [b"EHLO x", b"HELO x", b"MAIL FROM:<a@lancaster.example>", b"RCPT TO:<b@outside.example>",
            b"DATA", b".", b"RSET", b"NOOP", b"XFORWARD NAME=x ADDR=1.2.3.4", b"MAIL FROM:<>", b"BDAT 10",
            b"AUTH PLAIN", b"STARTTLS", b"VRFY x", b"QUIT", b"SSN 219-45-6789"]


@settings(max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(lines=st.lists(st.one_of(st.sampled_from(COMMANDS), st.binary(max_size=300)), max_size=10))
def test_smtp_edge_survives_any_commands(edge: Gateway, lines: list[bytes]) -> None:
    # Any sequence of lines, then EOF: the session ends and the gateway still serves.
    with socket.create_connection(("127.0.0.1", edge.port), timeout=15) as sock:
        sock.recv(1024)
        sock.sendall(b"".join(line + b"\r\n" for line in lines))
        sock.shutdown(socket.SHUT_WR)
        while sock.recv(65536):
            pass
    with smtplib.SMTP("127.0.0.1", edge.port, timeout=15) as client:
        assert client.noop()[0] == 250


@pytest.mark.parametrize("path", sorted(REGRESSIONS.glob("*.eml")), ids=lambda p: p.name)
def test_regressions(path: Path) -> None:
    began = time.process_time()
    SCANNER.scan(path.read_bytes())
    assert time.process_time() - began < 5.0
