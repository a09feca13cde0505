"""`python -m training_gateway [serve]`: the HTTP gateway and the trainee web app."""

from __future__ import annotations

import argparse
import asyncio
import sys

from training_gateway.server import serve
from training_gateway.settings import GatewaySettings
from training_runtime.logs import configure_logging
from training_runtime.settings import SettingsError, load_settings


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m training_gateway")
    parser.add_argument("command", nargs="?", default="serve", choices=["serve"])
    parser.parse_args()
    try:
        settings = load_settings(GatewaySettings)
    except SettingsError as exc:
        print(exc.message, file=sys.stderr)
        raise SystemExit(2) from None
    configure_logging("gateway", level=settings.log_level, fmt=settings.log_format)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
