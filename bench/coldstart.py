"""Cold start: `python -m bot serve` from exec to its first `/healthz` 200 (which pings Redis),
against the fake Slack and the private Redis; baseline: `python -c "import slack_bolt,
aiohttp, redis"` from exec to exit (the imports no start can avoid). Medians of `runs`."""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
import uuid
from dataclasses import dataclass

from bench.procs import ROOT, Served, bot_env, serve_argv
from tests.e2e.processes import free_port, process_env
from tests.fakeslack.server import FakeSlack

SECRET = "bench-cold-start-secret"


@dataclass(frozen=True)
class ColdStart:
    runs: tuple[float, ...]  # ms
    baseline_runs: tuple[float, ...]  # ms

    @property
    def median_ms(self) -> float:
        return statistics.median(self.runs)

    @property
    def baseline_ms(self) -> float:
        return statistics.median(self.baseline_runs)

    def json(self) -> dict[str, object]:
        return {
            "cold_start_ms": self.median_ms,
            "cold_start_runs": len(self.runs),
            "cold_start_baseline_ms": self.baseline_ms,
            "cold_start_ratio": self.median_ms / self.baseline_ms,
        }

    def lines(self) -> list[str]:
        return [
            f"{'cold start to /healthz 200':<28} median {self.median_ms:8.0f} ms  (runs: "
            + ", ".join(f"{r:.0f}" for r in self.runs)
            + f")  |  import slack_bolt, aiohttp, redis  median {self.baseline_ms:6.0f} ms  |  "
            f"ratio {self.median_ms / self.baseline_ms:5.1f}x"
        ]


async def _imports() -> float:
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "import slack_bolt, aiohttp, redis", cwd=ROOT, env=process_env()
    )
    if await proc.wait() != 0:
        raise RuntimeError("python -c 'import slack_bolt, aiohttp, redis' failed")
    return (time.perf_counter() - started) * 1e3


async def run_cold_start(redis_url: str, runs: int) -> ColdStart:
    prefix = f"bcold-{uuid.uuid4().hex[:6]}"
    times: list[float] = []
    async with FakeSlack() as fake:
        for _ in range(runs):
            port = free_port()
            env = bot_env(
                api_url=fake.api_url, token=fake.bot_token, secret=SECRET, redis_url=redis_url,
                prefix=prefix, port=port,
            )  # fmt: skip
            server = Served(serve_argv(), env, port)
            try:
                await server.start()
                times.append(server.started_in * 1e3)
            finally:
                await server.stop()
    baseline = [await _imports() for _ in range(runs)]
    return ColdStart(tuple(times), tuple(baseline))
