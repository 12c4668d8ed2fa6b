"""Command-line parts of the review app: ``users`` and ``review``.

``dlp-gateway users add NAME --role reviewer|admin [--profiles a,b] [--password-stdin]``
``dlp-gateway users list [--json]``, ``dlp-gateway users disable NAME``
``dlp-gateway review [--review HOST:PORT]`` serves the app alone.
Each takes ``--config DIR`` and ``--data-dir DIR`` and finds the store as
``serve`` does. Account changes are audited with the acting system user.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path
from typing import Any, cast

from gateway import logs
from gateway.config import Settings
from gateway.quarantine import QuarantineError, open_from_settings
from gateway.quarantine.store import ReviewStore
from gateway.review import users
from gateway.review.users import UserError


def add_commands(commands: Any) -> None:
    """Add this module's subcommands to the ``dlp-gateway`` parser."""
    users = commands.add_parser("users", help="accounts of the review web app")
    actions = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="create an account")
    add.add_argument("name", metavar="NAME")
    add.add_argument("--role", required=True, choices=("reviewer", "admin"))
    add.add_argument("--profiles", default="", metavar="A,B",
                     help="profiles a reviewer may see (default: all)")
    add.add_argument("--password-stdin", action="store_true",
                     help="read the password from the first line of standard input")
    listing = actions.add_parser("list", help="list accounts")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    disable = actions.add_parser("disable", help="disable an account (its sessions end)")
    disable.add_argument("name", metavar="NAME")
    for parser in (add, listing, disable):
        _store_flags(parser)

    review = commands.add_parser("review", help="serve the quarantine review web app alone")
    _store_flags(review)
    review.add_argument("--review", metavar="HOST:PORT", help="listen address (default 127.0.0.1:8025)")


def _store_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="DIR", type=Path,
                        help="directory holding gateway.yaml (default: built-in settings)")
    parser.add_argument("--data-dir", metavar="DIR", help="quarantine and state (default ./var)")


def run(args: argparse.Namespace, settings: Settings) -> int | None:
    """Run this module's subcommand; None when ``args.command`` is not one of them."""
    if args.command == "users":
        return _users(args, settings)
    if args.command == "review":
        # Here, not at the top: the app (uvicorn, Starlette, the pages) loads only to serve it.
        from gateway.review import serve  # noqa: PLC0415
        logs.setup(settings.log_level)
        try:
            return serve.run_foreground(settings, args.config)
        except OSError as exc:
            print(f"dlp-gateway review: cannot start: {exc.strerror or exc}", file=sys.stderr)
            return 1
    return None


def _users(args: argparse.Namespace, settings: Settings) -> int:
    try:
        store = cast(ReviewStore, open_from_settings(settings))
    except QuarantineError as exc:
        print(f"dlp-gateway users: {exc}", file=sys.stderr)
        return 1
    try:
        if args.users_command == "list":
            _list(store, args.json)
        elif args.users_command == "disable":
            users.disable(store, args.name, _actor())
            print(f"dlp-gateway users: disabled {args.name}")
        else:
            _add(store, args)
    except users.UserError as exc:
        print(f"dlp-gateway users: {exc}", file=sys.stderr)
        return 1
    finally:
        store.close()
    return 0


def _add(store: Any, args: argparse.Namespace) -> None:
    from gateway.review import serve  # noqa: PLC0415 - as in run(): the app loads only when needed
    profiles = tuple(p.strip() for p in args.profiles.split(",") if p.strip())
    known = set(serve.load_profiles(args.config).settings.profiles)
    password = _password(args.password_stdin)
    user = users.add(store, args.name, args.role, profiles, password, known, _actor())
    print(f"dlp-gateway users: added {user.name} ({user.role}, profiles: {', '.join(user.profiles) or 'all'})")


def _list(store: Any, as_json: bool) -> None:
    if not as_json:
        print("NAME\tROLE\tPROFILES\tSTATE")
    for user in store.users():
        record = {"name": user.name, "role": user.role, "profiles": list(user.profiles),
                  "disabled": user.disabled,
                  "created_at": user.created_at.isoformat() if user.created_at else None}
        if as_json:
            print(json.dumps(record))
        else:
            state = "disabled" if user.disabled else "active"
            print(f"{user.name}\t{user.role}\t{','.join(user.profiles) or '(all)'}\t{state}")


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        raise UserError("the two passwords differ")
    return first


def _actor() -> str:
    """The system user running the command, for the audit log."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"
