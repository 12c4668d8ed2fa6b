"""The ``dlp-gateway`` command: serve and check-config (scan, quarantine and
review arrive with their issues)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gateway import __version__, config


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dlp-gateway", description="Outbound-email data-loss-prevention SMTP gateway.")
    parser.add_argument("--version", action="version", version=f"dlp-gateway {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the SMTP relay")
    _config_flag(serve)
    serve.add_argument("--listen", metavar="HOST:PORT", help="SMTP address (default 127.0.0.1:10025)")
    serve.add_argument("--relay", metavar="HOST:PORT", help="downstream MTA (default 127.0.0.1:10026)")
    serve.add_argument("--metrics", metavar="HOST:PORT", help="Prometheus endpoint (default 127.0.0.1:9465)")
    serve.add_argument("--review", metavar="HOST:PORT", help="review web app (default 127.0.0.1:8025)")
    serve.add_argument("--data-dir", metavar="DIR", help="quarantine and state (default ./var)")
    serve.add_argument("--workers", type=int, metavar="N", help="worker processes (default: CPU count)")

    check = commands.add_parser("check-config", help="validate the configuration and exit")
    _config_flag(check)
    return parser


def _config_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="DIR", type=Path,
                        help="directory holding gateway.yaml (default: built-in settings)")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    overrides = config.Overrides(
        listen=getattr(args, "listen", None), relay=getattr(args, "relay", None),
        metrics=getattr(args, "metrics", None), review=getattr(args, "review", None),
        data_dir=getattr(args, "data_dir", None), workers=getattr(args, "workers", None))
    try:
        settings = config.load(args.config, overrides)
    except config.ConfigError as exc:
        print(f"dlp-gateway: invalid configuration:\n{exc}", file=sys.stderr)
        return 2
    if args.command == "check-config":
        where = args.config / config.CONFIG_FILE if args.config else "built-in defaults"
        print(f"dlp-gateway: configuration OK ({where})")
        return 0
    return _serve(args, settings, overrides)


def _serve(args: argparse.Namespace, settings: config.Settings, overrides: config.Overrides) -> int:
    from gateway import logs, server
    logs.setup(settings.log_level)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    launch = server.Launch(args.config, overrides)
    try:
        return server.run(launch, settings)
    except OSError as exc:
        print(f"dlp-gateway: cannot start: {exc.strerror or exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
