"""`python -m bot serve` as a separate process, as an operator runs it: for tests that kill it,
restart it, or run two of them against one Redis."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import REDIS_URL
from tests.e2e.conftest import OPS_CHANNEL, SIGNING_SECRET
from tests.fakeslack.server import FakeSlack

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def process_env(**values: str) -> dict[str, str]:
    """A clean environment: nothing of the developer's own Slack or Redis settings."""
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "SYSTEMROOT")}
    return {**keep, "PYTHONPATH": ROOT, **values}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServeProcess:
    """One `serve` process pointed at the fake Slack and the test Redis, under `prefix`."""

    fake: FakeSlack
    prefix: str
    port: int = field(default_factory=free_port)
    extra: dict[str, str] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    proc: asyncio.subprocess.Process | None = None
    _reader: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return process_env(
            SLACK_BOT_TOKEN=self.fake.bot_token,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=self.fake.api_url,
            REDIS_URL=REDIS_URL,
            REDIS_KEY_PREFIX=self.prefix,
            PORT=str(self.port),
            HOST="127.0.0.1",
            ONBOARDING_OPS_CHANNEL=OPS_CHANNEL,
            LOG_FORMAT="json",
            LOG_LEVEL="DEBUG",
            **self.extra,
        )

    async def start(self, timeout: float = 30) -> None:
        """Start it and return once it says it serves (its log lines are kept in `lines`)."""
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "serve",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            env=self.env(),
            cwd=ROOT,
        )
        listening = asyncio.get_running_loop().create_future()
        self._reader = asyncio.create_task(self._read(listening))
        try:
            await asyncio.wait_for(listening, timeout=timeout)
        except BaseException:
            await self.kill()
            raise

    async def _read(self, listening: asyncio.Future[None]) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        while True:
            raw = await self.proc.stderr.readline()
            if not raw:
                if not listening.done():
                    listening.set_exception(
                        AssertionError("serve exited before listening:\n" + "".join(self.lines))
                    )
                return
            self.lines.append(raw.decode())
            if not listening.done() and "serving Slack requests" in self.lines[-1]:
                listening.set_result(None)

    async def kill(self) -> None:
        """SIGKILL: no shutdown, no draining, as a crash or an OOM kill."""
        await self._end(signal.SIGKILL)

    async def stop(self, timeout: float = 20) -> int:
        """SIGTERM, as an orderly deploy does; returns the exit code."""
        return await self._end(signal.SIGTERM, timeout)

    async def _end(self, sig: int, timeout: float = 20) -> int:
        if self.proc is None:
            return 0
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
        code = await asyncio.wait_for(self.proc.wait(), timeout=timeout)
        if self._reader is not None:
            await asyncio.wait_for(self._reader, timeout=timeout)
        return code

    def output(self) -> str:
        return "".join(self.lines)


def start_redis(port: int, data_dir: Path | None = None) -> subprocess.Popen[bytes]:
    """A throwaway redis-server on `port`, once it answers PING. With `data_dir`, every write
    is on disk before it is acknowledged (AOF, fsync always), so a restart keeps the data, as a
    managed Redis that fails over does; without, it keeps nothing."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed")
    args = [server, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    if data_dir is None:
        args += ["--appendonly", "no"]
    else:
        args += ["--appendonly", "yes", "--appendfsync", "always", "--dir", str(data_dir)]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    return proc
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                raise
            time.sleep(0.02)  # redis-server is starting: poll its port again
