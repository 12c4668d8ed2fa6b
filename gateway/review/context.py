"""What a page sees: the app's shared state (``Review``) and one request (``Rq``),
with the small parsers pages share. Pages import this module, never the app
(gateway.review.app), which imports the pages to route to them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from detectors.engine import Detector
from gateway.config import Settings
from gateway.masking import detector_for
from gateway.pipeline import Pipeline
from gateway.quarantine.store import ReviewStore
from gateway.review.auth import LoginGate, Session, Sessions
from gateway.review.render import visible
from gateway.review.users import Access

HERE = Path(__file__).parent
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
            self._scanner = Pipeline.from_settings(self.settings).scanner
        return self._scanner

    def detector(self) -> Detector:
        """The gateway's detector (its account formats and list), to mask what the gateway does not scan."""
        if self._detector is None:
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
