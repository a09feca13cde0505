"""Redelivering dead-lettered events once their cause is fixed (docs/operations.md, "Dead letters").

Each dead letter of a consumer is published again to its original subject with its original
headers and event id (`Nats-Msg-Id`): the consumers that processed the event skip it (their inbox
holds the id), the one that failed processes it now. JetStream drops a publish whose id it has seen
within the stream's duplicate window (an hour), so a dead letter whose event was first published
less than that ago is left in place and reported as too recent: run again later. A dead letter
that was published again is deleted from TRAINING_DEADLETTER.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nats.js.errors import NotFoundError

from training_events.envelope import Headers
from training_events.streams import DEAD_LETTER_PREFIX, DEAD_LETTER_STREAM

_ADDED = (Headers.ORIGINAL_SUBJECT, Headers.DEAD_LETTER_REASON, Headers.DEAD_LETTER_CONSUMER)


@dataclass
class Redelivery:
    """Event ids, by what happened to their dead letters."""

    redelivered: list[str] = field(default_factory=list)
    too_recent: list[str] = field(default_factory=list)
    # (event id, reason) of the dead letters seen, whatever happened to them.
    seen: list[tuple[str, str]] = field(default_factory=list)


async def redeliver(js: Any, consumer: str, *, event_ids: set[str] | None = None, dry_run: bool = False) -> Redelivery:
    """Publish `consumer`'s dead letters (or only those of `event_ids`) again; see the module doc."""
    subject = f"{DEAD_LETTER_PREFIX}.{consumer}"
    outcome = Redelivery()
    sequence = 1
    while True:
        try:
            dead = await js.get_msg(DEAD_LETTER_STREAM, seq=sequence, subject=subject, next=True)
        except NotFoundError:
            return outcome
        sequence = int(dead.seq) + 1
        headers = dict(dead.headers or {})
        event_id = str(headers.get(Headers.MSG_ID, "")).removesuffix(f":{consumer}")
        outcome.seen.append((event_id, str(headers.get(Headers.DEAD_LETTER_REASON, ""))))
        original = headers.get(Headers.ORIGINAL_SUBJECT)
        if not original or (event_ids is not None and event_id not in event_ids) or dry_run:
            continue
        for name in _ADDED:
            headers.pop(name, None)
        headers[Headers.MSG_ID] = event_id
        ack = await js.publish(original, dead.data or b"", headers=headers)
        if ack.duplicate:
            outcome.too_recent.append(event_id)
            continue
        await js.delete_msg(DEAD_LETTER_STREAM, int(dead.seq))
        outcome.redelivered.append(event_id)
