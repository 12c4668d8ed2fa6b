"""Command-line parts of the review app: ``users`` and ``review``."""

from __future__ import annotations

import argparse
from typing import Any


def add_commands(commands: Any) -> None:
    """Add this module's subcommands to the ``dlp-gateway`` parser."""


def run(args: argparse.Namespace, settings: Any) -> int | None:
    """Run this module's subcommand; None when ``args.command`` is not one of them."""
    return None
