"""Serving the review app: in a thread of ``dlp-gateway serve``, or alone
with ``dlp-gateway review``; with the retention purge beside it.

Inside ``serve`` the app runs once per gateway (in the single worker's
process, or in the supervisor's), in its own thread and event loop, so its
database calls and releases never stall SMTP sessions. If it cannot start
(its port taken, say), the error is logged and mail keeps flowing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import uvicorn
from starlette.applications import Starlette
from starlette.types import ASGIApp

from gateway.config import HostPort, Settings
from gateway.listen import listening_socket
from gateway.policy import profiles
from gateway.quarantine import open_from_settings
from gateway.quarantine.store import ReviewStore
from gateway.review import app as review_app
from gateway.review.purge import purge

log = logging.getLogger("dlp.review")
_START_TIMEOUT = 15.0


def load_profiles(config_dir: Path | None) -> Any:
    """The profiles of ``config_dir``/policies.yaml, else the shipped defaults."""
    if config_dir is not None and (config_dir / profiles.POLICIES_FILE).exists():
        return profiles.load(config_dir)
    return profiles.load(Path(profiles.__file__).parent)


def application(settings: Settings, config_dir: Path | None, purge: bool = True) -> tuple[ASGIApp, ReviewStore]:
    """The app and the store it owns; with ``purge``, retention runs while it serves."""
    store = cast(ReviewStore, open_from_settings(settings))
    profiles = load_profiles(config_dir)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(_purge_loop(store, profiles, settings)) if purge else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()

    return review_app.create(settings, store, profiles, lifespan), store


async def _purge_loop(store: ReviewStore, profiles: Any, settings: Settings) -> None:
    while True:
        try:
            await asyncio.to_thread(purge, store, profiles, settings.relay)
        except Exception:
            log.exception("retention purge failed")
        await asyncio.sleep(settings.review.purge_interval_minutes * 60)


def _config(app: ASGIApp, settings: Settings) -> uvicorn.Config:
    tls = settings.review
    return uvicorn.Config(app, log_config=None, access_log=False, server_header=False, lifespan="on",
                          loop="asyncio", proxy_headers=False,
                          ssl_certfile=str(tls.tls_cert_file) if tls.tls_cert_file else None,
                          ssl_keyfile=str(tls.tls_key_file) if tls.tls_key_file else None)


def bind(address: HostPort) -> socket.socket:
    """The app's listening socket; OSError names the address."""
    return listening_socket(address, reuse_port=False, name="review", backlog=128)


class Background:
    """The app served from a thread of the gateway process."""

    def __init__(self, server: uvicorn.Server, sock: socket.socket, store: ReviewStore) -> None:
        self.server, self.sock, self.store = server, sock, store
        self.thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                                       name="dlp-review", daemon=True)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()
        self.store.close()


def start(settings: Settings, config_dir: Path | None) -> Background | None:
    """Start the app in a thread; None (with the error logged) when it cannot start."""
    try:
        sock = bind(settings.review.listen)
    except OSError as exc:
        log.error("review app not started", extra={"fields": {"problem": str(exc.strerror or exc)}})
        return None
    try:
        app, store = application(settings, config_dir)
    except Exception:
        sock.close()
        log.exception("review app not started")
        return None
    background = Background(uvicorn.Server(_config(app, settings)), sock, store)
    background.thread.start()
    deadline = time.monotonic() + _START_TIMEOUT
    while not background.server.started and background.thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    if not background.server.started:
        log.error("review app not started", extra={"fields": {"problem": "startup failed"}})
        background.stop()
        return None
    log.info("review app listening", extra={"fields": {
        "listen": str(settings.review.listen), "tls": settings.review.tls_cert_file is not None}})
    return background


def run_foreground(settings: Settings, config_dir: Path | None) -> int:
    """``dlp-gateway review``: serve until SIGTERM or SIGINT."""
    sock = bind(settings.review.listen)
    app, store = application(settings, config_dir)
    log.info("review app listening", extra={"fields": {
        "listen": str(settings.review.listen), "tls": settings.review.tls_cert_file is not None}})
    # uvicorn handles SIGTERM/SIGINT while it serves, then re-raises the signal to
    # the previous handler: make that one a no-op so a requested stop exits 0.
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: None)
    try:
        uvicorn.Server(_config(app, settings)).run(sockets=[sock])
    finally:
        sock.close()
        store.close()
    return 0
