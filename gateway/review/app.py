"""The review web app: a Starlette application, server-rendered with Jinja2.

Every page is a plain function ``(Rq) -> Response`` run in a worker thread
(the store and the relay client block); ``_endpoint`` wraps it with the
session, the CSRF check on every POST, the login requirement and the role
check. ``_Headers`` puts the security headers on every response. A visitor
who is not logged in gets a redirect to the login page, whatever the path.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
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

from gateway.config import Settings
from gateway.quarantine.store import ReviewStore
from gateway.review.auth import Session, Sessions
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


class Review:
    """What every page shares: settings, store, sessions, templates, profile names."""

    def __init__(self, settings: Settings, store: ReviewStore, profiles: Any) -> None:
        self.settings = settings
        self.store = store
        self.profiles = profiles   # gateway.policy.profiles.Profiles
        self.sessions = Sessions.from_settings(settings)
        self.templates = Environment(loader=FileSystemLoader(HERE / "templates"),
                                     autoescape=select_autoescape(default=True, default_for_string=True),
                                     undefined=StrictUndefined)
        self._scanner: Any = None

    @property
    def profile_names(self) -> tuple[str, ...]:
        return tuple(sorted(self.profiles.settings.profiles))

    def scanner(self) -> Any:
        """The detector (built on first use: only a reveal needs it)."""
        if self._scanner is None:
            from gateway.pipeline import Pipeline
            self._scanner = Pipeline.from_settings(self.settings).scanner
        return self._scanner


@dataclass
class Rq:
    """One request as a page sees it."""

    review: Review
    request: Request
    session: Session
    ip: str
    user: Access | None = None
    form: dict[str, list[str]] = field(default_factory=dict)

    @property
    def access(self) -> Access:
        assert self.user is not None, "page requires login"
        return self.user

    def param(self, name: str) -> str:
        return str(self.request.path_params.get(name, ""))

    def query(self, name: str, default: str = "") -> str:
        return self.request.query_params.get(name, default).strip()

    def field(self, name: str, default: str = "") -> str:
        values = self.form.get(name)
        return values[0].strip() if values else default

    def fields(self, name: str) -> list[str]:
        return [v.strip() for v in self.form.get(name, []) if v.strip()]

    def page(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        """Render ``template`` (consuming the flash message)."""
        flash, self.session = self.session.flash, self.session.with_flash(None)
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
        rq = Rq(review, request, sessions.read(request.cookies.get(sessions.cookie)),
                request.client.host if request.client else "")
        if request.method == "POST":
            async with request.form(max_files=0, max_fields=_MAX_FIELDS) as form:
                rq.form = {key: [v for v in form.getlist(key) if isinstance(v, str)] for key in form.keys()}
            if not rq.session.csrf_ok(rq.field("csrf") or None):
                response: Response = _forbidden(review, rq)
                return response
        response = await anyio.to_thread.run_sync(functools.partial(_run, rq, page, login, admin))
        response.headers.append("set-cookie", sessions.header(rq.session))
        return response

    return endpoint


def _run(rq: Rq, page: Page, login: bool, admin: bool) -> Response:
    """Resolve the account, enforce login and role, then render."""
    if rq.session.user is not None:
        user = rq.review.store.get_user(rq.session.user)
        if user is None or user.disabled:
            rq.session = Session()
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


def _forbidden(review: Review, rq: Rq) -> Response:
    log.warning("csrf token missing or wrong", extra={"fields": {"path": rq.request.url.path}})
    body = review.templates.get_template("error.html").render(
        user=None, csrf=rq.session.csrf, flash=None, path=rq.request.url.path, title="Refused",
        text="The form's security token is missing or out of date. Go back, reload the page and try again.")
    response = HTMLResponse(body, status_code=403)
    response.headers.append("set-cookie", review.sessions.header(rq.session))
    return response


class _Headers:
    """ASGI middleware: security headers on every HTTP response; no caching of pages."""

    def __init__(self, app: ASGIApp, tls: bool) -> None:
        self.app = app
        self.extra = list(_HEADERS)
        if tls:
            self.extra.append((b"strict-transport-security", b"max-age=31536000"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"]
                headers += self.extra
                headers.append((b"cache-control", b"private, max-age=3600" if static else b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create(settings: Settings, store: ReviewStore, profiles: Any, lifespan: Any = None) -> Starlette:
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
    app = Starlette(routes=routes, lifespan=lifespan)
    app.add_middleware(_Headers, tls=review.sessions.tls)
    app.state.review = review
    return app
