"""Two OS processes racing on one tenant through the real Redis lose nothing, double nothing."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from bot.flows.effects import NotifyOps
from bot.state.store import RedisTenantStore
from tests.state.conftest import REDIS_URL, Backend
from tests.state.helpers import make_record

ROOT = Path(__file__).resolve().parents[2]
PER_WORKER = 25


async def start_worker(backend: Backend, worker: int) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.state.update_worker",
        REDIS_URL,
        backend.keys.prefix,
        "acme-x1y2",
        str(worker),
        str(PER_WORKER),
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_two_processes_racing_lose_nothing_and_apply_nothing_twice(
    real_backend: Backend,
) -> None:
    store = RedisTenantStore(real_backend.redis, real_backend.keys)
    initial = await store.create(make_record())
    workers = [await start_worker(real_backend, w) for w in (1, 2)]
    try:
        async with asyncio.timeout(60):
            for proc in workers:  # both connected before either starts
                assert proc.stdout is not None
                line = await proc.stdout.readline()
                assert line == b"ready\n", line + (await proc.stderr.read() if proc.stderr else b"")
            for proc in workers:
                assert proc.stdin is not None
                proc.stdin.write(b"go\n")
                await proc.stdin.drain()
            outputs = [await proc.communicate() for proc in workers]
    finally:
        for proc in workers:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    for proc, (out, err) in zip(workers, outputs, strict=True):
        assert proc.returncode == 0, err.decode()
        assert len(json.loads(out)) == PER_WORKER

    expected = {f"{w}:{i}" for w in (1, 2) for i in range(PER_WORKER)}
    record = await store.get("acme-x1y2")
    assert record is not None
    assert record.version == initial.version + 2 * PER_WORKER
    assert set(record.slack.review_card_ts.values()) == expected  # nothing lost

    audit = await store.audit("acme-x1y2", limit=1000)
    assert sorted(e.detail["tag"] for e in audit) == sorted(expected)  # nothing twice
    assert sorted(e.version or 0 for e in audit) == list(range(2, 2 + 2 * PER_WORKER))

    pending = await store.outbox.pending_effects("acme-x1y2", limit=1000)
    assert len(pending) == 2 * PER_WORKER
    assert len({p.effect_id for p in pending}) == 2 * PER_WORKER
    tags = [p.effect.params["tag"] for p in pending if isinstance(p.effect, NotifyOps)]
    assert sorted(tags) == sorted(expected)
