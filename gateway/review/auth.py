"""Sessions, CSRF tokens and login throttling for the review app.

A session is a cookie signed with the secret in ``review.secret_file``
(itsdangerous, HMAC-SHA1 over a timestamped payload): who is logged in, the
session's CSRF token and one flash message. It is re-signed on every
response, and refused once older than the idle limit, so it expires after
that many idle minutes. The account is read from the store on every request,
so disabling it ends its sessions at once.

Every POST must carry the session's CSRF token in the form field ``csrf``
(synchronizer token, OWASP CSRF Prevention Cheat Sheet). Failed logins are
audited as ``login-failed``, and counted from the audit log, so the limit
holds across gateway instances sharing one store.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field, replace
from datetime import timedelta

from itsdangerous import BadSignature, URLSafeTimedSerializer

from gateway.config import Settings
from gateway.quarantine.crypto import Key
from gateway.quarantine.store import ReviewStore, utc_now

COOKIE = "dlp_review"
TLS_COOKIE = "__Host-dlp_review"   # the __Host- prefix: Secure, Path=/, no Domain
_SALT = "dlp-review-session"
_FLASH_MAX = 500
IP_FACTOR = 4   # a client address may fail this many times an account's limit


@dataclass(frozen=True, slots=True)
class Session:
    """The signed cookie's content."""

    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    user: str | None = None
    flash: str | None = None

    def login(self, name: str) -> Session:
        """A fresh session for ``name``: a new CSRF token, so a token seen before login is useless."""
        return Session(user=name)

    def with_flash(self, text: str | None) -> Session:
        return replace(self, flash=None if text is None else text[:_FLASH_MAX])

    def csrf_ok(self, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(token.encode(), self.csrf.encode())


class Sessions:
    """Reads and writes session cookies."""

    def __init__(self, secret: bytes, idle: timedelta, tls: bool) -> None:
        self._codec = URLSafeTimedSerializer(secret, salt=_SALT)
        self.idle = idle
        self.tls = tls
        self.cookie = TLS_COOKIE if tls else COOKIE

    @classmethod
    def from_settings(cls, settings: Settings) -> Sessions:
        secret = Key.load_or_create(settings.review_secret_file()).material
        return cls(secret, timedelta(minutes=settings.review.session_idle_minutes),
                   settings.review.tls_cert_file is not None)

    def read(self, value: str | None) -> Session:
        """The session in a cookie value; a new anonymous one when missing, forged or idle too long."""
        if value:
            try:
                data = self._codec.loads(value, max_age=int(self.idle.total_seconds()))
            except BadSignature:
                data = None
            if isinstance(data, dict) and isinstance(data.get("c"), str):
                user, flash = data.get("u"), data.get("f")
                return Session(data["c"], user if isinstance(user, str) else None,
                               flash if isinstance(flash, str) else None)
        return Session()

    def write(self, session: Session) -> str:
        """The signed cookie value for ``session``, stamped now."""
        data: dict[str, str] = {"c": session.csrf}
        if session.user is not None:
            data["u"] = session.user
        if session.flash is not None:
            data["f"] = session.flash
        return self._codec.dumps(data)

    def header(self, session: Session) -> str:
        """The Set-Cookie header value."""
        attrs = ["Path=/", "HttpOnly", "SameSite=Strict", f"Max-Age={int(self.idle.total_seconds())}"]
        if self.tls:
            attrs.append("Secure")
        return f"{self.cookie}={self.write(session)}; " + "; ".join(attrs)


def throttled(store: ReviewStore, settings: Settings, name: str, ip: str) -> bool:
    """True when ``name`` or ``ip`` has failed too often within the window."""
    limit = settings.review.login_attempts
    since = utc_now() - timedelta(minutes=settings.review.login_window_minutes)
    return (store.count_audit("login-failed", since, actor=name) >= limit
            or store.count_audit("login-failed", since, detail=("ip", ip)) >= limit * IP_FACTOR)
