"""The review web app: a Starlette application, server-rendered with Jinja2.

Every page is a plain function ``(Rq) -> Response`` (gateway.review.context)
run in a worker thread (the store and the relay client block); ``_endpoint``
wraps it with the session, the CSRF check on every POST, the login
requirement and the role check. ``_Guard`` wraps the whole application, its error handling included:
it refuses request bodies over ``MAX_BODY`` before anything parses them, and
puts the security headers on every response, error pages too. A visitor
who is not logged in gets a redirect to the login page, whatever the path.
Every string a template prints shows bidirectional-control characters as
visible escapes (``render.visible``), so a subject cannot reorder itself.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

import anyio.to_thread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.config import Settings
from gateway.quarantine.store import ReviewStore
from gateway.review import decisions, login, overview, pages
from gateway.review.auth import Session
from gateway.review.context import HERE, Page, Review, Rq
from gateway.review.users import Access

log = logging.getLogger("dlp.review")
CSP = ("default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), interest-cohort=()"),
]
_MAX_FIELDS = 2000   # a bulk selection of a few pages of ids
MAX_BODY = 256 * 1024   # the largest request body: a bulk form of _MAX_FIELDS ids fits easily


def _endpoint(review: Review, page: Page, *, login: bool = True,
              admin: bool = False) -> Callable[[Request], Awaitable[Response]]:
    """Wrap ``page`` with session, CSRF, login and role checks; run it in a thread."""
    async def endpoint(request: Request) -> Response:
        sessions = review.sessions
        cookie = request.cookies.get(sessions.cookie)
        rq = Rq(review, request, sessions.read(cookie), request.client.host if request.client else "")
        if request.method == "POST":
            async with request.form(max_files=0, max_fields=_MAX_FIELDS) as form:
                rq.form = {key: [v for v in form.getlist(key) if isinstance(v, str)] for key in form.keys()}
            if not rq.session.csrf_ok(rq.field("csrf") or None):
                response: Response = _forbidden(review, rq, bool(cookie))
                return response
        response = await anyio.to_thread.run_sync(functools.partial(_run, rq, page, login, admin))
        if rq.needs_cookie(bool(cookie)):
            response.headers.append("set-cookie", sessions.header(rq.session))
        return response

    return endpoint


def _run(rq: Rq, page: Page, login: bool, admin: bool) -> Response:
    """Resolve the account, enforce login and role, then render."""
    if rq.session.user is not None:
        user = rq.review.store.get_user(rq.session.user)
        if user is None or user.disabled or user.session_epoch != rq.session.epoch:
            rq.session = Session()   # disabled, logged out elsewhere, or a copy kept from before
        else:
            rq.user = Access.of(user)
    if login and rq.user is None:
        target = rq.request.url.path if rq.request.method == "GET" else "/queue"
        if rq.request.url.query and rq.request.method == "GET":
            target += "?" + rq.request.url.query
        return rq.redirect("/login?next=" + quote(target, safe=""))
    if admin and not rq.access.admin:
        return rq.not_found()
    return page(rq)


def _forbidden(review: Review, rq: Rq, came_with_cookie: bool) -> Response:
    log.warning("csrf token missing or wrong", extra={"fields": {"path": rq.request.url.path}})
    body = review.templates.get_template("error.html").render(
        user=None, csrf=rq.session.csrf, flash=None, path=rq.request.url.path, title="Refused",
        text="The form's security token is missing or out of date. Go back, reload the page and try again.")
    response = HTMLResponse(body, status_code=403)
    if came_with_cookie:   # a request without one (another site's form) leaves the browser's session alone
        response.headers.append("set-cookie", review.sessions.header(rq.session))
    return response


class _Guard:
    """ASGI wrapper around the whole app, its error handling included.

    Request bodies over MAX_BODY are refused with 413 before anything parses
    them (by Content-Length, or once the bytes received pass it); smaller ones
    are read here and handed on. Every response gets the security headers,
    and pages are never cached.
    """

    def __init__(self, app: ASGIApp, tls: bool, error_page: Callable[[int, str, str], HTMLResponse]) -> None:
        self.app = app
        self.error_page = error_page
        self.extra = list(_HEADERS)
        if tls:
            self.extra.append((b"strict-transport-security", b"max-age=31536000"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = self._with_headers(scope, send)
        body = await _body(scope, receive)
        if body is None:
            too_large = self.error_page(413, "Too large", "The request is larger than this app accepts.")
            too_large.headers["connection"] = "close"
            await too_large(scope, receive, send)
            return
        replayed = False

        async def receive_once() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()   # after the body: wait for the client to go away
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, receive_once, send)

    def _with_headers(self, scope: Scope, send: Send) -> Send:
        static = str(scope.get("path", "")).startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"]
                headers += self.extra
                headers.append((b"cache-control", b"private, max-age=3600" if static else b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        return send_with_headers


async def _body(scope: Scope, receive: Receive) -> bytes | None:
    """The whole request body; None when it is (or says it is) over MAX_BODY, or the client left."""
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-length" and (not value.isdigit() or int(value) > MAX_BODY):
            return None
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk = bytes(message.get("body", b""))
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def create(settings: Settings, store: ReviewStore, profiles: Any, lifespan: Any = None) -> ASGIApp:
    """Return the ASGI app over ``store``."""
    review = Review(settings, store, profiles)

    def route(path: str, page: Page, methods: tuple[str, ...] = ("GET",), **kw: bool) -> Route:
        return Route(path, _endpoint(review, page, **kw), methods=list(methods))

    routes: list[BaseRoute] = [
        route("/login", login.form, login=False),
        route("/login", login.submit, ("POST",), login=False),
        route("/logout", login.logout, ("POST",), login=False),
        route("/", lambda rq: rq.redirect("/queue")),
        route("/queue", pages.queue),
        route("/queue/bulk", decisions.bulk, ("POST",)),
        route("/messages/{id}", pages.message),
        route("/messages/{id}/reveal", pages.reveal, ("POST",), admin=True),
        route("/messages/{id}/release", decisions.release_one, ("POST",)),
        route("/messages/{id}/delete", decisions.delete_one, ("POST",)),
        route("/dashboard", overview.dashboard),
        route("/audit", overview.audit),
        route("/audit.csv", overview.audit_csv),
        route("/users", overview.users, admin=True),
        route("/users", overview.add_user, ("POST",), admin=True),
        route("/users/{name}/disable", overview.disable_user, ("POST",), admin=True),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        # Anything else: the login page for strangers, "not found" for the logged in.
        route("/{rest:path}", lambda rq: rq.not_found(), ("GET", "POST")),
    ]
    def error_page(status: int, title: str, text: str) -> HTMLResponse:
        body = review.templates.get_template("error.html").render(
            user=None, csrf="", flash=None, path="", title=title, text=text)
        return HTMLResponse(body, status_code=status)

    def server_error(request: Request, exc: Exception) -> Response:
        return error_page(500, "Something went wrong", "The page could not be shown. Try again in a moment; "
                          "if it keeps happening, the gateway's log says why.")

    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={Exception: server_error})
    app.state.review = review
    return _Guard(app, review.sessions.tls, error_page)
