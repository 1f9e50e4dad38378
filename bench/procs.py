"""The processes a benchmark starts: a private redis-server, `python -m bot serve`, a bare Bolt
app (`bench.bare_bolt`), and the load generator (`bench.load`). Each is a separate OS process,
as in production, so the load generator, the fake Slack and the app do not share an event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from tests.e2e.processes import free_port, process_env, start_redis

ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def private_redis() -> Iterator[str]:
    """A redis-server of the benchmark's own on a free port (nothing else counted in its
    INFO or its memory), stopped afterwards. Its URL."""
    if shutil.which("redis-server") is None:
        raise RuntimeError("redis-server is not installed: the benchmark needs a private one")
    port = free_port()
    proc = start_redis(port)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def bot_env(
    *, api_url: str, token: str, secret: str, redis_url: str, prefix: str, port: int, **extra: str
) -> dict[str, str]:
    """The environment of `python -m bot serve` against the fake Slack, as an operator sets it:
    defaults everywhere else (INFO logs, JSON lines), the weekly digest off."""
    return process_env(
        SLACK_BOT_TOKEN=token,
        SLACK_SIGNING_SECRET=secret,
        SLACK_API_URL=api_url,
        REDIS_URL=redis_url,
        REDIS_KEY_PREFIX=prefix,
        PORT=str(port),
        HOST="127.0.0.1",
        ONBOARDING_OPS_CHANNEL="C0BENCHOPS",
        LOG_FORMAT="json",
        LOG_LEVEL="INFO",
        DIGEST_AT="off",
        **extra,
    )


@dataclass
class Served:
    """A server process (ours or the bare Bolt one) on `port`, its output in a file."""

    argv: tuple[str, ...]
    env: Mapping[str, str]
    port: int
    proc: asyncio.subprocess.Process | None = None
    log: Path = field(default_factory=lambda: Path(tempfile.mkstemp(suffix=".log")[1]))
    started_in: float = 0.0  # seconds from exec to the first answer of `ready_path`

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(
        self, ready_path: str = "/healthz", *, any_answer: bool = False, wait_s: float = 30
    ) -> None:
        """Start it and return at its first answer of `ready_path`: a 200 (our `/healthz`,
        which pings Redis) or, with `any_answer`, any HTTP answer (the bare app has no such
        route: a 404 says it listens)."""
        started = time.perf_counter()
        with self.log.open("wb") as out:
            self.proc = await asyncio.create_subprocess_exec(
                *self.argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=dict(self.env),
                cwd=ROOT,
            )
        deadline = started + wait_s
        async with aiohttp.ClientSession() as http:
            while True:
                if self.proc.returncode is not None:
                    raise RuntimeError(f"{self.argv} exited:\n{self.tail()}")
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with http.get(self.url + ready_path) as resp:
                        if resp.status == 200 or any_answer:
                            break
                if time.perf_counter() > deadline:
                    await self.stop()
                    raise RuntimeError(f"{self.argv} did not answer in {wait_s} s:\n{self.tail()}")
                await asyncio.sleep(0.005)  # polling the port of a process that is starting
        self.started_in = time.perf_counter() - started

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    async def stop(self, grace_s: float = 20) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), timeout=grace_s)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        with contextlib.suppress(OSError):
            self.log.unlink()


def serve_argv() -> tuple[str, ...]:
    return (sys.executable, "-m", "bot", "serve")


def bare_bolt_argv() -> tuple[str, ...]:
    return (sys.executable, "-m", "bench.bare_bolt")


@contextlib.asynccontextmanager
async def served(
    argv: tuple[str, ...], env: Mapping[str, str], port: int, *, any_answer: bool = False
) -> AsyncIterator[Served]:
    server = Served(argv, env, port)
    await server.start(any_answer=any_answer)
    try:
        yield server
    finally:
        await server.stop()


async def run_load(job: Mapping[str, object]) -> dict[str, object]:
    """Run `python -m bench.load` on `job` (see bench/load.py); its JSON result."""
    import json

    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as spec:
        json.dump(job, spec)
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.load",
            spec.name,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            cwd=ROOT,
        )
        out, err = await proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"the load generator failed:\n{err.decode(errors='replace')}")
        result: dict[str, object] = json.loads(out)
        return result
    finally:
        os.unlink(spec.name)
