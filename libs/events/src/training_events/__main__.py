"""Provision the platform's JetStream streams (run by the deployment's stream-provisioning hook Job),
and redeliver a consumer's dead letters once their cause is fixed (docs/operations.md).

Usage: python -m training_events provision [--nats-url URL] [--contexts identity,courses,...] [--replicas N]
       python -m training_events redeliver --consumer DURABLE [--event-id ID ...] [--dry-run] [--nats-url URL]

The URL, the replica count and the credentials come from the environment when not given:
NATS_URL, NATS_STREAM_REPLICAS, and NATS_USER with NATS_PASSWORD, or NATS_TOKEN (credentials are
never taken from the command line, where any process listing would show them).
"""

from __future__ import annotations

import argparse
import asyncio
import os

from training_events.connection import connect_once
from training_events.redeliver import redeliver
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


async def redeliver_dead_letters(
    url: str,
    consumer: str,
    event_ids: list[str],
    dry_run: bool,
    *,
    user: str | None = None,
    password: str | None = None,
    token: str | None = None,
) -> None:
    client = await connect_once(url, name="redeliver", timeout=10, user=user, password=password, token=token)
    try:
        done = await redeliver(
            client.jetstream(timeout=10), consumer, event_ids=set(event_ids) or None, dry_run=dry_run
        )
    finally:
        await client.close()
    for event_id, reason in done.seen:
        print(f"dead letter {event_id}: {reason}")
    print(f"redelivered {len(done.redelivered)}: {', '.join(done.redelivered) or '-'}")
    if done.too_recent:
        print(
            f"left {len(done.too_recent)} within the duplicate window (first published under an hour ago); "
            f"run again later: {', '.join(done.too_recent)}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m training_events")
    sub = parser.add_subparsers(dest="command", required=True)
    prov = sub.add_parser("provision", help="create or update every stream")
    prov.add_argument("--nats-url", default=os.environ.get("NATS_URL", "nats://127.0.0.1:4222"))
    prov.add_argument("--contexts", default=",".join(CONTEXTS))
    prov.add_argument("--replicas", type=int, default=int(os.environ.get("NATS_STREAM_REPLICAS", "1")))
    again = sub.add_parser("redeliver", help="publish a consumer's dead letters again (after fixing the cause)")
    again.add_argument("--nats-url", default=os.environ.get("NATS_URL", "nats://127.0.0.1:4222"))
    again.add_argument("--consumer", required=True, help="the durable consumer, e.g. certificates-learning")
    again.add_argument("--event-id", action="append", default=[], help="only this event (repeatable)")
    again.add_argument("--dry-run", action="store_true", help="list the dead letters, publish nothing")
    args = parser.parse_args()
    credentials = {
        "user": os.environ.get("NATS_USER") or None,
        "password": os.environ.get("NATS_PASSWORD") or None,
        "token": os.environ.get("NATS_TOKEN") or None,
    }
    if args.command == "redeliver":
        asyncio.run(redeliver_dead_letters(args.nats_url, args.consumer, args.event_id, args.dry_run, **credentials))
        return
    contexts = [c.strip() for c in args.contexts.split(",") if c.strip()]
    unknown = sorted(set(contexts) - set(CONTEXTS))
    if unknown:
        parser.error(f"unknown contexts: {', '.join(unknown)} (known: {', '.join(CONTEXTS)})")
    asyncio.run(provision(args.nats_url, contexts, args.replicas, **credentials))


if __name__ == "__main__":
    main()
