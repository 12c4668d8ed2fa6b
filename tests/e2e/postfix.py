"""A private, throwaway Postfix instance (after-queue content filter) for e2e tests::

    client -> smtpd :smtpd_port -> dlpfilter -> filter :filter_port
    filter -> smtpd :reinject_port -> smtp -> sink :sink_port

Config, queue and maillog live under base_dir; only 127.0.0.1 is used, no DNS.
Needs root: the master daemon drops privileges to ``mail_owner`` itself.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import time
from contextlib import suppress
from pathlib import Path

MAIL_OWNER = "postfix"
SETGID_GROUP = "postdrop"
REINJECT_OVERRIDES = "no_unknown_recipient_checks,no_header_body_checks,no_milters"

MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {base}/spool
data_directory = {base}/data
maillog_file = {base}/maillog
maillog_file_prefixes = {base}
mail_owner = {owner}
setgid_group = {group}
syslog_name = postfix-e2e
myhostname = mta.test.invalid
mydestination =
alias_maps =
local_transport = error:local delivery is disabled
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
relayhost = [127.0.0.1]:{sink_port}
smtp_dns_support_level = disabled
smtp_host_lookup = native
smtpd_peername_lookup = no
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
"""

MASTER_CF = """\
127.0.0.1:{smtpd_port} inet n - n - - smtpd
  -o content_filter=dlpfilter:[127.0.0.1]:{filter_port}
127.0.0.1:{reinject_port} inet n - n - 10 smtpd
  -o content_filter=
  -o receive_override_options={overrides}
  -o smtpd_recipient_restrictions=permit_mynetworks,reject
  -o smtpd_relay_restrictions=permit_mynetworks,reject
  -o mynetworks=127.0.0.0/8
  -o smtpd_authorized_xforward_hosts=127.0.0.0/8
dlpfilter unix - - n - 10 smtp
  -o smtp_send_xforward_command=yes
  -o disable_mime_output_conversion=yes
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
showq unix n - n - - showq
smtp unix - - n - - smtp
error unix - - n - - error
retry unix - - n - - error
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
"""


def _which(name: str) -> str | None:
    return shutil.which(name, path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin")


def postfix_available() -> str | None:
    """Return None if a private instance can run here, else a skip reason."""
    postconf = _which("postconf")
    if _which("postfix") is None or postconf is None:
        return "postfix not installed (Debian package postfix; .ci/run installs it)"
    cmd = [postconf, "-dh", "mail_version"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False).stdout
    if tuple(int(n) for n in re.findall(r"\d+", out)[:2]) < (3, 4):
        return f"postfix {out.strip()!r} is too old; maillog_file needs >= 3.4"
    if os.geteuid() != 0:
        return "a private postfix instance must be started as root"
    try:
        pwd.getpwnam(MAIL_OWNER)
        grp.getgrnam(SETGID_GROUP)
    except KeyError as exc:
        return f"postfix account missing: {exc}"
    return None


def free_port() -> int:
    """Return a currently unused TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostfixInstance:
    """A Postfix instance whose config, queue and log live under base_dir."""

    def __init__(
        self, base_dir: Path, *, smtpd_port: int, filter_port: int,
        reinject_port: int, sink_port: int,
    ) -> None:
        self.base_dir = Path(base_dir).resolve()
        self.config_dir = self.base_dir / "etc"
        self.queue_dir = self.base_dir / "spool"
        self.maillog = self.base_dir / "maillog"
        self.ports = dict(smtpd_port=smtpd_port, filter_port=filter_port,
                          reinject_port=reinject_port, sink_port=sink_port)

    def write_config(self) -> None:
        """Write main.cf and master.cf into base_dir/etc."""
        self.config_dir.mkdir(parents=True, exist_ok=True)
        self.queue_dir.mkdir(exist_ok=True)
        values = dict(self.ports, base=self.base_dir, owner=MAIL_OWNER,
                      group=SETGID_GROUP, overrides=REINJECT_OVERRIDES)
        past = time.time() - 60  # Postfix waits ~2s for just-modified files to settle
        for name, template in (("main.cf", MAIN_CF), ("master.cf", MASTER_CF)):
            path = self.config_dir / name
            path.write_text(template.format(**values))
            os.utime(path, (past, past))

    def start(self, timeout: float = 30) -> None:
        """Write the configuration, start Postfix and wait for both smtpd ports.

        Adds o+x to base_dir's ancestors where missing: the master opens
        data_directory as mail_owner, which must be able to reach it.
        """
        reason = postfix_available()
        if reason is not None:
            raise RuntimeError(reason)
        self.stop()
        self.base_dir.mkdir(parents=True, exist_ok=True)
        _make_searchable(self.base_dir)
        self.write_config()
        result = self._postfix("start", timeout=timeout)
        if result.returncode != 0:
            self.stop()
            raise RuntimeError(f"postfix start failed {result.stderr}\n{self.log()}")
        deadline = time.monotonic() + timeout
        for port in (self.ports["smtpd_port"], self.ports["reinject_port"]):
            while not _accepts(port):
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"nothing listens on {port}\n{self.log()}")
                time.sleep(0.05)

    def stop(self) -> None:
        """Stop Postfix; SIGKILL whatever still runs in its queue directory."""
        if _queue_processes(self.queue_dir) and (self.config_dir / "main.cf").exists():
            self._postfix("stop", timeout=30)
        if _wait_gone(self.queue_dir, 2.0):
            return
        for pid in _queue_processes(self.queue_dir):
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if not _wait_gone(self.queue_dir, 5.0):
            raise RuntimeError(f"postfix processes outlived SIGKILL: {self.queue_dir}")

    def queue(self) -> list[dict[str, object]]:
        """Return the messages still queued, as reported by ``postqueue -j``."""
        cmd = [_which("postqueue") or "postqueue", "-c", str(self.config_dir), "-j"]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def log(self, tail: int = 200) -> str:
        """Return the last ``tail`` lines of the instance's maillog."""
        try:
            lines = self.maillog.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return f"(no maillog at {self.maillog})"
        return "\n".join([f"--- {self.maillog} ---", *lines[-tail:]])

    def _postfix(self, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
        cmd = [_which("postfix") or "postfix", "-c", str(self.config_dir), *args]
        return subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, check=False
        )

    def __enter__(self) -> PostfixInstance:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _make_searchable(path: Path) -> None:
    os.chmod(path, 0o755)
    for parent in path.parents:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            os.chmod(parent, stat.S_IMODE(mode) | stat.S_IXOTH)


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _queue_processes(queue_dir: Path) -> list[int]:
    """Live processes whose cwd is queue_dir: every Postfix daemon chdirs there."""
    wanted = {str(queue_dir), f"{queue_dir} (deleted)"}
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            with suppress(OSError):
                if os.readlink(f"/proc/{entry}/cwd") in wanted:
                    pids.append(int(entry))
    return pids


def _wait_gone(queue_dir: Path, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while _queue_processes(queue_dir):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
