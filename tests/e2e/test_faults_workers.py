"""Supervisor and workers under faults: a supervisor killed with SIGKILL takes
its workers with it, a restart never runs beside old workers, a crashing worker
is restarted, and only a crash loop of every worker stops the service."""

from __future__ import annotations

import os
import signal
import smtplib
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

import pytest

from gateway import accept
from tests.e2e.harness import ROOT, Gateway, Sink

StartGateway = Callable[..., Gateway]
BODY = b"Subject: workers\r\n\r\nhello\r\n"


def workers_of(pid: int) -> list[int]:
    """The worker processes the supervisor ``pid`` started."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with suppress(OSError):
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid and b"spawn_main" in cmdline \
                    and b"resource_tracker" not in cmdline:
                found.append(int(entry))
    return sorted(found)


def alive(pid: int) -> bool:
    with suppress(OSError):
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    return False


def wait_until(check: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()


def deliver(gateway: Gateway) -> int:
    with smtplib.SMTP("127.0.0.1", gateway.port, timeout=30) as smtp:
        smtp.ehlo()
        smtp.mail("a@citrus.example")
        smtp.rcpt("b@example.com")
        return smtp.data(BODY)[0]


def test_workers_die_with_a_killed_supervisor_and_the_restart_runs_alone(
        sink: Sink, start_gateway: StartGateway) -> None:
    gateway = start_gateway(sink.port, workers=2)
    assert gateway.process is not None
    assert wait_until(lambda: len(workers_of(gateway.process.pid)) == 2, 30)   # type: ignore[union-attr]
    old = workers_of(gateway.process.pid)
    gateway.process.send_signal(signal.SIGKILL)
    gateway.process.wait()
    assert wait_until(lambda: not any(alive(pid) for pid in old), 20), "orphaned workers keep serving"
    gateway.start()
    assert deliver(gateway) == 250
    assert gateway.process is not None
    assert wait_until(lambda: len(workers_of(gateway.process.pid)) == 2, 30)   # type: ignore[union-attr]
    assert gateway.stop() == 0
    assert not any(alive(pid) for pid in old + workers_of(gateway.process.pid))


def test_an_early_worker_crash_restarts_that_worker(sink: Sink, start_gateway: StartGateway) -> None:
    gateway = start_gateway(sink.port, workers=2)
    assert gateway.process is not None
    supervisor = gateway.process.pid
    assert wait_until(lambda: len(workers_of(supervisor)) == 2, 30)
    first, second = workers_of(supervisor)
    os.kill(first, signal.SIGKILL)          # within seconds of its start
    assert wait_until(lambda: first not in workers_of(supervisor) and len(workers_of(supervisor)) == 2, 30)
    assert second in workers_of(supervisor), "a healthy worker was stopped"
    assert gateway.process.poll() is None
    for _ in range(4):
        assert deliver(gateway) == 250
    gateway.wait_log("worker exited; starting another")


def test_connections_go_to_the_worker_left_while_one_is_dead(sink: Sink, start_gateway: StartGateway) -> None:
    """The workers share one listening socket: with a socket each (SO_REUSEPORT), a connection
    hashed to a dead worker's was refused until its restart listened again."""
    gateway = start_gateway(sink.port, workers=2)
    assert gateway.process is not None
    supervisor = gateway.process.pid
    assert wait_until(lambda: len({e["pid"] for e in gateway.log_entries() if e.get("msg") == "listening"}) == 2, 30)
    first, second = workers_of(supervisor)
    os.kill(first, signal.SIGSTOP)    # alive but taking nothing: no restart comes to help
    try:
        assert [deliver(gateway) for _ in range(12)] == [250] * 12   # each on a connection of its own
    finally:
        os.kill(first, signal.SIGCONT)
    pids = [e["pid"] for e in gateway.log_entries() if e.get("msg") == "message"]
    assert set(pids) == {second}


def held_by(pid: int, port: int) -> int:
    """How many established connections to ``port`` the process ``pid`` holds (/proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local_port, state, inode = int(fields[1].rsplit(":", 1)[1], 16), fields[3], fields[9]
            count += local_port == port and state == "01" and inode in inodes
    return count


def test_a_worker_holding_more_connections_leaves_new_ones_to_the_other(
        sink: Sink, start_gateway: StartGateway) -> None:
    """Long-lived connections (Postfix's connection cache) are shared between the workers
    (gateway.accept): from one accept queue, whichever worker was awake took them."""
    gateway = start_gateway(sink.port, workers=2)
    assert gateway.process is not None
    assert wait_until(lambda: len({e["pid"] for e in gateway.log_entries() if e.get("msg") == "listening"}) == 2, 30)
    workers = workers_of(gateway.process.pid)
    sessions: list[smtplib.SMTP] = []

    def held() -> list[int]:
        return [held_by(pid, gateway.port) for pid in workers]

    try:
        # Each way round: whichever worker the kernel wakes first would take them all.
        for busy, other in ((1, 0), (0, 1)):
            os.kill(workers[busy], signal.SIGSTOP)   # busy: the other takes these, after waiting a moment
            for _ in range(12):
                sessions.append(smtplib.SMTP("127.0.0.1", gateway.port, timeout=30))
            os.kill(workers[busy], signal.SIGCONT)
            assert held()[other] == 12 and held()[busy] == 0
            # it took them after waiting for the stopped one: it keeps accepting a moment (accept._STAY)
            time.sleep(accept._STAY + 0.25)
            for _ in range(12):   # each greeted, so taken, before the next
                sessions.append(smtplib.SMTP("127.0.0.1", gateway.port, timeout=30))
            # the other does not accept while it holds more than twice as many plus one (12 > 2 * 5 + 1):
            # 6 at least come here; one fewer if the other took one after waiting for it (a loaded machine)
            assert held()[busy] >= 5, held()
            for smtp in sessions:
                assert smtp.noop()[0] == 250
                smtp.quit()
            sessions.clear()
            assert wait_until(lambda: held() == [0, 0], 10), held()
    finally:
        for pid in workers:
            os.kill(pid, signal.SIGCONT)
        for smtp in sessions:
            with suppress(smtplib.SMTPException, OSError):
                smtp.quit()


def test_only_a_crash_loop_of_every_worker_stops_the_service(sink: Sink, tmp_path: Path) -> None:
    gateway = Gateway(tmp_path / "gw", sink.port, workers=2)
    gateway.write_config()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DLP_FAILPOINTS": "worker-start"}
    with gateway.log_path.open("ab") as log:
        process = subprocess.Popen([sys.executable, "-m", "gateway.cli", "serve", "--config",
                                    str(gateway.config_dir)], stdout=log, stderr=log, cwd=tmp_path, env=env)
    try:
        code = process.wait(timeout=100)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert code == 1, gateway.log_text()
    restarts = [e for e in gateway.log_entries() if e.get("msg") == "worker exited; starting another"]
    assert len(restarts) >= 10
    assert [e["restart_in"] for e in restarts if e["restart_in"]][:3] == [0.5, 0.5, 1.0]
    gateway.wait_log("every worker keeps crashing at start; stopping")


@pytest.mark.parametrize("workers", [1])
def test_sigterm_stops_a_single_worker_gateway(sink: Sink, start_gateway: StartGateway, workers: int) -> None:
    gateway = start_gateway(sink.port, workers=workers)
    assert deliver(gateway) == 250
    assert gateway.stop() == 0


def test_the_scan_process_ends_with_a_killed_worker(sink: Sink, start_gateway: StartGateway) -> None:
    """A worker killed with SIGKILL (the OOM killer) takes its scan process with it: else that
    process waited on its own pipe for ever."""
    gateway = start_gateway(sink.port, workers=1)   # the worker is the gateway process
    assert gateway.process is not None
    worker = gateway.process.pid
    assert wait_until(lambda: len(workers_of(worker)) == 1, 60), "the scan process did not start"
    (scan,) = workers_of(worker)
    gateway.process.kill()
    gateway.process.wait()
    assert wait_until(lambda: not alive(scan), 10), "the scan process outlived its worker"
