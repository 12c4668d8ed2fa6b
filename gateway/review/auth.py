"""Sessions, CSRF tokens and login throttling for the review app.

A session is a cookie signed with the secret in ``review.secret_file``
(itsdangerous, HMAC-SHA1 over a timestamped payload): who is logged in, when
they logged in, their account's session epoch, the session's CSRF token and
one flash message. It is re-signed on every response and refused once older
than the idle limit, so it expires after that many idle minutes; it also ends
``session_max_hours`` after the login, however busy. The account is read
from the store on every request: a disabled account, or a session epoch
other than the account's, ends the session. Logging out (or being disabled)
bumps the epoch, so a copy of the cookie is useless afterwards (OWASP Session
Management Cheat Sheet: server-side invalidation, absolute timeout).

Every POST must carry the session's CSRF token in the form field ``csrf``
(synchronizer token, OWASP CSRF Prevention Cheat Sheet).

The cookie is ``SameSite=Lax``, not ``Strict``: a reviewer who follows a link
to a message from a ticket or a notice (another site) arrives logged in. With
``Strict`` the browser sent no cookie on that first request, the app saw a
stranger and answered with a new anonymous cookie, which replaced the
reviewer's session: a link from anywhere logged them out. ``Lax`` sends the
cookie on top-level GET navigations only, which change nothing here (every
change is a POST, and every POST needs the token, which another site cannot
read); cross-site POSTs, frames and sub-resources still go without it. And a
request that came without a cookie gets none back unless the answer needs one
(the login form's token, a new login), so a cross-site POST or a request from
a context that withholds the cookie can never overwrite a session either.

Login throttling (OWASP Authentication Cheat Sheet, "account lockout"): wrong
passwords are audited as ``login-failed`` and counted from the audit log, so
the limit holds across gateway instances sharing one store. An account may
fail ``login_attempts`` times per client address within the window, and one
address ``ADDRESS_FACTOR`` times that over all accounts; then that pair (or
that address) is refused until the window has passed since those failures.
Refusals are audited as ``login-throttled`` and do not count, so they do not
prolong a lockout, and an attacker elsewhere cannot lock a person out of
their own address. Within one process the count, the password check and the
record are serialised per name and per address, so parallel attempts cannot
all slip under the limit (with several instances, each may have one more in
flight).
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from itsdangerous import BadSignature, URLSafeTimedSerializer

from gateway.config import Settings
from gateway.quarantine.crypto import Key
from gateway.quarantine.records import utc_now
from gateway.quarantine.store import ReviewStore

COOKIE = "dlp_review"
TLS_COOKIE = "__Host-dlp_review"   # the __Host- prefix: Secure, Path=/, no Domain
_SALT = "dlp-review-session"
_FLASH_MAX = 500
ADDRESS_FACTOR = 4   # a client address may fail this many times an account's limit, over all accounts
FAILED = "login-failed"
THROTTLED = "login-throttled"
_CLOCK_SKEW = 60     # seconds a login time may lie in the future (instances' clocks differ)
_STRIPES = 64
_WAIT = 10.0         # seconds a login waits for another one on the same name or address


@dataclass(frozen=True, slots=True)
class Session:
    """The signed cookie's content."""

    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    user: str | None = None
    flash: str | None = None
    epoch: int = 0    # the account's session epoch at login
    issued: int = 0   # when the user logged in, Unix seconds

    def login(self, name: str, epoch: int) -> Session:
        """A fresh session for ``name``: a new CSRF token, so a token seen before login is useless."""
        return Session(user=name, epoch=epoch, issued=int(time.time()))

    def with_flash(self, text: str | None) -> Session:
        return replace(self, flash=None if text is None else text[:_FLASH_MAX])

    def csrf_ok(self, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(token.encode(), self.csrf.encode())


class Sessions:
    """Reads and writes session cookies."""

    def __init__(self, secret: bytes, idle: timedelta, tls: bool,
                 max_age: timedelta = timedelta(hours=12)) -> None:
        self._codec = URLSafeTimedSerializer(secret, salt=_SALT)
        self.idle = idle
        self.max_age = max_age
        self.tls = tls
        self.cookie = TLS_COOKIE if tls else COOKIE

    @classmethod
    def from_settings(cls, settings: Settings) -> Sessions:
        secret = Key.load_or_create(settings.review_secret_file()).material
        return cls(secret, timedelta(minutes=settings.review.session_idle_minutes),
                   settings.review.tls_cert_file is not None,
                   timedelta(hours=settings.review.session_max_hours))

    def read(self, value: str | None) -> Session:
        """The session in a cookie value; a new anonymous one when missing, forged or idle too
        long; logged out (same CSRF token) when the login is older than the maximum age."""
        if value:
            try:
                data = self._codec.loads(value, max_age=int(self.idle.total_seconds()))
            except BadSignature:
                data = None
            if isinstance(data, dict) and isinstance(data.get("c"), str):
                user, flash, epoch, issued = data.get("u"), data.get("f"), data.get("e"), data.get("i")
                flash = flash if isinstance(flash, str) else None
                if (isinstance(user, str) and isinstance(epoch, int) and isinstance(issued, int)
                        and self._fresh(issued)):
                    return Session(data["c"], user, flash, epoch, issued)
                return Session(data["c"], None, flash)
        return Session()

    def _fresh(self, issued: int) -> bool:
        """True when a login at ``issued`` (Unix seconds) is younger than the maximum age."""
        now = time.time()
        return now - self.max_age.total_seconds() < issued <= now + _CLOCK_SKEW

    def write(self, session: Session) -> str:
        """The signed cookie value for ``session``, stamped now."""
        data: dict[str, str | int] = {"c": session.csrf}
        if session.user is not None:
            data.update(u=session.user, e=session.epoch, i=session.issued)
        if session.flash is not None:
            data["f"] = session.flash
        return self._codec.dumps(data)

    def header(self, session: Session) -> str:
        """The Set-Cookie header value."""
        attrs = ["Path=/", "HttpOnly", "SameSite=Lax", f"Max-Age={int(self.idle.total_seconds())}"]
        if self.tls:
            attrs.append("Secure")
        return f"{self.cookie}={self.write(session)}; " + "; ".join(attrs)


def throttled(store: ReviewStore, settings: Settings, name: str, ip: str,
              now: datetime | None = None) -> bool:
    """True when ``name`` from ``ip``, or ``ip`` over all names, has failed too often within the window."""
    limit = settings.review.login_attempts
    since = (now or utc_now()) - timedelta(minutes=settings.review.login_window_minutes)
    return (store.count_audit(FAILED, since, actor=name or "-", detail=("ip", ip)) >= limit
            or store.count_audit(FAILED, since, detail=("ip", ip)) >= limit * ADDRESS_FACTOR)


class LoginGate:
    """One login attempt at a time per account name and per client address, in this process.

    Without it, parallel attempts all read the failure count before any of
    them is recorded (an Argon2 check takes a while), and all get checked.
    Locks are striped (a fixed number, chosen by hash), and always taken name
    first, then address, so two attempts never wait for each other in a circle.
    """

    def __init__(self) -> None:
        self._names = [threading.Lock() for _ in range(_STRIPES)]
        self._addresses = [threading.Lock() for _ in range(_STRIPES)]

    @contextmanager
    def turn(self, name: str, ip: str) -> Iterator[bool]:
        """Hold this name's and this address's turn; False when it did not come within _WAIT seconds."""
        first, second = self._names[hash(name) % _STRIPES], self._addresses[hash(ip) % _STRIPES]
        if not first.acquire(timeout=_WAIT):
            yield False
            return
        try:
            if not second.acquire(timeout=_WAIT):
                yield False
                return
            try:
                yield True
            finally:
                second.release()
        finally:
            first.release()
