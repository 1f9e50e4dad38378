"""The outbox: effects written together with a change, carried out afterwards by the runner.

`RedisTenantStore.update` appends one stream entry per effect to the tenant's outbox in the same
compare-and-set script as the change, and adds the tenant to the pending set (in that script on
one Redis, right after it on a cluster). So an effect exists if and only if its change was
committed, and a crash after the commit loses nothing.

How a runner (not part of this package) is meant to use these primitives:

    for tenant in await outbox.tenants_with_pending():
        for pending in await outbox.pending_effects(tenant):        # stream order
            claim = await outbox.claim(tenant, pending.effect_id, ttl,
                                       entry=pending.stream_entry_id)
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
import time
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from pydantic import TypeAdapter, ValidationError
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import WatchError

from bot.flows.effects import Effect
from bot.logs import redact
from bot.state.cas import MAX_CAS_ATTEMPTS, backoff, positive_ms
from bot.state.errors import Contention, CorruptOutboxEntry
from bot.state.keys import Keys
from bot.state.records import text_fields
from bot.state.scripts import Scripts
from bot.state.wire import StreamRow, as_bytes, begin_multi, opt_bytes, stream_rows, texts

_effect_adapter: TypeAdapter[Effect] = TypeAdapter(Effect)

# Abandoned effects are kept for people to look at, not forever.
DEAD_MAXLEN = 1000
MAX_ERROR_CHARS = 1000
# A hint of what a tenant's outbox holds (`RedisOutbox.hint`) is for the drain that follows
# the write at once; an older one is not used.
HINT_SECONDS = 5.0
HINTS_KEPT = 4096


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
    # With `claim(read_record=True)`: the tenant's record as stored when the claim was taken
    # (None: there is none) and its `messages` hash, read in the same step.
    record: bytes | None = None
    messages: dict[str, str] = field(default_factory=dict)


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
        self._scripts = Scripts(redis)
        # One Redis (not a cluster): the pending set is in reach of a tenant's scripts.
        self._ordered = not isinstance(redis, RedisCluster)
        self._hints: OrderedDict[str, tuple[float, list[PendingEffect]]] = OrderedDict()

    def hint(
        self,
        tenant_id: str,
        stream_ids: Sequence[str],
        effect_ids: Sequence[str],
        effects: Sequence[Effect],
    ) -> None:
        """What the tenant's outbox holds, as the write that just added these effects found it
        (nothing else), for this process's next drain of it; nothing forgets an earlier hint."""
        self._hints.pop(tenant_id, None)
        if not effects:
            return
        pending = [
            PendingEffect(effect_id=e, stream_entry_id=s, effect=effect, attempts=0)
            for s, e, effect in zip(stream_ids, effect_ids, effects, strict=True)
        ]
        self._hints[tenant_id] = (time.monotonic(), pending)
        while len(self._hints) > HINTS_KEPT:
            self._hints.popitem(last=False)

    def take_hint(self, tenant_id: str) -> list[PendingEffect] | None:
        """The effects a write of this process left in the tenant's outbox just now, if it
        knows them all (else None: read the outbox). Taken once. It can be out of date (another
        replica did them): a claim of one that is gone finds that out."""
        found = self._hints.pop(tenant_id, None)
        if found is None or time.monotonic() - found[0] > HINT_SECONDS:
            return None
        return found[1]

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
        read_record: bool = False,
    ) -> Claim | None:
        """Take the effect for `ttl` so no other runner runs it meanwhile.

        Returns None when another runner holds it, or when it is no longer in the outbox:
        checked under WATCH, so a runner working from a stale list cannot claim an effect
        another runner has just finished. The claim's token starts with `owner`; with `reclaim`,
        a claim this owner left behind (its call failed with Redis away, so it could not be
        released) is taken again rather than waited out.

        With the effect's stream id (`entry`, as the runner read it), one round trip that looks
        at that one entry, not the whole stream; with `read_record`, it also reads the tenant's
        record and `messages` hash as they are at the claim (the runner's view of the tenant).
        """
        ttl_ms = positive_ms(ttl)
        claim_key = self._keys.effect_claim(tenant_id, effect_id)
        token = f"{owner}:{uuid.uuid4().hex}"
        if entry is not None:
            return await self._claim_at(
                tenant_id,
                effect_id,
                entry,
                token,
                ttl_ms,
                reclaim=f"{owner}:" if reclaim and owner else "",
                read_record=read_record,
            )
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
        self,
        tenant_id: str,
        effect_id: str,
        entry: str,
        token: str,
        ttl_ms: int,
        *,
        reclaim: str,
        read_record: bool,
    ) -> Claim | None:
        """One round trip (`bot.state.scripts.CLAIM`): the claim of the effect at stream id
        `entry`, its starts and results (and the tenant's record): None when it is done
        already, or held by someone (other than a claim of `reclaim`'s owner)."""
        keys = self._keys
        answer = await self._scripts.claim(
            keys=[
                keys.outbox(tenant_id),
                keys.effect_claim(tenant_id, effect_id),
                keys.outbox_tries(tenant_id),
                keys.outbox_results(tenant_id),
                keys.record(tenant_id),
                keys.messages(tenant_id),
            ],
            args=[entry, effect_id, token, ttl_ms, reclaim, "1" if read_record else "0"],
        )
        if int(answer[0]) != 2:
            return None
        tries, raw_results = int(answer[1]), opt_bytes(answer[2]) or None
        claim = Claim(tenant_id, effect_id, token, tries, _results(raw_results))
        if not read_record:
            return claim
        record, raw = opt_bytes(answer[3]) or None, answer[4]
        pairs = raw.items() if isinstance(raw, dict) else zip(raw[::2], raw[1::2], strict=True)
        return Claim(
            tenant_id,
            effect_id,
            token,
            tries,
            claim.results,
            record=record,
            messages=text_fields(dict(pairs)),
        )

    async def extend_claim(self, claim: Claim, ttl: timedelta) -> bool:
        """Keep holding the effect while a slow call runs; False if the claim is no longer ours
        (it lapsed and another runner took it). One round trip."""
        key = self._keys.effect_claim(claim.tenant_id, claim.effect_id)
        done = await self._scripts.if_equal(
            keys=[key], args=[claim.token.encode(), positive_ms(ttl)]
        )
        return bool(done)

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
        return bool(await self._scripts.if_equal(keys=[key], args=[claim.token.encode(), "del"]))

    async def record_failure(
        self, tenant_id: str, effect_id: str, error: str, *, entry: str | None = None
    ) -> int:
        """Count a failed attempt and keep its error text; returns the failures so far.

        Returns 0 (and records nothing) when the effect is no longer in the outbox. With the
        effect's stream id (`entry`), one round trip that looks at that entry only.
        """
        if entry is not None:
            keys = self._keys
            count = await self._scripts.failed(
                keys=[
                    keys.outbox(tenant_id),
                    keys.outbox_attempts(tenant_id),
                    keys.outbox_errors(tenant_id),
                ],
                args=[entry, effect_id, redact(error)[:MAX_ERROR_CHARS]],
            )
            return int(count)
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
        self,
        tenant_id: str,
        stream_entry_id: str,
        effect_id: str | None = None,
        *,
        messages: dict[str, str] | None = None,
    ) -> bool:
        """Remove a carried-out effect (XDEL), with its claim, failure count, starts and results.

        With the `effect_id` (the runner has it), see `done`. When it was the last one, the
        tenant leaves the pending set, and is put back if an effect was added meanwhile
        (`settle_pending`). Returns whether the entry was still there.
        """
        if effect_id is None:
            return await self._remove(tenant_id, stream_entry_id, dead_reason=None)
        removed, _left = await self.done(tenant_id, stream_entry_id, effect_id, messages)
        return removed

    async def done(
        self,
        tenant_id: str,
        stream_entry_id: str,
        effect_id: str,
        messages: dict[str, str] | None = None,
    ) -> tuple[bool, int]:
        """`mark_done` of the runner: also keeps the message ts the effect produced (`messages`
        fields as `RedisTenantStore.remember` writes them, while the tenant exists), in one
        round trip on one Redis (on a cluster, the pending set is another slot's: one more when
        the outbox is empty). Returns whether the entry was still there, and how many entries
        the outbox holds now."""
        keys = self._keys
        script_keys = [
            keys.outbox(tenant_id),
            keys.outbox_attempts(tenant_id),
            keys.outbox_errors(tenant_id),
            keys.outbox_tries(tenant_id),
            keys.outbox_results(tenant_id),
            keys.effect_claim(tenant_id, effect_id),
            keys.record(tenant_id),
            keys.messages(tenant_id),
        ]
        if self._ordered:
            script_keys.append(keys.outbox_pending())
        args = [stream_entry_id, effect_id, tenant_id]
        for pair in (messages or {}).items():
            args += pair
        removed, left = await self._scripts.done(keys=script_keys, args=args)
        if int(left) == 0 and not self._ordered:
            await self.settle_pending(tenant_id)
        return bool(removed), int(left)

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
                        await self.settle_pending(tenant_id)
                    return bool(rows)
                except WatchError:
                    await backoff(attempt)
        raise Contention(tenant_id, MAX_CAS_ATTEMPTS)

    async def settle_pending(self, tenant_id: str) -> None:
        """Take an emptied outbox's tenant out of the pending set (another slot than the
        outbox, so not in its transaction): remove, then look again, and put it back if an
        effect arrived meanwhile (writers announce theirs after they commit). Safe whenever the
        outbox looked empty: at worst the tenant is put back."""
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
