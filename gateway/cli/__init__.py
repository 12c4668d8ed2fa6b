"""The ``dlp-gateway`` command: serve, check-config, scan, replay, edm, quarantine, audit,
backup, rekey, users and review.

Every command-line entry point lives in this package, one module per family:
scan, replay, quarantine (and audit), maintenance (backup, rekey) and review
(users, review); ``python -m gateway.cli`` runs the same ``main``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from detectors.edm import EdmError, EdmStore
from gateway import __version__, config, logs, siem
from gateway.cli import maintenance, quarantine, replay, review
from gateway.policy import profiles


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

    scan = commands.add_parser("scan", help="scan .eml files and print findings as JSON Lines")
    scan.add_argument("paths", nargs="+", metavar="PATH", help=".eml file, directory, or - for stdin")
    _config_flag(scan)
    scan.add_argument("--sender", metavar="ADDR", help="envelope sender (default: the From header)")
    scan.add_argument("--recipient", action="append", default=[], metavar="ADDR",
                      help="envelope recipient, repeatable (default: To and Cc)")
    scan.add_argument("--reveal", action="store_true", help="include the matched values")
    scan.add_argument("--data-dir", metavar="DIR", help="where the EDM list is (default ./var)")

    edm = commands.add_parser("edm", help="exact data match: the utility's account list")
    edm_commands = edm.add_subparsers(dest="edm_command", required=True, metavar="ACTION")
    imp = edm_commands.add_parser("import", help="hash a CSV column of account numbers into the store")
    imp.add_argument("file", type=Path, metavar="FILE.csv")
    imp.add_argument("--column", required=True, metavar="NAME")
    imp.add_argument("--utility", default="default", metavar="NAME")
    _config_flag(imp)
    imp.add_argument("--data-dir", metavar="DIR", help="store location (default ./var)")

    replay.add_command(commands, _config_flag)
    quarantine.add_commands(commands, _config_flag)
    maintenance.add_commands(commands, _config_flag)
    review.add_commands(commands)
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
        return _check_config(args.config)
    if args.command == "scan":
        # Here, not at the top: the pipeline and its extraction libraries load only for a scan.
        from gateway.cli import scan  # noqa: PLC0415
        return scan.run(args.paths, settings, args.sender, args.recipient, args.reveal,
                            config_dir=args.config)
    if args.command == "replay":
        return replay.run(args, settings)
    if args.command == "edm":
        return _edm_import(args, settings)
    if args.command in ("backup", "rekey"):
        return maintenance.run(args, settings)
    if args.command in ("quarantine", "audit"):
        siem.install(settings.siem)   # a release or delete here is audited like one in the app
        try:
            return quarantine.run(args, settings)
        finally:
            siem.shutdown(timeout=5)
    done = review.run(args, settings)
    if done is not None:
        return done
    return _serve(args, settings, overrides)


def _check_config(config_dir: Path | None) -> int:
    """Validate gateway.yaml and, when present, policies.yaml."""
    checked = [str(config_dir / config.CONFIG_FILE) if config_dir else "built-in defaults"]
    if config_dir is not None and (config_dir / "policies.yaml").exists():
        try:
            profiles.load(config_dir)
        except config.ConfigError as exc:
            print(f"dlp-gateway: invalid configuration:\n{exc}", file=sys.stderr)
            return 2
        checked.append(str(config_dir / profiles.POLICIES_FILE))
    print(f"dlp-gateway: configuration OK ({', '.join(checked)})")
    return 0


def _edm_import(args: argparse.Namespace, settings: config.Settings) -> int:
    store = EdmStore(settings.data_dir)
    try:
        added = store.import_csv(args.file, args.column, args.utility)
    except EdmError as exc:
        print(f"dlp-gateway edm: {exc}", file=sys.stderr)
        return 1
    loaded = store.load()
    print(f"dlp-gateway edm: {added} new account hashes for {args.utility!r}; "
          f"{len(loaded) if loaded else 0} in {store.path}")
    return 0


def _serve(args: argparse.Namespace, settings: config.Settings, overrides: config.Overrides) -> int:
    # Here, not at the top: the server and the review app it runs load only for `serve`.
    from gateway import server  # noqa: PLC0415
    logs.setup(settings.log_level)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    launch = server.Launch(args.config, overrides)
    try:
        return server.run(launch, settings)
    except OSError as exc:
        print(f"dlp-gateway: cannot start: {exc.strerror or exc}", file=sys.stderr)
        return 1
