"""The simulator's HTTPS server (aiohttp): the provincial API of docs/supervision-contract.md, an
admin API that injects faults and issues commands, and the same controls as Python methods for
in-process tests.

Faults apply to record pushes (`POST /api/v1/records`), each request drawing once:
- fail: 503 before anything is stored;
- timeout: the records are stored, then the answer is held for `hang_seconds` (the client gives up
  first, so it cannot know they were stored; its retry is answered "duplicate");
- slow: every answer waits `slow_ms` first;
- double_ack: every acknowledgement appears twice in the answer (the second as "duplicate");
- reject: a share of the records is refused as invalid (acknowledged "rejected", not stored).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import random
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from aiohttp import web

from training_supervision_simulator.store import COMMAND_TYPES, Command, Store
from training_supervision_simulator.tls import self_signed, server_context

MAX_RECORDS_PER_PUSH = 500
MAX_RECORDS_PER_BATCH = 5000


@dataclass
class Faults:
    fail_ratio: float = 0.0
    timeout_ratio: float = 0.0
    hang_seconds: float = 30.0
    slow_ms: int = 0
    double_ack: bool = False
    # Share of records refused as invalid (not stored), for the failed-push list.
    reject_ratio: float = 0.0

    def validate(self) -> None:
        if not (
            0 <= self.fail_ratio <= 1 and 0 <= self.timeout_ratio <= 1 and self.fail_ratio + self.timeout_ratio <= 1
        ):
            raise ValueError("fail_ratio and timeout_ratio must be within 0..1 and add up to at most 1")
        if self.hang_seconds < 0 or self.slow_ms < 0:
            raise ValueError("hang_seconds and slow_ms must not be negative")


@dataclass
class Counters:
    push_requests: int = 0
    failed_on_purpose: int = 0
    timed_out_on_purpose: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    unauthorized: int = 0


class Simulator:
    def __init__(self, *, token: str, host: str = "127.0.0.1", port: int = 0, seed: int | None = None) -> None:
        if len(token) < 16:
            raise ValueError("the simulator's token must be at least 16 characters")
        self.token = token
        self.host = host
        self.port = port
        self.store = Store()
        self.faults = Faults()
        self.counters = Counters()
        self.certificate_pem, self._key_pem = self_signed([host, "localhost", "127.0.0.1"])
        self._random = random.Random(seed)
        self._runner: web.AppRunner | None = None
        self._hanging: set[asyncio.Task[Any]] = set()

    # --- lifecycle -------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    async def start(self) -> Simulator:
        app = web.Application(middlewares=[self._authenticate], client_max_size=64 * 1024 * 1024)
        app.add_routes(
            [
                web.post("/api/v1/records", self._push),
                web.post("/api/v1/batches", self._batch),
                web.get("/api/v1/records/keys", self._keys),
                web.get("/api/v1/commands", self._commands),
                web.post("/api/v1/commands/{command_id}/outcome", self._outcome),
                web.put("/admin/faults", self._set_faults),
                web.get("/admin/faults", self._get_faults),
                web.post("/admin/commands", self._issue),
                web.get("/admin/commands", self._list_commands),
                web.get("/admin/records", self._list_records),
                web.delete("/admin/records/{key}", self._forget),
                web.get("/admin/stats", self._stats),
            ]
        )
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(
            self._runner, self.host, self.port, ssl_context=server_context(self.certificate_pem, self._key_pem)
        )
        await site.start()
        server = site._server  # the bound port when 0 was asked for
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        for task in list(self._hanging):
            task.cancel()
        if self._runner is not None:
            await self._runner.cleanup()

    # --- in-process controls (the admin API does the same over HTTPS) ----------------------------
    def set_faults(self, **values: Any) -> Faults:
        faults = Faults(**{**asdict(self.faults), **values})
        faults.validate()
        self.faults = faults
        return faults

    def issue_command(self, command_type: str, region_code: str, target_id: str, reason: str) -> Command:
        if command_type not in COMMAND_TYPES:
            raise ValueError(f"command_type must be one of {', '.join(COMMAND_TYPES)}")
        return self.store.issue(command_type, region_code, target_id, reason)

    def forget(self, idempotency_key: str) -> bool:
        """Lose a stored record (what reconciliation must notice and repair)."""
        return self.store.records.pop(idempotency_key, None) is not None

    # --- HTTP ------------------------------------------------------------------------------------
    @web.middleware
    async def _authenticate(self, request: web.Request, handler: Any) -> web.StreamResponse:
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {self.token}".encode()):
            self.counters.unauthorized += 1
            return web.json_response({"error": "a valid bearer token is required"}, status=401)
        return await handler(request)

    async def _json(self, request: web.Request) -> Any:
        try:
            return await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise web.HTTPBadRequest(
                text=json.dumps({"error": f"the body is not JSON: {exc}"}), content_type="application/json"
            ) from None

    async def _push(self, request: web.Request) -> web.StreamResponse:
        self.counters.push_requests += 1
        body = await self._json(request)
        records = body.get("records") if isinstance(body, dict) else None
        if not isinstance(records, list) or not 1 <= len(records) <= MAX_RECORDS_PER_PUSH:
            return web.json_response({"error": f"records must be a list of 1 to {MAX_RECORDS_PER_PUSH}"}, status=400)
        faults = self.faults
        if faults.slow_ms:
            await asyncio.sleep(faults.slow_ms / 1000)
        draw = self._random.random()
        if draw < faults.fail_ratio:
            self.counters.failed_on_purpose += 1
            return web.json_response({"error": "simulated failure: service unavailable"}, status=503)
        acks = [self._store(record) for record in records]
        if faults.double_ack:
            acks = [
                a for ack in acks for a in (ack, {**ack, "status": "duplicate"} if ack["status"] == "stored" else ack)
            ]
        if draw < faults.fail_ratio + faults.timeout_ratio:
            self.counters.timed_out_on_purpose += 1
            # Stored, but the answer never reaches a client that waits less than hang_seconds.
            task = asyncio.current_task()
            if task is not None:
                self._hanging.add(task)
            try:
                await asyncio.sleep(faults.hang_seconds)
            finally:
                if task is not None:
                    self._hanging.discard(task)
        return web.json_response({"acks": acks})

    @staticmethod
    def _again(ack: dict[str, Any]) -> dict[str, Any]:
        """The same acknowledgement a second time, as the province would answer a repeat."""
        return {**ack, "status": "duplicate"} if ack["status"] == "stored" else ack

    def _store(self, record: Any) -> dict[str, Any]:
        if self.faults.reject_ratio and self._random.random() < self.faults.reject_ratio:
            status, stored, error = "rejected", None, "simulated rejection: the record failed validation"
        else:
            status, stored, error = self.store.put(record)
        key = record.get("idempotency_key", "") if isinstance(record, dict) else ""
        if status == "stored":
            self.counters.stored += 1
        elif status == "duplicate":
            self.counters.duplicates += 1
        else:
            self.counters.rejected += 1
        ack: dict[str, Any] = {"idempotency_key": key, "status": status}
        if stored is not None:
            ack["receipt_id"] = stored.receipt_id
        if error:
            ack["error"] = error
        return ack

    async def _batch(self, request: web.Request) -> web.StreamResponse:
        body = await self._json(request)
        if not isinstance(body, dict) or not body.get("batch_id") or not isinstance(body.get("records"), list):
            return web.json_response({"error": "batch_id and records are required"}, status=400)
        if len(body["records"]) > MAX_RECORDS_PER_BATCH:
            return web.json_response({"error": f"at most {MAX_RECORDS_PER_BATCH} records a batch"}, status=400)
        previous = self.store.batches.get(body["batch_id"])
        if previous is not None:
            return web.json_response(previous)
        acks = [self._store(record) for record in body["records"]]
        answer = {
            "batch_id": body["batch_id"],
            "received": len(acks),
            "newly_stored": sum(1 for a in acks if a["status"] == "stored"),
            "acks": acks,
        }
        self.store.batches[body["batch_id"]] = answer
        return web.json_response(answer)

    async def _keys(self, request: web.Request) -> web.StreamResponse:
        try:
            day = date.fromisoformat(request.query.get("date", ""))
            offset = int(request.query.get("page_token") or 0)
            size = min(max(int(request.query.get("page_size") or 1000), 1), 5000)
        except ValueError:
            return web.json_response({"error": "date must be YYYY-MM-DD; page_size and page_token numbers"}, status=400)
        keys = self.store.keys_of_day(day)
        page = keys[offset : offset + size]
        following = str(offset + size) if offset + size < len(keys) else ""
        return web.json_response({"date": day.isoformat(), "keys": page, "next_page_token": following})

    async def _commands(self, request: web.Request) -> web.StreamResponse:
        try:
            after = int(request.query.get("after") or 0)
        except ValueError:
            return web.json_response({"error": "after must be a cursor this API returned"}, status=400)
        pending = [c for c in self.store.commands if c.position > after][:100]
        cursor = str(pending[-1].position) if pending else str(after)
        return web.json_response({"commands": [c.as_json() for c in pending], "cursor": cursor})

    async def _outcome(self, request: web.Request) -> web.StreamResponse:
        command = self.store.command(request.match_info["command_id"])
        if command is None:
            return web.json_response({"error": "no such command"}, status=404)
        body = await self._json(request)
        if not isinstance(body, dict) or body.get("status") not in ("applied", "rejected"):
            return web.json_response({"error": "status must be applied or rejected"}, status=400)
        command.outcomes_received += 1
        if command.outcome is None:
            command.outcome = {"status": body["status"], "detail": str(body.get("detail", ""))}
        return web.json_response({"command_id": command.command_id, "recorded": command.outcome})

    async def _set_faults(self, request: web.Request) -> web.StreamResponse:
        body = await self._json(request)
        try:
            faults = self.set_faults(**(body if isinstance(body, dict) else {}))
        except (TypeError, ValueError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response(asdict(faults))

    async def _get_faults(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(asdict(self.faults))

    async def _issue(self, request: web.Request) -> web.StreamResponse:
        body = await self._json(request)
        try:
            command = self.issue_command(
                str(body["command_type"]), str(body["region_code"]), str(body["target_id"]), str(body["reason"])
            )
        except (KeyError, TypeError, ValueError) as exc:
            return web.json_response({"error": f"command_type, region_code, target_id, reason: {exc}"}, status=400)
        return web.json_response(command.as_json(), status=201)

    async def _list_commands(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(
            {
                "commands": [
                    {**c.as_json(), "outcome": c.outcome, "outcomes_received": c.outcomes_received}
                    for c in self.store.commands
                ]
            }
        )

    async def _list_records(self, request: web.Request) -> web.StreamResponse:
        order_key = request.query.get("order_key")
        items = [
            {"arrival": s.arrival, "receipt_id": s.receipt_id, **s.record}
            for s in self.store.in_arrival_order()
            if order_key is None or s.record.get("order_key") == order_key
        ]
        return web.json_response({"records": items})

    async def _forget(self, request: web.Request) -> web.StreamResponse:
        if not self.forget(request.match_info["key"]):
            return web.json_response({"error": "no such record"}, status=404)
        return web.json_response({"forgotten": request.match_info["key"]})

    async def _stats(self, request: web.Request) -> web.StreamResponse:
        return web.json_response({**asdict(self.counters), "records_held": len(self.store.records)})
