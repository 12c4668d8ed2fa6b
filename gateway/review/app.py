"""The review web app: a Starlette application, server-rendered with Jinja2.

Every page is a plain function ``(Rq) -> Response`` run in a worker thread
(the store and the relay client block); ``_endpoint`` wraps it with the
session, the CSRF check on every POST, the login requirement and the role
check. ``_Guard`` wraps the whole application, its error handling included:
it refuses request bodies over ``MAX_BODY`` before anything parses them, and
puts the security headers on every response, error pages too. A visitor
who is not logged in gets a redirect to the login page, whatever the path.
Every string a template prints shows bidirectional-control characters as
visible escapes (``render.visible``), so a subject cannot reorder itself.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import anyio.to_thread
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from detectors.engine import Detector
from gateway.config import Settings
from gateway.quarantine.store import ReviewStore
from gateway.review.auth import LoginGate, Session, Sessions
from gateway.review.render import visible
from gateway.review.users import Access

log = logging.getLogger("dlp.review")
HERE = Path(__file__).parent
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
MAX_PAGE = 1_000_000
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")   # ASCII digits only (str.isdigit also takes "²")
_NUL = "\x00"   # PostgreSQL refuses it in text; no name, id or filter needs it


class Review:
    """What every page shares: settings, store, sessions, templates, profile names."""

    def __init__(self, settings: Settings, store: ReviewStore, profiles: Any) -> None:
        self.settings = settings
        self.store = store
        self.profiles = profiles   # gateway.policy.profiles.Profiles
        self.sessions = Sessions.from_settings(settings)
        self.logins = LoginGate()
        self.templates = Environment(loader=FileSystemLoader(HERE / "templates"),
                                     autoescape=select_autoescape(default=True, default_for_string=True),
                                     undefined=StrictUndefined, finalize=_printed)
        self.templates.filters["verbatim"] = Verbatim
        self._scanner: Any = None
        self._detector: Detector | None = None

    @property
    def profile_names(self) -> tuple[str, ...]:
        return tuple(sorted(self.profiles.settings.profiles))

    def scanner(self) -> Any:
        """The detector (built on first use: only a reveal needs it)."""
        if self._scanner is None:
            from gateway.pipeline import Pipeline
            self._scanner = Pipeline.from_settings(self.settings).scanner
        return self._scanner

    def detector(self) -> Detector:
        """The gateway's detector (its account formats and list), to mask what the gateway does not scan."""
        if self._detector is None:
            from gateway.masking import detector_for
            self._detector = detector_for(self.settings)
        return self._detector


class Verbatim(str):
    """A string a template prints unchanged (a form value that must come back as it was)."""


def _printed(value: object) -> object:
    """What a template prints for ``value``: strings with bidi controls made visible."""
    if isinstance(value, str) and not isinstance(value, Verbatim) and not hasattr(value, "__html__"):
        return visible(value)
    return value


@dataclass
class Rq:
    """One request as a page sees it."""

    review: Review
    request: Request
    session: Session
    ip: str
    user: Access | None = None
    form: dict[str, list[str]] = field(default_factory=dict)
    token_shown: bool = False   # a page went out carrying the session's CSRF token

    def needs_cookie(self, came_with_one: bool) -> bool:
        """Whether the answer sets the session cookie: always when the request carried one
        (re-signed, sliding expiry); otherwise only when there is something to keep (a login,
        a message to show, a token a form will send back). Never a fresh anonymous cookie
        that could replace a session the browser withheld (see gateway.review.auth)."""
        return (came_with_one or self.token_shown or self.session.user is not None
                or self.session.flash is not None)

    @property
    def access(self) -> Access:
        assert self.user is not None, "page requires login"
        return self.user

    def param(self, name: str) -> str:
        return str(self.request.path_params.get(name, "")).replace(_NUL, "")

    def query(self, name: str, default: str = "") -> str:
        return self.request.query_params.get(name, default).replace(_NUL, "").strip()

    def field(self, name: str, default: str = "") -> str:
        values = self.form.get(name)
        return values[0].replace(_NUL, "").strip() if values else default

    def fields(self, name: str) -> list[str]:
        cleaned = (v.replace(_NUL, "").strip() for v in self.form.get(name, []))
        return [v for v in cleaned if v]

    def page(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        """Render ``template`` (consuming the flash message)."""
        flash, self.session = self.session.flash, self.session.with_flash(None)
        self.token_shown = True
        body = self.review.templates.get_template(template).render(
            user=self.user, csrf=self.session.csrf, flash=flash, path=self.request.url.path, **context)
        return HTMLResponse(body, status_code=status)

    def redirect(self, url: str, flash: str | None = None) -> Response:
        """303 to a local ``url`` (anything else goes to the queue), with a flash message."""
        if flash is not None:
            self.session = self.session.with_flash(flash)
        return RedirectResponse(local(url), status_code=303)

    def not_found(self) -> HTMLResponse:
        return self.page("error.html", 404, title="Not found",
                         text="There is no such page or message.")


Page = Callable[[Rq], Response]


def number(text: str, default: int, low: int = 1, high: int = MAX_PAGE) -> int:
    """``text`` as a whole number clamped to ``low..high``; ``default`` unless it is ASCII digits.

    >>> number("3", 1), number("99999999999999999999", 1), number("0", 1), number("²", 1), number("-2", 1)
    (3, 1000000, 1, 1, 1)
    """
    if not (text.isascii() and text.isdigit()):
        return default
    digits = text.lstrip("0") or "0"
    return high if len(digits) > len(str(high)) else min(high, max(low, int(digits)))


def day(text: str) -> datetime | None:
    """The UTC midnight of ``text`` written YYYY-MM-DD (years 2000 to 9998); None otherwise.

    >>> day("2026-03-01"), day("9999-12-31"), day("２０２６-03-01"), day("2026-02-30")
    (datetime.datetime(2026, 3, 1, 0, 0, tzinfo=datetime.timezone.utc), None, None, None)
    """
    if not _DAY.fullmatch(text):
        return None
    try:
        moment = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return None
    return moment if 2000 <= moment.year <= 9998 else None   # so "to" + 1 day never overflows


def local(url: str) -> str:
    """``url`` when it is a path on this site, else the queue.

    >>> local("/messages/Q1?x=1"), local("//evil.example/"), local("https://evil.example/")
    ('/messages/Q1?x=1', '/queue', '/queue')
    """
    if url.startswith("/") and not url.startswith("//") and "\\" not in url:
        return url
    return "/queue"


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
    from gateway.review import decisions, login, overview, pages
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
