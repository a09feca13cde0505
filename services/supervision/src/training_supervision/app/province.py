"""The provincial platform's HTTPS/JSON API (docs/supervision-contract.md), as a client.

Transport problems (no connection, TLS failure, timeout, 5xx, 429) raise `ProvinceUnavailable`, which
callers retry; an answer that says the request itself is wrong raises `ProvinceRefused`.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from datetime import date
from typing import Any

import aiohttp

from training_events.tracing import current_trace_headers


class ProvinceUnavailable(Exception):
    """No usable answer; the same request may be sent again."""


class ProvinceRefused(Exception):
    """The province answered that the request is wrong; sending it again will not help."""


@dataclass(frozen=True)
class Ack:
    idempotency_key: str
    status: str  # stored, duplicate or rejected
    receipt_id: str
    error: str


class Province:
    def __init__(self, url: str, token: str, *, ca_file: str, timeout_seconds: float) -> None:
        self._url = url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self._ssl = ssl.create_default_context(cafile=ca_file or None)
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                headers=self._headers,
                timeout=self._timeout,
                connector=aiohttp.TCPConnector(ssl=self._ssl, limit=64),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def _call(self, method: str, path: str, *, body: Any = None, params: dict[str, str] | None = None) -> Any:
        try:
            # The W3C trace headers let the province's logs name the trace that sent a request.
            async with self._client().request(
                method, self._url + path, json=body, params=params, headers=current_trace_headers()
            ) as response:
                if response.status >= 500 or response.status in (408, 429):
                    raise ProvinceUnavailable(f"{method} {path}: HTTP {response.status}")
                payload = await response.json(content_type=None)
                if response.status >= 400:
                    error = payload.get("error") if isinstance(payload, dict) else payload
                    raise ProvinceRefused(f"{method} {path}: HTTP {response.status}: {error}")
                return payload
        except (aiohttp.ClientError, TimeoutError, ssl.SSLError, ValueError) as exc:
            raise ProvinceUnavailable(f"{method} {path}: {type(exc).__name__}: {exc}") from exc

    async def push(self, records: list[dict[str, Any]]) -> list[Ack]:
        answer = await self._call("POST", "/api/v1/records", body={"records": records})
        return _acks(answer)

    async def batch(self, batch_id: str, batch_date: date, records: list[dict[str, Any]]) -> tuple[int, list[Ack]]:
        answer = await self._call(
            "POST",
            "/api/v1/batches",
            body={"batch_id": batch_id, "batch_date": batch_date.isoformat(), "records": records},
        )
        return int(answer.get("newly_stored", 0)), _acks(answer)

    async def keys_of_day(self, day: date) -> set[str]:
        keys: set[str] = set()
        token = ""
        while True:
            params = {"date": day.isoformat(), "page_size": "5000"}
            if token:
                params["page_token"] = token
            answer = await self._call("GET", "/api/v1/records/keys", params=params)
            keys.update(str(k) for k in answer.get("keys", []))
            token = str(answer.get("next_page_token") or "")
            if not token:
                return keys

    async def commands(self, after: str) -> tuple[list[dict[str, Any]], str]:
        answer = await self._call("GET", "/api/v1/commands", params={"after": after} if after else None)
        return list(answer.get("commands", [])), str(answer.get("cursor", after))

    async def report_outcome(self, command_id: str, status: str, detail: str, settled_at: str) -> None:
        await self._call(
            "POST",
            f"/api/v1/commands/{command_id}/outcome",
            body={"status": status, "detail": detail, "settled_at": settled_at},
        )


def _acks(answer: Any) -> list[Ack]:
    if not isinstance(answer, dict) or not isinstance(answer.get("acks"), list):
        raise ProvinceUnavailable("the answer carries no acknowledgement list")
    return [
        Ack(
            idempotency_key=str(a.get("idempotency_key", "")),
            status=str(a.get("status", "")),
            receipt_id=str(a.get("receipt_id", "")),
            error=str(a.get("error", "")),
        )
        for a in answer["acks"]
        if isinstance(a, dict)
    ]
