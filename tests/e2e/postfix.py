"""A private, throwaway Postfix instance for end-to-end tests.

The instance lives entirely under one directory and wires Postfix as an
after-queue content filter in front of the gateway::

    client -> smtpd :smtpd_port -> dlpfilter -> filter :filter_port
    filter -> smtpd :reinject_port -> smtp -> sink :sink_port

Everything listens on 127.0.0.1 only and no DNS is used.  Starting Postfix
needs root (its master daemon drops privileges to ``mail_owner``).
"""

from __future__ import annotations

import os
import grp
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import time
from pathlib import Path
from types import TracebackType

SBIN_PATH = "/usr/sbin:/usr/local/sbin:/sbin"
MAIL_OWNER = "postfix"
SETGID_GROUP = "postdrop"
MIN_VERSION = (3, 4)  # maillog_file and postlogd appeared in Postfix 3.4

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
mydomain = test.invalid
myorigin = $myhostname
mydestination =
relay_domains =
local_recipient_maps =
alias_maps =
alias_database =
local_transport = error:local delivery is disabled
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
relayhost = [127.0.0.1]:{sink_port}
smtp_dns_support_level = disabled
smtp_host_lookup = native
smtpd_peername_lookup = no
smtp_tls_security_level = none
smtpd_tls_security_level = none
biff = no
delay_warning_time = 0
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
maximal_queue_lifetime = 1h
bounce_queue_lifetime = 1h
"""

MASTER_CF = """\
127.0.0.1:{smtpd_port} inet n - n - - smtpd
  -o content_filter=dlpfilter:[127.0.0.1]:{filter_port}
127.0.0.1:{reinject_port} inet n - n - 10 smtpd
  -o content_filter=
  -o receive_override_options=no_unknown_recipient_checks,no_header_body_checks,no_milters
  -o smtpd_recipient_restrictions=permit_mynetworks,reject
  -o smtpd_relay_restrictions=permit_mynetworks,reject
  -o smtpd_client_restrictions=
  -o smtpd_helo_restrictions=
  -o smtpd_sender_restrictions=
  -o smtpd_data_restrictions=
  -o mynetworks=127.0.0.0/8
  -o smtpd_authorized_xforward_hosts=127.0.0.0/8
dlpfilter unix - - n - 10 smtp
  -o smtp_send_xforward_command=yes
  -o disable_mime_output_conversion=yes
pickup unix n - n 60 1 pickup
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
relay unix - - n - - smtp
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
"""


def _which(name: str) -> str | None:
    return shutil.which(name, path=f"{os.environ.get('PATH', '')}:{SBIN_PATH}")


def postfix_version() -> tuple[int, ...] | None:
    """Return the installed Postfix version, or None if postconf is missing."""
    postconf = _which("postconf")
    if postconf is None:
        return None
    out = subprocess.run(
        [postconf, "-dh", "mail_version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return tuple(int(p) for p in out.split(".") if p.isdigit()) or None


def postfix_available() -> str | None:
    """Return None if a private instance can run here, else a skip reason."""
    if _which("postfix") is None or _which("postconf") is None:
        return "postfix not installed (Debian package postfix; .ci/run installs it)"
    version = postfix_version()
    if version is None or version < MIN_VERSION:
        return f"postfix {version} is too old; maillog_file needs >= 3.4"
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
        self,
        base_dir: Path,
        *,
        smtpd_port: int,
        filter_port: int,
        reinject_port: int,
        sink_port: int,
    ) -> None:
        self.base_dir = Path(base_dir).resolve()
        self.config_dir = self.base_dir / "etc"
        self.maillog = self.base_dir / "maillog"
        self.ports = {
            "smtpd_port": smtpd_port,
            "filter_port": filter_port,
            "reinject_port": reinject_port,
            "sink_port": sink_port,
        }
        self._master_pid: int | None = None

    def _postfix(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        postfix = _which("postfix")
        if postfix is None:
            raise RuntimeError("postfix is not installed")
        return subprocess.run(
            [postfix, "-c", str(self.config_dir), *args],
            capture_output=True, text=True, timeout=timeout, check=False,
        )

    def write_config(self) -> None:
        """Write main.cf and master.cf into base_dir/etc."""
        self.config_dir.mkdir(parents=True, exist_ok=True)
        (self.base_dir / "spool").mkdir(exist_ok=True)
        main = MAIN_CF.format(
            base=self.base_dir, owner=MAIL_OWNER, group=SETGID_GROUP, **self.ports
        )
        (self.config_dir / "main.cf").write_text(main)
        (self.config_dir / "master.cf").write_text(MASTER_CF.format(**self.ports))

    def start(self, timeout: float = 30) -> None:
        """Write the configuration, start Postfix and wait for its listeners."""
        reason = postfix_available()
        if reason is not None:
            raise RuntimeError(reason)
        self.base_dir.mkdir(parents=True, exist_ok=True)
        _make_searchable(self.base_dir)
        self.write_config()
        result = self._postfix("start", timeout=timeout)
        if result.returncode != 0:
            self.stop()
            raise RuntimeError(f"postfix start failed:\n{result.stderr}\n{self.log()}")
        self._master_pid = self._read_master_pid()
        deadline = time.monotonic() + timeout
        for port in (self.ports["smtpd_port"], self.ports["reinject_port"]):
            while not _accepts(port):
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"postfix never listened on {port}:\n{self.log()}")
                time.sleep(0.05)

    def stop(self) -> None:
        """Stop Postfix and make sure its master process group is gone."""
        pid = self._master_pid or self._read_master_pid()
        if (self.config_dir / "main.cf").exists() and _is_master(pid):
            self._postfix("stop", timeout=30)
        if pid is not None and _is_master(pid):
            _kill_group(pid)
        self._master_pid = None

    def flush(self) -> None:
        """Ask the queue manager to retry deferred mail now."""
        self._postfix("flush")

    def log(self, tail: int = 200) -> str:
        """Return the last ``tail`` lines of the instance's maillog."""
        try:
            lines = self.maillog.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return f"(no maillog at {self.maillog})"
        return "\n".join([f"--- {self.maillog} ---", *lines[-tail:]])

    def _read_master_pid(self) -> int | None:
        try:
            return int((self.base_dir / "spool/pid/master.pid").read_text().split()[0])
        except (FileNotFoundError, IndexError, ValueError):
            return None

    def __enter__(self) -> PostfixInstance:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _make_searchable(path: Path) -> None:
    """Let mail_owner traverse to path: master opens data_directory as it."""
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


def _is_master(pid: int | None) -> bool:
    """True if pid is a live (non-zombie) Postfix master process."""
    if pid is None:
        return False
    try:
        fields = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return "(master)" in fields and fields.rsplit(")", 1)[1].split()[0] != "Z"


def _kill_group(pid: int, timeout: float = 5) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while _is_master(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
