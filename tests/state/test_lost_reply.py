"""A write whose EXEC or script reached Redis but whose reply was lost is not applied twice.

The connection "drops" right after EXEC ran; redis-py turns that into `WatchError` because
keys were watched, and the store must recognise its own write instead of applying again. On a
Redis Cluster the client would send the MULTI/EXEC again on a new connection, without the WATCH
(so applying it twice); `bot.state.connection` makes it report `WatchError` instead. A
compare-and-set script (EVALSHA) whose reply is lost is sent again by the client: its second run
finds the record it wrote, refuses, and answers it, and the store returns its write.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.asyncio.cluster import ClusterNode
from redis.exceptions import ConnectionError as RedisConnectionError

from bot.flows.model import Step
from bot.state.records import TenantRecord
from bot.state.store import Change, RedisTenantStore
from tests.state.conftest import Backend
from tests.state.helpers import advance_to, make_record, note


@pytest.fixture
def drop_next_exec_reply(monkeypatch: pytest.MonkeyPatch, backend: Backend) -> Iterator[list[int]]:
    """Arm with `armed.append(1)`: the next MULTI/EXEC or script (EVALSHA) reaches the server
    and runs there, then the connection fails while its reply is being read (a reply lost on
    the way back)."""
    armed: list[int] = []
    if backend.name == "cluster":
        original_node_parse = ClusterNode.parse_response

        async def node_parse(self: ClusterNode, connection: Any, command: Any, **kw: Any) -> Any:
            reply = await original_node_parse(self, connection, command, **kw)
            if command in ("EXEC", "EVALSHA") and armed:
                armed.pop()
                raise RedisConnectionError("connection reset before EXEC's reply (simulated)")
            return reply

        with monkeypatch.context() as patch:
            patch.setattr(ClusterNode, "parse_response", node_parse)
            yield armed
        return
    original_exec = Pipeline._execute_transaction
    original_parse = Pipeline.parse_response
    original_client_parse = Redis.parse_response
    replies_left: dict[int, int] = {}  # pipeline id -> replies to read before the lost one

    async def exec_transaction(self: Pipeline, connection: Any, commands: Any, *rest: Any) -> Any:
        if armed:
            armed.pop()
            replies_left[id(self)] = len(commands) + 1  # MULTI's and each QUEUED
        return await original_exec(self, connection, commands, *rest)

    async def parse_response(self: Pipeline, *args: Any, **kwargs: Any) -> Any:
        left = replies_left.get(id(self))
        if left is not None:
            if left == 0:
                del replies_left[id(self)]
                raise RedisConnectionError("connection reset before EXEC's reply (simulated)")
            replies_left[id(self)] = left - 1
        return await original_parse(self, *args, **kwargs)

    async def client_parse(self: Redis, connection: Any, command: Any, **kwargs: Any) -> Any:
        reply = await original_client_parse(self, connection, command, **kwargs)
        if command == "EVALSHA" and armed and not isinstance(self, Pipeline):
            armed.pop()
            raise RedisConnectionError("connection reset before the script's reply (simulated)")
        return reply

    with monkeypatch.context() as patch:
        patch.setattr(Pipeline, "_execute_transaction", exec_transaction)
        patch.setattr(Pipeline, "parse_response", parse_response)
        patch.setattr(Redis, "parse_response", client_parse)
        yield armed


async def test_update_with_a_lost_reply_is_applied_once(
    store: RedisTenantStore, drop_next_exec_reply: list[int]
) -> None:
    await store.create(make_record())
    calls: list[int] = []

    def apply(record: TenantRecord) -> Change:
        calls.append(record.version)
        return advance_to(Step.REAL_NAME, note("once"))(record)

    drop_next_exec_reply.append(1)
    result = await store.update("acme-x1y2", apply)

    assert not drop_next_exec_reply, "the simulated failure did not happen"
    assert calls == [1]
    assert result.changed and result.record.version == 2 and result.effect_ids == ("2-0",)
    assert result.attempts == 2
    stored = await store.get("acme-x1y2")
    assert stored == result.record
    assert len(await store.audit("acme-x1y2")) == 1
    assert [p.effect_id for p in await store.outbox.pending_effects("acme-x1y2")] == ["2-0"]


async def test_create_with_a_lost_reply_is_not_reported_as_taken(
    store: RedisTenantStore, drop_next_exec_reply: list[int]
) -> None:
    drop_next_exec_reply.append(1)
    created = await store.create(make_record(), effects=[note("welcome")])
    assert not drop_next_exec_reply
    assert await store.get("acme-x1y2") == created
    assert len(await store.outbox.pending_effects("acme-x1y2")) == 1
