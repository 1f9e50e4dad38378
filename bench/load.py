"""The load generator: `python -m bench.load JOB.json` sends signed Slack requests and prints
one JSON object of what it saw. A process of its own, so that its timing does not share an
event loop with the fake Slack or the app.

The job: `url`, `secret` (signing secret), `bodies` (form-encoded interactivity payloads, one
per request, sent in order, each once) and either

- `rate` (requests per second): open loop. Request i is due at `start + i / rate`; it is sent
  then whatever the answers before it did, and its latency is measured from that scheduled
  time, so a server that falls behind shows it (no coordinated omission); or
- `concurrency` (N clients): closed loop, each client sends its next request when its previous
  one is answered; throughput is answered requests over the elapsed time.

The signature is computed at send time, as Slack does (`v0=HMAC-SHA256(secret,
"v0:<ts>:<body>")`, with `X-Slack-Request-Timestamp` the current second).

Output: `latencies_ms` (per request; failed connections are left out and counted), `statuses`
(HTTP status -> count, `error` for no answer), `elapsed_s` (first send to last answer) and
`started_at` (the wall-clock time of the first send, for figures that end after the answers:
the effects the clicks caused).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import sys
import time
from collections import Counter
from typing import Any

import aiohttp

USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"


def _headers(secret: bytes, body: bytes) -> dict[str, str]:
    timestamp = str(int(time.time()))
    digest = hmac.new(secret, b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256)
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "User-Agent": USER_AGENT,
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": f"v0={digest.hexdigest()}",
    }


async def _post(
    http: aiohttp.ClientSession, url: str, secret: bytes, body: bytes, statuses: Counter[str]
) -> bool:
    try:
        async with http.post(url, data=body, headers=_headers(secret, body)) as resp:
            await resp.read()
            statuses[str(resp.status)] += 1
            return True
    except (aiohttp.ClientError, OSError, TimeoutError):
        statuses["error"] += 1
        return False


async def open_loop(url: str, secret: bytes, bodies: list[bytes], rate: float) -> dict[str, Any]:
    statuses: Counter[str] = Counter()
    latencies: list[float | None] = [None] * len(bodies)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0), timeout=timeout
    ) as http:
        loop = asyncio.get_running_loop()
        start = loop.time() + 0.05

        async def one(i: int) -> None:
            due = start + i / rate
            await asyncio.sleep(max(0.0, due - loop.time()))
            if await _post(http, url, secret, bodies[i], statuses):
                latencies[i] = (loop.time() - due) * 1e3

        began, wall = time.perf_counter(), time.time()
        await asyncio.gather(*(one(i) for i in range(len(bodies))))
        elapsed = time.perf_counter() - began
    return {
        "latencies_ms": [v for v in latencies if v is not None],
        "statuses": dict(statuses),
        "elapsed_s": elapsed,
        "started_at": wall,
    }


async def closed_loop(
    url: str, secret: bytes, bodies: list[bytes], concurrency: int
) -> dict[str, Any]:
    statuses: Counter[str] = Counter()
    latencies: list[float] = []
    queue = iter(bodies)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0), timeout=timeout
    ) as http:

        async def client() -> None:
            for body in queue:
                sent = time.perf_counter()
                if await _post(http, url, secret, body, statuses):
                    latencies.append((time.perf_counter() - sent) * 1e3)

        began, wall = time.perf_counter(), time.time()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    return {
        "latencies_ms": latencies,
        "statuses": dict(statuses),
        "elapsed_s": elapsed,
        "started_at": wall,
    }


async def run(job: dict[str, Any]) -> dict[str, Any]:
    url, secret = str(job["url"]), str(job["secret"]).encode()
    bodies = [str(b).encode() for b in job["bodies"]]
    if "rate" in job:
        return await open_loop(url, secret, bodies, float(job["rate"]))
    return await closed_loop(url, secret, bodies, int(job["concurrency"]))


def main(argv: list[str]) -> int:
    with open(argv[1], encoding="utf-8") as spec:
        job = json.load(spec)
    json.dump(asyncio.run(run(job)), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
