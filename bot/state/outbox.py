"""The outbox: effects written together with a change, carried out afterwards by the runner.

`RedisTenantStore.update` appends one stream entry per effect to the tenant's outbox, and adds
the tenant to the pending set, in the same MULTI as the change. So an effect exists if and only
if its change was committed, and a crash after the commit loses nothing.

How a runner (not part of this package) is meant to use these primitives:

    for tenant in await outbox.tenants_with_pending():
        for pending in await outbox.pending_effects(tenant):        # stream order
            claim = await outbox.claim(tenant, pending.effect_id, ttl)
            if claim is None:
                continue                                            # someone else has it
            try:
                ...carry out pending.effect...
            except SomeError as exc:
                n = await outbox.record_failure(tenant, pending.effect_id, str(exc))
                if n >= outbox.max_attempts:
                    await outbox.abandon(tenant, pending.stream_entry_id, str(exc))
            else:
                await outbox.mark_done(tenant, pending.stream_entry_id)

Delivery is at least once: a runner can crash after Slack accepted a message and before
`mark_done`, and a claim can expire while a slow call is still running. Every effect must
therefore be idempotent, keyed on its stable `effect_id` (`<record version>-<index>`), e.g.
update a message in place rather than post a second one.

A failed effect keeps its claim until the claim's ttl runs out, which spaces retries out;
`release_claim` retries sooner. The failure counter is the one write that is not protected
against a retried command: a dropped connection can make it count one failure twice.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from pydantic import TypeAdapter, ValidationError
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError

from bot.flows.effects import Effect
from bot.logs import redact
from bot.state.cas import MAX_CAS_ATTEMPTS, backoff, delete_if_equal, positive_ms
from bot.state.errors import Contention, CorruptOutboxEntry
from bot.state.keys import Keys
from bot.state.wire import StreamRow, as_bytes, begin_multi, opt_bytes, stream_rows, texts

_effect_adapter: TypeAdapter[Effect] = TypeAdapter(Effect)

# Abandoned effects are kept for people to look at, not forever.
DEAD_MAXLEN = 1000
MAX_ERROR_CHARS = 1000


def encode_effect(effect: Effect) -> bytes:
    return _effect_adapter.dump_json(effect)


@dataclass(frozen=True)
class PendingEffect:
    effect_id: str  # stable: `<record version>-<index>`
    stream_entry_id: str  # the outbox stream's id, for mark_done / abandon
    effect: Effect
    attempts: int  # failures recorded so far
    last_error: str | None = None


@dataclass(frozen=True)
class Claim:
    """Proof that this runner holds an effect; needed to extend or release it.

    `tries`: how many times a runner has started this effect, this one included; above one, an
    earlier start may have done part of it (a crash, a call that timed out). `results`: what
    earlier starts recorded (`record_result`), e.g. the ts of each message already posted.
    """

    tenant_id: str
    effect_id: str
    token: str
    tries: int = 1
    results: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AbandonedEffect:
    effect_id: str
    effect_json: str  # raw, as it may be an effect this release cannot read
    reason: str
    attempts: int


class RedisOutbox:
    def __init__(self, redis: Redis, keys: Keys, *, max_attempts: int = 5) -> None:
        self._redis = redis
        self._keys = keys
        # How many failures a runner should accept before abandoning an effect.
        self.max_attempts = max_attempts

    async def tenants_with_pending(self) -> list[str]:
        return texts(await self._redis.smembers(self._keys.outbox_pending()))

    async def pending_effects(self, tenant_id: str, limit: int = 100) -> list[PendingEffect]:
        """The tenant's effects not yet done, oldest first.

        Raises `CorruptOutboxEntry` for an entry this release cannot read; `abandon` it (with
        the entry id from the error) to let the others through.
        """
        outbox_key = self._keys.outbox(tenant_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.xrange(outbox_key, count=limit)
            pipe.hgetall(self._keys.outbox_attempts(tenant_id))
            pipe.hgetall(self._keys.outbox_errors(tenant_id))
            raw_rows, raw_attempts, raw_errors = await pipe.execute()
        attempts = {as_bytes(k): int(v) for k, v in raw_attempts.items()}
        errors = {as_bytes(k): as_bytes(v) for k, v in raw_errors.items()}
        pending = []
        for stream_entry_id, fields in stream_rows(raw_rows):
            raw_id, raw_effect = fields.get(b"effect_id"), fields.get(b"effect")
            if raw_id is None or raw_effect is None:
                raise CorruptOutboxEntry(
                    tenant_id, stream_entry_id, "missing effect_id or effect", key=outbox_key
                )
            try:
                effect = _effect_adapter.validate_json(raw_effect)
            except ValidationError as exc:
                first = exc.errors(include_input=False)[0]
                raise CorruptOutboxEntry(
                    tenant_id, stream_entry_id, f"effect: {first['msg']}", key=outbox_key
                ) from None
            error = errors.get(raw_id)
            pending.append(
                PendingEffect(
                    effect_id=raw_id.decode(),
                    stream_entry_id=stream_entry_id,
                    effect=effect,
                    attempts=attempts.get(raw_id, 0),
                    last_error=None if error is None else error.decode(errors="replace"),
                )
            )
        return pending

    async def claim(
        self,
        tenant_id: str,
        effect_id: str,
        ttl: timedelta,
        *,
        owner: str = "",
        reclaim: bool = False,
        entry: str | None = None,
    ) -> Claim | None:
        """Take the effect for `ttl` so no other runner runs it meanwhile.

        Returns None when another runner holds it, or when it is no longer in the outbox:
        checked under WATCH, so a runner working from a stale list cannot claim an effect
        another runner has just finished. The claim's token starts with `owner`; with `reclaim`,
        a claim this owner left behind (its call failed with Redis away, so it could not be
        released) is taken again rather than waited out.
        """
        ttl_ms = positive_ms(ttl)
        claim_key = self._keys.effect_claim(tenant_id, effect_id)
        token = f"{owner}:{uuid.uuid4().hex}"
        if entry is not None:
            someone, taken = await self._claim_at(
                tenant_id, effect_id, entry, claim_key, token, ttl_ms
            )
            if not someone or not (reclaim and owner):
                return taken  # taken, done already, or someone else's to finish
        for attempt in range(1, MAX_CAS_ATTEMPTS + 1):
            async with self._redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(self._keys.outbox(tenant_id), claim_key)
                    if await self._locate(pipe, tenant_id, effect_id) is None:
                        return None
                    held = opt_bytes(await pipe.get(claim_key))
                    ours = held is not None and held.decode(errors="replace").startswith(
                        f"{owner}:"
                    )
                    if held is not None and not (reclaim and owner and ours):
                        return None
                    begin_multi(pipe)
                    pipe.set(claim_key, token, px=ttl_ms)
                    pipe.hincrby(self._keys.outbox_tries(tenant_id), effect_id, 1)
                    pipe.hget(self._keys.outbox_results(tenant_id), effect_id)
                    _, tries, raw_results = await pipe.execute()
                    return Claim(tenant_id, effect_id, token, int(tries), _results(raw_results))
                except WatchError:
                    await backoff(attempt)
        raise Contention(tenant_id, MAX_CAS_ATTEMPTS)

    async def _claim_at(
        self, tenant_id: str, effect_id: str, entry: str, claim_key: str, token: str, ttl_ms: int
    ) -> tuple[bool, Claim | None]:
        """One round trip: the claim of the effect at stream id `entry` (the runner read it with
        the outbox), its starts and results. `(held, claim)`: `held` when someone holds it (the
        caller may then see whether it is its own, left behind); no claim when it is held or
        done already."""
        keys = self._keys
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xrange(keys.outbox(tenant_id), min=entry, max=entry)
            pipe.set(claim_key, token, nx=True, px=ttl_ms)
            pipe.hincrby(keys.outbox_tries(tenant_id), effect_id, 1)
            pipe.hget(keys.outbox_results(tenant_id), effect_id)
            rows, taken, tries, raw_results = await pipe.execute()
        found = stream_rows(rows)
        if not found or found[0][1].get(b"effect_id") != effect_id.encode():
            # Carried out by another runner since the list was read: undo what this wrote.
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hdel(keys.outbox_tries(tenant_id), effect_id)
                if taken:
                    pipe.delete(claim_key)
                await pipe.execute()
            return False, None
        if not taken:
            return True, None
        return False, Claim(tenant_id, effect_id, token, int(tries), _results(raw_results))

    async def extend_claim(self, claim: Claim, ttl: timedelta) -> bool:
        """Keep holding the effect while a slow call runs; False if the claim is no longer ours
        (it lapsed and another runner took it)."""
        key = self._keys.effect_claim(claim.tenant_id, claim.effect_id)
        for attempt in range(1, MAX_CAS_ATTEMPTS + 1):
            async with self._redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(key)
                    if opt_bytes(await pipe.get(key)) != claim.token.encode():
                        return False
                    begin_multi(pipe)
                    pipe.pexpire(key, positive_ms(ttl))
                    await pipe.execute()
                    return True
                except WatchError:
                    await backoff(attempt)
        return False

    async def record_result(self, claim: Claim, results: dict[str, str]) -> None:
        """Keep what the effect has produced so far (before anything that may fail after it),
        so that a retry of the effect does not do it again."""
        await self._redis.hset(
            self._keys.outbox_results(claim.tenant_id),
            claim.effect_id,
            json.dumps(results, separators=(",", ":")),
        )

    async def release_claim(self, claim: Claim) -> bool:
        """Give the effect back early; refused (False) if the claim expired or is not ours."""
        key = self._keys.effect_claim(claim.tenant_id, claim.effect_id)
        return await delete_if_equal(self._redis, key, claim.token.encode())

    async def record_failure(self, tenant_id: str, effect_id: str, error: str) -> int:
        """Count a failed attempt and keep its error text; returns the failures so far.

        Returns 0 (and records nothing) when the effect is no longer in the outbox.
        """
        for attempt in range(1, MAX_CAS_ATTEMPTS + 1):
            async with self._redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(self._keys.outbox(tenant_id))
                    if await self._locate(pipe, tenant_id, effect_id) is None:
                        return 0
                    begin_multi(pipe)
                    pipe.hincrby(self._keys.outbox_attempts(tenant_id), effect_id, 1)
                    pipe.hset(
                        self._keys.outbox_errors(tenant_id),
                        effect_id,
                        redact(error)[:MAX_ERROR_CHARS],
                    )
                    count, _ = await pipe.execute()
                    return int(count)
                except WatchError:
                    await backoff(attempt)
        raise Contention(tenant_id, MAX_CAS_ATTEMPTS)

    async def mark_done(
        self, tenant_id: str, stream_entry_id: str, effect_id: str | None = None
    ) -> bool:
        """Remove a carried-out effect (XDEL), with its claim, failure count, starts and results.

        With the `effect_id` (the runner has it), one round trip. When it was the last one,
        the tenant leaves the pending set, and is put back if an effect was added meanwhile
        (`_settle_pending`). Returns whether the entry was still there.
        """
        if effect_id is None:
            return await self._remove(tenant_id, stream_entry_id, dead_reason=None)
        keys = self._keys
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xdel(keys.outbox(tenant_id), stream_entry_id)
            pipe.hdel(keys.outbox_attempts(tenant_id), effect_id)
            pipe.hdel(keys.outbox_errors(tenant_id), effect_id)
            pipe.hdel(keys.outbox_tries(tenant_id), effect_id)
            pipe.hdel(keys.outbox_results(tenant_id), effect_id)
            pipe.delete(keys.effect_claim(tenant_id, effect_id))
            pipe.xlen(keys.outbox(tenant_id))
            answers = await pipe.execute()
        if int(answers[-1]) == 0:
            await self._settle_pending(tenant_id)
        return bool(answers[0])

    async def abandon(self, tenant_id: str, stream_entry_id: str, reason: str) -> bool:
        """Give up on an effect: move it to the tenant's dead-letter stream for people to see."""
        return await self._remove(tenant_id, stream_entry_id, dead_reason=reason)

    async def abandoned(self, tenant_id: str, limit: int = 100) -> list[AbandonedEffect]:
        """Effects given up on, newest last."""
        rows = stream_rows(
            await self._redis.xrevrange(self._keys.outbox_dead(tenant_id), count=limit)
        )
        return [
            AbandonedEffect(
                effect_id=fields.get(b"effect_id", b"").decode(errors="replace"),
                effect_json=fields.get(b"effect", b"").decode(errors="replace"),
                reason=fields.get(b"reason", b"").decode(errors="replace"),
                attempts=int(fields.get(b"attempts", b"0")),
            )
            for _id, fields in reversed(rows)
        ]

    async def _remove(self, tenant_id: str, stream_entry_id: str, dead_reason: str | None) -> bool:
        keys = self._keys
        outbox_key = keys.outbox(tenant_id)
        for attempt in range(1, MAX_CAS_ATTEMPTS + 1):
            async with self._redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(outbox_key)
                    rows = stream_rows(
                        await pipe.xrange(outbox_key, min=stream_entry_id, max=stream_entry_id)
                    )
                    remaining = int(await pipe.xlen(outbox_key)) - len(rows)
                    effect_id = rows[0][1].get(b"effect_id") if rows else None
                    attempts = 0
                    if effect_id is not None and dead_reason is not None:
                        found = await pipe.hget(keys.outbox_attempts(tenant_id), effect_id)
                        attempts = int(opt_bytes(found) or 0)
                    begin_multi(pipe)
                    if rows:
                        if dead_reason is not None:
                            fields = rows[0][1]
                            pipe.xadd(
                                keys.outbox_dead(tenant_id),
                                {
                                    b"effect_id": fields.get(b"effect_id", b""),
                                    b"effect": fields.get(b"effect", b""),
                                    b"reason": redact(dead_reason)[:MAX_ERROR_CHARS],
                                    b"attempts": attempts,
                                },
                                maxlen=DEAD_MAXLEN,
                                approximate=True,
                            )
                        pipe.xdel(outbox_key, stream_entry_id)
                    if effect_id is not None:
                        pipe.hdel(keys.outbox_attempts(tenant_id), effect_id)
                        pipe.hdel(keys.outbox_errors(tenant_id), effect_id)
                        pipe.hdel(keys.outbox_tries(tenant_id), effect_id)
                        pipe.hdel(keys.outbox_results(tenant_id), effect_id)
                        pipe.delete(keys.effect_claim(tenant_id, effect_id.decode()))
                    await pipe.execute()
                    if remaining <= 0:
                        await self._settle_pending(tenant_id)
                    return bool(rows)
                except WatchError:
                    await backoff(attempt)
        raise Contention(tenant_id, MAX_CAS_ATTEMPTS)

    async def _settle_pending(self, tenant_id: str) -> None:
        """Take an emptied outbox's tenant out of the pending set (another slot than the
        outbox, so not in its transaction): remove, then look again, and put it back if an
        effect arrived meanwhile (writers announce theirs after they commit)."""
        keys = self._keys
        await self._redis.srem(keys.outbox_pending(), tenant_id)
        if await self._redis.xlen(keys.outbox(tenant_id)):
            await self._redis.sadd(keys.outbox_pending(), tenant_id)

    async def _locate(self, pipe: Pipeline, tenant_id: str, effect_id: str) -> str | None:
        """The stream id of `effect_id` in the outbox (read under the caller's WATCH)."""
        wanted = effect_id.encode()
        rows: list[StreamRow] = stream_rows(await pipe.xrange(self._keys.outbox(tenant_id)))
        for entry_id, fields in rows:
            if fields.get(b"effect_id") == wanted:
                return entry_id
        return None


def _results(raw: bytes | None) -> dict[str, str]:
    """What an earlier start of an effect recorded; nothing when unreadable (then the effect
    is done again, as before results were kept)."""
    if raw is None:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items()}
