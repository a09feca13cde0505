"""Provision the platform's JetStream streams (run by the deployment's stream-provisioning hook Job).

Usage: python -m training_events provision [--nats-url URL] [--contexts identity,courses,...] [--replicas N]

The URL, the replica count and the credentials come from the environment when not given:
NATS_URL, NATS_STREAM_REPLICAS, and NATS_USER with NATS_PASSWORD, or NATS_TOKEN (credentials are
never taken from the command line, where any process listing would show them).
"""

from __future__ import annotations

import argparse
import asyncio
import os

from training_events.connection import connect_once
from training_events.streams import dead_letter_stream, ensure_streams, stream_for_context

CONTEXTS = ("identity", "courses", "learning", "exams", "certificates", "supervision")


async def provision(
    url: str,
    contexts: list[str],
    replicas: int,
    *,
    user: str | None = None,
    password: str | None = None,
    token: str | None = None,
) -> None:
    client = await connect_once(url, name="stream-provisioning", timeout=10, user=user, password=password, token=token)
    try:
        specs = [stream_for_context(c, replicas=replicas) for c in contexts] + [dead_letter_stream(replicas=replicas)]
        await ensure_streams(client.jetstream(timeout=10), specs)
        for spec in specs:
            print(f"stream {spec.name}: {', '.join(spec.subjects)} (replicas {spec.replicas})")
    finally:
        await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m training_events")
    sub = parser.add_subparsers(dest="command", required=True)
    prov = sub.add_parser("provision", help="create or update every stream")
    prov.add_argument("--nats-url", default=os.environ.get("NATS_URL", "nats://127.0.0.1:4222"))
    prov.add_argument("--contexts", default=",".join(CONTEXTS))
    prov.add_argument("--replicas", type=int, default=int(os.environ.get("NATS_STREAM_REPLICAS", "1")))
    args = parser.parse_args()
    contexts = [c.strip() for c in args.contexts.split(",") if c.strip()]
    unknown = sorted(set(contexts) - set(CONTEXTS))
    if unknown:
        parser.error(f"unknown contexts: {', '.join(unknown)} (known: {', '.join(CONTEXTS)})")
    asyncio.run(
        provision(
            args.nats_url,
            contexts,
            args.replicas,
            user=os.environ.get("NATS_USER") or None,
            password=os.environ.get("NATS_PASSWORD") or None,
            token=os.environ.get("NATS_TOKEN") or None,
        )
    )


if __name__ == "__main__":
    main()
