"""A separate OS process that updates one tenant N times, for the cross-process CAS test.

Usage: python -m tests.state.update_worker URL PREFIX TENANT WORKER N
Prints "ready", waits for a line on stdin (so both workers start together), does N updates,
and prints the number of attempts each update took, as JSON.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable

from bot.flows.effects import NotifyOps
from bot.flows.model import Actor, ActorRole
from bot.state.connection import create_redis
from bot.state.keys import Keys
from bot.state.records import AuditEntry, TenantRecord
from bot.state.store import Change, RedisTenantStore


def add_round(worker: int, i: int) -> Callable[[TenantRecord], Change]:
    """One update: a distinct review-card round in the record, one audit entry, one effect."""
    round_no = worker * 1000 + i
    tag = f"{worker}:{i}"

    def apply(record: TenantRecord) -> Change:
        cards = {**record.slack.review_card_ts, round_no: tag}
        slack = record.slack.model_copy(update={"review_card_ts": cards})
        actor = Actor(user_id=f"UWORKER{worker}", role=ActorRole.SYSTEM)
        return Change(
            record.model_copy(update={"slack": slack}),
            effects=[NotifyOps(message="test.increment", params={"tag": tag})],
            audit=[AuditEntry(actor=actor, event="test.increment", detail={"tag": tag})],
        )

    return apply


async def main(url: str, prefix: str, tenant_id: str, worker: int, count: int) -> None:
    redis = create_redis(url)
    try:
        store = RedisTenantStore(redis, Keys(prefix))
        await redis.ping()
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        attempts = [
            (await store.update(tenant_id, add_round(worker, i))).attempts for i in range(count)
        ]
        print(json.dumps(attempts), flush=True)
    finally:
        await redis.aclose()


if __name__ == "__main__":
    url, prefix, tenant, worker, count = sys.argv[1:6]
    asyncio.run(main(url, prefix, tenant, int(worker), int(count)))
