"""Logging in and out: throttled, audited, with a fresh session on success."""

from __future__ import annotations

import logging

from starlette.responses import Response

from gateway.quarantine.records import AuditEntry
from gateway.review import auth, users
from gateway.review.auth import Session
from gateway.review.context import Rq, local

log = logging.getLogger("dlp.review")
_NAME_MAX = 64


def form(rq: Rq, error: str | None = None, status: int = 200) -> Response:
    """The login page (logged-in visitors go on to the queue)."""
    if rq.user is not None and error is None:
        return rq.redirect(local(rq.query("next", "/queue")))
    return rq.page("login.html", status, title="Log in", error=error,
                   next=local(rq.query("next", "/queue")), name="")


def submit(rq: Rq) -> Response:
    """Check the password; audit "login", "login-failed" or "login-throttled"."""
    store, name = rq.review.store, rq.field("name")[:_NAME_MAX]
    password = rq.form.get("password", [""])[0]
    target = local(rq.field("next", "/queue"))
    # Count, check and record in one turn, so parallel attempts see each other's failures.
    with rq.review.logins.turn(name, rq.ip) as turn:
        if not turn or auth.throttled(store, rq.review.settings, name, rq.ip):
            store.audit(auth.THROTTLED, name or "-", None, {"ip": rq.ip})
            log.warning("login throttled", extra={"fields": {"ip": rq.ip}})
            return _again(rq, "Too many failed logins. Wait a few minutes and try again.", 429, target)
        user = users.authenticate(store, name, password) if name and password else None
        if user is None:
            store.audit(auth.FAILED, name or "-", None, {"ip": rq.ip, "reason": "bad-credentials"})
            log.info("login failed", extra={"fields": {"ip": rq.ip}})
            return _again(rq, "Wrong name or password.", 401, target)
    store.audit("login", user.name, None, {"ip": rq.ip})
    rq.session = rq.session.login(user.name, user.session_epoch)
    return rq.redirect(target)


def logout(rq: Rq) -> Response:
    """End the session, and every other session of the account (a copied cookie too)."""
    if rq.user is not None:
        rq.review.store.end_sessions(rq.user.name, AuditEntry("logout", rq.user.name, {"ip": rq.ip}))
    rq.session = Session()
    return rq.redirect("/login")


def _again(rq: Rq, error: str, status: int, target: str) -> Response:
    rq.user = None
    return rq.page("login.html", status, title="Log in", error=error, next=target,
                   name=rq.field("name")[:_NAME_MAX])
