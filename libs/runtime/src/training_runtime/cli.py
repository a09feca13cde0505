"""The command line every service shares: `python -m training_<name> [serve|migrate|...]`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Callable
from typing import Any

from training_runtime.logs import configure_logging
from training_runtime.migrations import upgrade
from training_runtime.server.app import ServiceApp, ServiceDefinition
from training_runtime.settings import ServiceSettings, SettingsError, load_settings

log = logging.getLogger(__name__)


async def serve(app: ServiceApp) -> None:
    """Run until SIGTERM or SIGINT, then shut down gracefully."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await app.start()
    await stop.wait()
    await app.stop()


def main(
    definition_factory: Callable[[], ServiceDefinition],
    settings_cls: type[ServiceSettings],
    *,
    migrations: str,
    commands: dict[str, tuple[str, Callable[[argparse.Namespace, Any], int]]] | None = None,
    configure: Callable[[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]], None] | None = None,
) -> None:
    """Parse the command line and run a command; `serve` is the default."""
    definition = definition_factory()
    parser = argparse.ArgumentParser(prog=f"python -m training_{definition.name}")
    sub = parser.add_subparsers(dest="command")
    parsers = {
        "serve": sub.add_parser("serve", help="run the gRPC service (default)"),
        "migrate": sub.add_parser("migrate", help="apply the database migrations, then exit"),
    }
    parsers["migrate"].add_argument("--revision", default="head")
    for name, (help_text, _) in (commands or {}).items():
        parsers[name] = sub.add_parser(name, help=help_text)
    if configure is not None:
        configure(parser, parsers)
    args = parser.parse_args()
    command = args.command or "serve"
    try:
        settings = load_settings(settings_cls)
    except SettingsError as exc:
        print(exc.message, file=sys.stderr)
        raise SystemExit(2) from None
    configure_logging(definition.name, level=settings.log_level, fmt=settings.log_format)
    if command == "serve":
        asyncio.run(serve(ServiceApp(definition, settings)))
    elif command == "migrate":
        upgrade(migrations, settings.database_url, revision=args.revision)
        print(f"{definition.name}: database migrated to {args.revision}")
    else:
        raise SystemExit((commands or {})[command][1](args, settings))
