"""Tenant records in Redis: create, read, compare-and-set update, indexes, audit, purge.

Every change to a tenant is ONE compare-and-set script (`bot.state.scripts.COMPARE_AND_SET`):
it writes the record, its audit entries, the effects for the outbox and the message ts the
change moved, only if the record still holds the bytes the change was computed from (bytes
that hold `version`, the compare-and-set counter) and the tenant's `messages` hash its serial.
Otherwise it writes nothing and answers the record and the hash as they are, which the next
attempt applies to: a retry needs no read of its own. Attempts are bounded (`max_attempts`)
and spaced by a short jittered wait. The record a process last read or wrote is kept in
memory with its bytes (`_seen`), so an update usually sends its script without reading first:
when it was stale, the refusal is the read.

All those keys share the hash tag `{tenant_id}`, so the script stays in one Redis Cluster slot.
The global indexes (tenant set, per-step sets, last-activity and other sorted sets, owner sets,
the outbox-pending set) and channel bindings live in other slots. On one Redis, an update's
index entries are written by its script, with the record, from the record it replaced. On a
cluster they are written right after, by the same call, from the record as stored (idempotent
SADD/SREM/ZADD of its current values, written again if the record changed meanwhile), so a
call returns with them up to date; a replica that dies between its commit and that write
leaves them one write behind until the next sweep, whose reconciler (`rebuild_indexes`)
recomputes them from the records. A channel binding is taken after the tenant's record is
written (a compare-and-set on the binding alone); a create that finds the channel taken takes
its record back (and writes its index entries only once the channel is bound).

The embedded store (no `REDIS_URL`) is this same class on `fakeredis.FakeAsyncRedis` (its
scripts run by lupa, `fakeredis[lua]`), and a Redis Cluster (`redis+cluster://`) is the same
class on `RedisCluster`: one implementation and one set of tests. No query here scans the
keyspace except the reconciler.

Retries and "apply nothing twice": if the connection drops while the script is in flight, the
client sends it again; the second run finds our own bytes and message ts, refuses, and answers
them, and we return the write instead of applying again (bytes alone are not enough: another
process can write the same bytes, and different message ts, in the same microsecond). Only if
another writer changed the record or those ts in that same instant could `apply` run on top of
our own lost-reply write; transitions of the flow are guarded by the current step, which makes
such a repeat fail loudly rather than double up.
"""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import TypeAdapter, ValidationError
from pydantic_core import PydanticSerializationError
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.exceptions import WatchError

from bot.flows.effects import Effect
from bot.flows.model import Step
from bot.ids import is_tenant_id
from bot.state.cas import MAX_CAS_ATTEMPTS, backoff, backoff_exponential, delete_if_equal
from bot.state.commits import committed
from bot.state.errors import (
    ChannelAlreadyBound,
    Contention,
    CorruptRecord,
    InvalidChange,
    TenantExists,
    TenantNotFound,
    UnknownSchemaVersion,
)
from bot.state.keys import Keys
from bot.state.outbox import RedisOutbox, encode_effect
from bot.state.records import (
    REFS_SERIAL,
    AuditEntry,
    SlackRefs,
    TenantRecord,
    decode_audit,
    decode_record,
    encode_record,
    refs_changes,
    refs_update,
    stored_json,
    text_fields,
    utcnow,
    with_refs,
)
from bot.state.scripts import Scripts
from bot.state.wire import as_bytes, as_text, begin_multi, opt_bytes, scored, stream_rows, texts

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

# The audit stream is for people reading a tenant's history; a few thousand entries cover
# an onboarding many times over. `~` trimming keeps XADD cheap.
AUDIT_MAXLEN = 5000
# The purge log outlives the tenants it names; ten thousand purges is years of them.
PURGE_LOG_MAXLEN = 10_000

# How many tenants' last-seen records a process keeps to send an update without reading first
# (about 10 kB each in memory): the read that checks who may act comes just before the update.
SEEN_RECORDS = 1024

_record_adapter: TypeAdapter[TenantRecord] = TypeAdapter(TenantRecord)
_NO_REFS = SlackRefs()


@dataclass(frozen=True)
class _Seen:
    """A record as this process last read or wrote it: its stored bytes, its `messages` hash,
    and the record with the hash applied (never handed out: callers get copies)."""

    data: bytes
    fields: dict[str, str]
    record: TenantRecord

    @property
    def serial(self) -> str:
        return self.fields.get(REFS_SERIAL, "")


class _IndexWriter(Protocol):
    """What index writes need of a pipeline (`_Ops` collects them for a script instead)."""

    def sadd(self, name: str, *values: str) -> Any: ...

    def srem(self, name: str, *values: str) -> Any: ...

    def zadd(self, name: str, mapping: Mapping[str, float]) -> Any: ...

    def zrem(self, name: str, *values: str) -> Any: ...


class _Ops:
    """Index writes collected for the compare-and-set script (one Redis: it writes them with
    the record)."""

    def __init__(self) -> None:
        self.ops: list[tuple[str, str, str, str]] = []

    def sadd(self, name: str, *values: str) -> None:
        self.ops.extend(("sadd", name, v, "") for v in values)

    def srem(self, name: str, *values: str) -> None:
        self.ops.extend(("srem", name, v, "") for v in values)

    def zadd(self, name: str, mapping: Mapping[str, float]) -> None:
        self.ops.extend(("zadd", name, m, repr(float(score))) for m, score in mapping.items())

    def zrem(self, name: str, *values: str) -> None:
        self.ops.extend(("zrem", name, v, "") for v in values)

    def __len__(self) -> int:
        return len(self.ops)


@dataclass(frozen=True)
class Change:
    """What `apply` wants written: the new record, the effects to carry out, what to audit.

    `touch_activity=False` keeps `last_activity_at` as it was, for writes that are not progress
    (a reminder sent by the stalled-onboarding sweep must not reset the staleness clock).
    """

    record: TenantRecord
    effects: Sequence[Effect] = ()
    audit: Sequence[AuditEntry] = ()
    touch_activity: bool = True
    # When the change finishes a step: the business seconds it took (for the summary's
    # median per step; the caller knows the business calendar, the store does not).
    step_seconds: float | None = None


@dataclass(frozen=True)
class _Sent:
    """What an update's last script sent (to recognise it landed when its reply was lost)."""

    payload: bytes
    old: TenantRecord
    new: TenantRecord
    effect_ids: tuple[str, ...]
    step_seconds: float | None
    sets: Mapping[str, str]  # what it set and deleted in the `messages` hash
    dels: Sequence[str]

    def landed(self, seen: _Seen) -> bool:
        """Whether `seen` is what this script wrote. The record's bytes alone do not say: a
        change that only moves message ts leaves bytes that differ by `updated_at` alone, and
        another process can write the same bytes in the same microsecond."""
        return (
            seen.data == self.payload
            and all(seen.fields.get(k) == v for k, v in self.sets.items())
            and not any(k in seen.fields for k in self.dels)
        )


@dataclass(frozen=True)
class UpdateResult:
    record: TenantRecord  # as stored after the call
    changed: bool  # False when `apply` returned None
    effect_ids: tuple[str, ...] = ()
    attempts: int = 1


@dataclass(frozen=True)
class SlackFile:
    """A file in Slack that a tenant's record refers to (a document, the call script)."""

    file_id: str
    name: str


@dataclass(frozen=True)
class Purged:
    """What `RedisTenantStore.purge` removed."""

    existed: bool  # the tenant had a record (readable or not)
    company: str | None = None
    files: tuple[SlackFile, ...] = ()  # to be deleted in Slack by the caller


@dataclass(frozen=True)
class IndexFigures:
    """What the indexes say about all onboardings (`RedisTenantStore.figures`)."""

    per_step: dict[Step, int]
    stalled_per_step: dict[Step, int]
    median_seconds: dict[Step, float | None]  # business seconds per finished step
    live_this_week: int
    live_total: int
    per_owner: dict[str, int]  # onboardings in progress per SE


@dataclass(frozen=True)
class IndexReport:
    """What `rebuild_indexes` found."""

    tenants: int
    corrupt: tuple[str, ...] = ()  # unreadable records (corrupt or unknown schema): left alone
    stale_channels_removed: int = 0
    orphans_removed: tuple[str, ...] = ()  # indexed tenant ids without a record


Apply = Callable[[TenantRecord], Change | None]


class TenantStore(Protocol):
    """What flows and handlers need from tenant storage."""

    async def create(
        self,
        record: TenantRecord,
        effects: Sequence[Effect] = (),
        audit: Sequence[AuditEntry] = (),
    ) -> TenantRecord: ...

    async def get(self, tenant_id: str) -> TenantRecord | None: ...

    async def get_many(
        self, tenant_ids: Sequence[str], *, skip_corrupt: bool = False
    ) -> dict[str, TenantRecord]: ...

    async def tenant_for_channel(self, channel_id: str) -> str | None: ...

    async def update(self, tenant_id: str, apply: Apply) -> UpdateResult: ...

    async def audit(self, tenant_id: str, limit: int = 100) -> list[AuditEntry]: ...

    async def counts_by_step(self) -> dict[Step, int]: ...

    async def tenants_at(self, step: Step) -> list[str]: ...

    async def stale_since(
        self, cutoff: datetime, limit: int = 100
    ) -> list[tuple[str, datetime]]: ...

    async def all_tenant_ids(self) -> list[str]: ...

    async def purge(self, tenant_id: str, *, actor: str | None = None) -> Purged: ...


class RedisTenantStore:
    """`TenantStore` over a `redis.asyncio.Redis` (real, or fakeredis for the embedded store)."""

    def __init__(
        self,
        redis: Redis,
        keys: Keys | None = None,
        *,
        clock: Clock = utcnow,
        max_attempts: int = MAX_CAS_ATTEMPTS,
        audit_maxlen: int = AUDIT_MAXLEN,
        max_effect_attempts: int = 5,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._redis = redis
        self._keys = keys or Keys()
        self._clock = clock
        self._max_attempts = max_attempts
        self._audit_maxlen = audit_maxlen
        self.outbox = RedisOutbox(redis, self._keys, max_attempts=max_effect_attempts)
        # Whether a pipeline's commands run in the order sent (one Redis, not a cluster).
        self._ordered = not isinstance(redis, RedisCluster)
        # A tenant's updates from this process go one at a time: racing ourselves would only
        # make compare-and-set retries (and `Contention`) out of what can simply wait its turn.
        self._turns: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._scripts = Scripts(redis)
        self._seen: OrderedDict[str, _Seen] = OrderedDict()

    @property
    def keys(self) -> Keys:
        return self._keys

    @property
    def max_attempts(self) -> int:
        """How many compare-and-set attempts an update makes before `Contention`."""
        return self._max_attempts

    # -- create / read ----------------------------------------------------------------------

    async def create(
        self,
        record: TenantRecord,
        effects: Sequence[Effect] = (),
        audit: Sequence[AuditEntry] = (),
    ) -> TenantRecord:
        """Store a new tenant and bind its channel, atomically.

        Raises `ChannelAlreadyBound` (naming the tenant that holds the channel) or
        `TenantExists`. The store sets `version` to 1 and all three timestamps to now.
        """
        tenant_id = record.tenant_id
        now = self._now()
        new = record.model_copy(
            update={"version": 1, "created_at": now, "updated_at": now, "last_activity_at": now}
        )
        payload = self._encode_checked(new)
        # Looked at before the script takes a connection: a second connection asked for while
        # holding one would starve the pool when as many creates run as it has.
        await self._check_channel_free(new.channel_id, tenant_id)
        sets, dels = refs_changes({}, new.slack)
        outcome = await self._compare_and_set(
            new, None, payload, audit, effects, sets, dels, _Ops(), serial="*"
        )
        if outcome[0] is not None:
            ids, length = outcome[0]
            self._hint(tenant_id, effects, ids, length, new.version)
            self._keep(tenant_id, _Seen(payload, sets, new.model_copy(deep=True)))
        elif outcome[1] is None or outcome[1][0] != payload:
            raise TenantExists(tenant_id)
        # (else an earlier run landed; its reply was lost and the client sent it again)
        # The record is written first, so a binding always names a tenant that was written:
        # of two creates racing for one channel, the one that binds second takes its own
        # record back (nothing was announced for it yet) and is told the channel is taken.
        try:
            await self._bind_channel(new.channel_id, tenant_id)
        except ChannelAlreadyBound:
            await self._take_back(tenant_id, payload)
            raise
        await self._after_write(None, new, payload, announce=bool(effects))
        await committed()
        return new

    async def get(self, tenant_id: str) -> TenantRecord | None:
        stored = await self._read_stored(tenant_id)
        if stored is None:
            self._seen.pop(tenant_id, None)
            return None
        return self._decode(tenant_id, *stored)

    def seen_as(self, tenant_id: str, data: bytes, fields: dict[str, str]) -> TenantRecord:
        """The record stored as `data` with its `messages` hash (read by someone else, e.g.
        the outbox with a claim), kept as this process's latest look at it."""
        return self._decode(tenant_id, data, fields)

    def _decode(self, tenant_id: str, data: bytes, fields: dict[str, str]) -> TenantRecord:
        seen = self._seen.get(tenant_id)
        if seen is not None and seen.data == data and seen.fields == fields:
            self._seen.move_to_end(tenant_id)
            return seen.record.model_copy(deep=True)
        record = with_refs(decode_record(tenant_id, data, key=self._keys.record(tenant_id)), fields)
        self._keep(tenant_id, _Seen(data, fields, record.model_copy(deep=True)))
        return record

    def _keep(self, tenant_id: str, seen: _Seen) -> None:
        self._seen[tenant_id] = seen
        self._seen.move_to_end(tenant_id)
        while len(self._seen) > SEEN_RECORDS:
            self._seen.popitem(last=False)

    async def get_many(
        self, tenant_ids: Sequence[str], *, skip_corrupt: bool = False
    ) -> dict[str, TenantRecord]:
        """The records that exist, in the order asked, in one round trip.

        An unreadable record (corrupt, or of an unknown schema version) raises, or with
        `skip_corrupt` is logged and left out (for exports and summaries, where one bad tenant
        must not hide all the others).
        """
        ids = list(dict.fromkeys(tenant_ids))
        async with self._redis.pipeline(transaction=False) as pipe:
            for tenant_id in ids:
                pipe.get(self._keys.record(tenant_id))
                pipe.hgetall(self._keys.messages(tenant_id))
            values = await pipe.execute()
        found: dict[str, TenantRecord] = {}
        for n, tenant_id in enumerate(ids):
            data = opt_bytes(values[2 * n])
            if data is None:
                continue
            fields = text_fields(values[2 * n + 1])
            try:
                found[tenant_id] = with_refs(
                    decode_record(tenant_id, data, key=self._keys.record(tenant_id)), fields
                )
            except (CorruptRecord, UnknownSchemaVersion) as exc:
                if not skip_corrupt:
                    raise
                log.error("skipping unreadable tenant: %s", exc)
        return found

    async def tenant_for_channel(self, channel_id: str) -> str | None:
        value = opt_bytes(await self._redis.get(self._keys.channel(channel_id)))
        return None if value is None else value.decode()

    async def remember(self, tenant_id: str, refs: dict[str, object]) -> None:
        """Keep the ts of messages the bot will update in place (`SlackRefs` fields), beside
        the record: no new version of it, no index write. Raises `TenantNotFound`, or
        `ValidationError` for a value `SlackRefs` refuses."""
        fields = refs_update(refs)
        if not fields:
            return
        keys = [self._keys.record(tenant_id), self._keys.messages(tenant_id)]
        args = [x for pair in fields.items() for x in pair]
        if not await self._scripts.remember(keys=keys, args=args):
            self._seen.pop(tenant_id, None)
            raise TenantNotFound(tenant_id)

    # -- update -----------------------------------------------------------------------------

    async def update(self, tenant_id: str, apply: Apply) -> UpdateResult:
        """Compare-and-set: `apply` the record, write the result if nobody wrote first.

        `apply` must be a pure function of the record it is given: it can run more than once
        when writers race. Whatever it raises propagates and nothing is written. The store sets
        `version`, `updated_at` and (unless `touch_activity=False`) `last_activity_at`.
        Raises `TenantNotFound`, `CorruptRecord`, `UnknownSchemaVersion`, `InvalidChange`,
        `ChannelAlreadyBound` (when the change moves the tenant to a taken channel), or
        `Contention` after `max_attempts` lost races.
        """
        turn = self._turns.get(tenant_id)
        if turn is None:
            turn = self._turns[tenant_id] = asyncio.Lock()
        async with turn:
            return await self._update(tenant_id, apply)

    async def _update(self, tenant_id: str, apply: Apply) -> UpdateResult:
        """One update, holding this process's turn for the tenant.

        It starts from the record as this process last saw it (read if it has not): the script
        refuses if that is stale, and answers what is stored instead, to apply to next."""
        seen = self._seen.get(tenant_id)
        if seen is None:
            await self.get(tenant_id)  # raises when unreadable
            seen = self._seen.get(tenant_id)
            if seen is None:
                raise TenantNotFound(tenant_id)
        sent: _Sent | None = None
        for attempt in range(1, self._max_attempts + 1):
            if sent is not None and sent.landed(seen):
                break  # the script ran, its reply was lost, and the client sent it again
            current = seen.record
            change = apply(current.model_copy(deep=True))
            if change is None:
                return UpdateResult(current.model_copy(deep=True), False, (), attempt)
            new = self._next_version(current, change)
            payload = self._encode_checked(new)
            if new.channel_id != current.channel_id:
                await self._check_channel_free(new.channel_id, tenant_id)
            sets, dels = refs_changes(seen.fields, new.slack)
            ops = _Ops()
            if self._ordered:
                # One Redis: the index entries go with the record, in its script.
                self._queue_once(ops, current, new, bool(change.effects), change.step_seconds)
                self._queue_index_changes(ops, current, new)
            effect_ids = self._new_effect_ids(new, change.effects)
            sent = _Sent(payload, current, new, effect_ids, change.step_seconds, sets, dels)
            written, found = await self._compare_and_set(
                new, seen.data, payload, change.audit, change.effects, sets, dels, ops,
                serial=seen.serial,
            )  # fmt: skip
            if written is not None:
                fields = {k: v for k, v in {**seen.fields, **sets}.items() if k not in dels}
                # `new` is this call's own (built from what `apply` was handed): kept as is,
                # and the caller gets a copy.
                self._keep(tenant_id, _Seen(payload, fields, new))
                self._hint(tenant_id, change.effects, *written, new.version)
                break
            if found is None:
                self._seen.pop(tenant_id, None)
                raise TenantNotFound(tenant_id)
            self._decode(tenant_id, *found)  # raises when unreadable
            seen = self._seen[tenant_id]
            if not sent.landed(seen):
                await backoff_exponential(attempt)
        else:
            raise Contention(tenant_id, self._max_attempts)
        assert sent is not None  # both breaks follow a write
        old, new = sent.old, sent.new
        if new.channel_id != old.channel_id:
            await self._rebind_channel(tenant_id, old.channel_id, new.channel_id)
        if not self._ordered:
            await self._after_write(
                old,
                new,
                sent.payload,
                announce=bool(sent.effect_ids),
                step_seconds=sent.step_seconds,
            )
        await committed()
        return UpdateResult(new.model_copy(deep=True), True, sent.effect_ids, attempt)

    async def _compare_and_set(
        self,
        new: TenantRecord,
        expected: bytes | None,
        payload: bytes,
        audit: Iterable[AuditEntry],
        effects: Sequence[Effect],
        sets: Mapping[str, str],
        dels: Sequence[str],
        ops: _Ops,
        *,
        serial: str,
    ) -> tuple[tuple[list[str], int] | None, tuple[bytes, dict[str, str]] | None]:
        """One run of the compare-and-set script: `(stream ids of the effects, outbox length)`
        when it wrote, else what is stored (`(record, messages)`, or None without a record)."""
        keys, tenant_id = self._keys, new.tenant_id
        script_keys = [
            keys.record(tenant_id),
            keys.messages(tenant_id),
            keys.audit(tenant_id),
            keys.outbox(tenant_id),
        ]
        where: dict[str, int] = {}
        op_args: list[str] = []
        for op, key, member, score in ops.ops:
            if key not in where:
                script_keys.append(key)
                where[key] = len(script_keys)
            op_args += [op, str(where[key]), member, score]
        entries = [
            entry.model_copy(update={"version": new.version}).model_dump_json() for entry in audit
        ]
        args: list[Any] = [expected or b"", serial, payload, self._audit_maxlen, len(entries)]
        args += entries
        args.append(len(effects))
        for effect_id, effect in zip(self._new_effect_ids(new, effects), effects, strict=True):
            args += [effect_id, encode_effect(effect)]
        args.append(len(sets))
        for pair in sets.items():
            args += pair
        args += [len(dels), *dels, len(ops)]
        args += op_args
        try:
            answer = await self._scripts.compare_and_set(keys=script_keys, args=args)
        except (RedisConnectionError, RedisTimeoutError):
            # Sent, and no answer (after the client's own retries): whether it ran is unknown.
            # What is stored tells: our own bytes if it ran (the caller then returns it).
            return None, await self._read_stored(tenant_id)
        if int(answer[0]) == 1:
            return ([as_text(i) for i in answer[2:]], int(answer[1])), None
        if len(answer) < 3:
            return None, None
        raw = answer[2]
        # RESP2 answers HGETALL inside a script as a flat list; RESP3 as a map.
        pairs = raw.items() if isinstance(raw, dict) else zip(raw[::2], raw[1::2], strict=True)
        return None, (as_bytes(answer[1]), text_fields(dict(pairs)))

    async def _read_stored(self, tenant_id: str) -> tuple[bytes, dict[str, str]] | None:
        """The stored record and its `messages` hash, or None without a record."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.get(self._keys.record(tenant_id))
            pipe.hgetall(self._keys.messages(tenant_id))
            raw, raw_fields = await pipe.execute()
        data = opt_bytes(raw)
        return None if data is None else (data, text_fields(raw_fields))

    def _hint(
        self,
        tenant_id: str,
        effects: Sequence[Effect],
        stream_ids: Sequence[str],
        outbox_length: int,
        version: int,
    ) -> None:
        """Tell this process's runner which effects the tenant's outbox holds, when the write
        that added them knows it holds nothing else (the drain need not read the stream)."""
        if effects and outbox_length == len(stream_ids) == len(effects):
            self.outbox.hint(tenant_id, stream_ids, self._effect_ids_at(version, effects), effects)
        else:
            self.outbox.hint(tenant_id, (), (), ())

    @staticmethod
    def _effect_ids_at(version: int, effects: Sequence[Effect]) -> tuple[str, ...]:
        # Stable ids: a retried write of the same version produces the same ids, and a runner
        # can key its own idempotency (e.g. a message it already posted) on them.
        return tuple(f"{version}-{index}" for index in range(len(effects)))

    def _new_effect_ids(self, new: TenantRecord, effects: Sequence[Effect]) -> tuple[str, ...]:
        return self._effect_ids_at(new.version, effects)

    def _next_version(self, current: TenantRecord, change: Change) -> TenantRecord:
        proposed = change.record
        if proposed.tenant_id != current.tenant_id:
            raise InvalidChange(
                current.tenant_id, f"apply returned the record of {proposed.tenant_id!r}"
            )
        now = self._now()
        return proposed.model_copy(
            update={
                "version": current.version + 1,
                "created_at": current.created_at,
                "created_by": current.created_by,
                "updated_at": now,
                "last_activity_at": now if change.touch_activity else current.last_activity_at,
            }
        )

    def _encode_checked(self, record: TenantRecord) -> bytes:
        """Encode (without the message ts, kept beside it), and prove the bytes read back:
        `model_copy(update=…)` skips validation, and a record we could not read back would lock
        the tenant out."""
        try:
            payload = encode_record(record.model_copy(update={"slack": _NO_REFS}))
        except PydanticSerializationError as exc:
            raise InvalidChange(record.tenant_id, " ".join(str(exc).split())) from None
        try:
            _record_adapter.validate_json(stored_json(payload))
        except ValidationError as exc:
            first = exc.errors(include_input=False)[0]
            where = ".".join(str(p) for p in first["loc"])
            raise InvalidChange(record.tenant_id, f"{where}: {first['msg']}") from None
        return payload

    async def _check_channel_free(self, channel_id: str, tenant_id: str) -> None:
        """Raise `ChannelAlreadyBound` unless the channel is free, ours, or bound to a tenant
        whose record is gone (a binding left by purging an unreadable record). A look before
        writing; `_bind_channel` is what decides."""
        bound = opt_bytes(await self._redis.get(self._keys.channel(channel_id)))
        if bound is None or bound.decode() == tenant_id:
            return
        other = bound.decode()
        if await self._redis.exists(self._keys.record(other)):
            raise ChannelAlreadyBound(other, channel_id)

    async def _bind_channel(self, channel_id: str, tenant_id: str) -> None:
        """Bind the channel to the tenant (compare-and-set on the binding alone: it lives in a
        slot of its own). Raises `ChannelAlreadyBound` if another tenant's record holds it."""
        key = self._keys.channel(channel_id)
        for attempt in range(1, self._max_attempts + 1):
            async with self._redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(key)
                    bound = opt_bytes(await pipe.get(key))
                    if bound == tenant_id.encode():
                        return
                    if bound is not None:
                        other = bound.decode()
                        # Another slot: read outside the WATCH. A binding is only ever made
                        # after its tenant's record, so a missing record means a gone tenant.
                        if await self._redis.exists(self._keys.record(other)):
                            raise ChannelAlreadyBound(other, channel_id)
                        log.warning("channel %s was bound to missing tenant %r", channel_id, other)
                    begin_multi(pipe)
                    pipe.set(key, tenant_id)
                    await pipe.execute()
                    return
                except WatchError:
                    await backoff(attempt)
        raise Contention(tenant_id, self._max_attempts)

    async def _rebind_channel(self, tenant_id: str, old_channel: str, new_channel: str) -> None:
        """After an update that moved the tenant to another channel: bind it, free the old."""
        try:
            await self._bind_channel(new_channel, tenant_id)
        except ChannelAlreadyBound as exc:
            # Taken between the look before the write and now: the record keeps its new
            # channel, the binding stays with the other tenant, and people are told.
            log.error("tenant %s moved to a channel bound meanwhile: %s", tenant_id, exc)
        await delete_if_equal(self._redis, self._keys.channel(old_channel), tenant_id.encode())

    async def _take_back(self, tenant_id: str, payload: bytes) -> None:
        """Undo a create that lost its channel: delete what it wrote, if nothing changed it."""
        self._seen.pop(tenant_id, None)
        record_key = self._keys.record(tenant_id)
        for attempt in range(1, self._max_attempts + 1):
            async with self._redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(record_key)
                    if opt_bytes(await pipe.get(record_key)) != payload:
                        return
                    begin_multi(pipe)
                    pipe.delete(*self._keys.tenant_keys(tenant_id))
                    await pipe.execute()
                    return
                except WatchError:
                    await backoff(attempt)

    # -- global indexes ---------------------------------------------------------------------
    #
    # They live outside the tenant's slot, so they are written after the tenant's transaction,
    # from the record as it is stored then (set members and scores, each write idempotent),
    # and checked: if the record changed while they were written, they are written again from
    # the newer record. The last writer to look therefore always leaves them matching the
    # record. A replica that dies between the commit and this leaves them behind by one
    # write: the sweep's reconciler (`rebuild_indexes`, every pass under its lease) repairs it.

    async def _after_write(
        self,
        old: TenantRecord | None,
        new: TenantRecord,
        payload: bytes,
        *,
        announce: bool,
        step_seconds: float | None = None,
    ) -> None:

        def once(pipe: _IndexWriter) -> None:
            self._queue_once(pipe, old, new, announce, step_seconds)

        owners = {old.se_user} if old is not None and old.se_user else set()
        await self._sync_indexes(new, payload, drop_owners=owners, first=once, since=old)

    def _queue_once(
        self,
        pipe: _IndexWriter,
        old: TenantRecord | None,
        new: TenantRecord,
        announce: bool,
        step_seconds: float | None,
    ) -> None:
        """What a write adds once, beside the index entries of its record."""
        keys, tenant_id = self._keys, new.tenant_id
        if announce:
            pipe.sadd(keys.outbox_pending(), tenant_id)
        # What happened (not what is): kept once, with the write that made it happen.
        if old is not None and old.step != new.step and step_seconds is not None:
            pipe.zadd(keys.step_durations(old.step.value), {tenant_id: step_seconds})
        if old is not None and old.stall is not None and new.stall is None:
            pipe.zadd(keys.unstalled(), {tenant_id: new.updated_at.timestamp()})

    async def _sync_indexes(
        self,
        record: TenantRecord,
        payload: bytes,
        *,
        drop_owners: Iterable[str] = (),
        first: Callable[[_IndexWriter], None] | None = None,
        since: TenantRecord | None = None,
    ) -> None:
        """Write the record's index entries, until the record read back is the one written
        from (or is gone: then its entries go too). With `since` (the record this one replaced),
        the first pass writes only the entries that differ from it; a write that changes none
        (a message ts remembered) writes and reads nothing."""
        tenant_id, record_key = record.tenant_id, self._keys.record(record.tenant_id)
        dropped = set(drop_owners)
        for _attempt in range(self._max_attempts):
            async with self._redis.pipeline(transaction=False) as pipe:
                if first is not None:
                    first(pipe)
                    first = None
                if since is not None:
                    self._queue_index_changes(pipe, since, record)
                    since = None
                else:
                    self._queue_indexes(pipe, record, dropped)
                if not len(pipe):
                    return  # nothing of the indexes changed: nothing of ours can be stale
                if self._ordered:
                    # One Redis runs a pipeline in order: the read comes after every write.
                    pipe.get(record_key)
                    now = opt_bytes((await pipe.execute())[-1])
                else:
                    await pipe.execute()
            if not self._ordered:
                # Read after every write has landed (a cluster pipeline runs its slots at once).
                now = opt_bytes(await self._redis.get(record_key))
            if now == payload:
                return
            if record.se_user:
                dropped.add(record.se_user)
            if now is None:
                await self._forget(tenant_id, dropped)
                return
            try:
                record = decode_record(tenant_id, now, key=record_key)
            except (CorruptRecord, UnknownSchemaVersion):
                return  # left as they are; the reconciler reports it
            payload = now
        log.warning("indexes of %s kept changing while written; the reconciler finishes", tenant_id)

    async def _forget(self, tenant_id: str, owners: Iterable[str]) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            self._queue_forget(pipe, tenant_id, owners)
            await pipe.execute()

    def _queue_indexes(
        self, pipe: _IndexWriter, record: TenantRecord, drop_owners: Iterable[str] = ()
    ) -> None:
        """The record's entry in every index it belongs to, and none in the others (of the
        owner sets: none in `drop_owners` but its own). Derived from the record alone."""
        keys, tenant_id = self._keys, record.tenant_id
        pipe.sadd(keys.tenants(), tenant_id)
        for step in Step:
            if step is not record.step:
                pipe.srem(keys.step_index(step.value), tenant_id)
        pipe.sadd(keys.step_index(record.step.value), tenant_id)
        live = record.step is Step.LIVE
        # Only onboardings in progress can stall; a live tenant would crowd the oldest slots.
        if live:
            went_live = (record.live_at or record.updated_at).timestamp()
            pipe.zrem(keys.last_activity(), tenant_id)
            pipe.zrem(keys.stall_due(), tenant_id)
            pipe.zadd(keys.live(), {tenant_id: went_live})
            if holds_files(record):
                pipe.zadd(keys.retention(), {tenant_id: went_live})
            else:
                pipe.zrem(keys.retention(), tenant_id)
        else:
            pipe.zrem(keys.retention(), tenant_id)
            pipe.zadd(keys.last_activity(), {tenant_id: record.last_activity_at.timestamp()})
            check = _check_score(record)
            if check is None:
                pipe.zrem(keys.stall_due(), tenant_id)
            else:
                pipe.zadd(keys.stall_due(), {tenant_id: check})
            pipe.zrem(keys.live(), tenant_id)
        # Stalls, per step, scored by the last progress (the longest first).
        stall = record.stall
        for step in Step:
            if stall is None or stall.step is not step:
                pipe.zrem(keys.stalled(step.value), tenant_id)
        if stall is not None:
            pipe.zadd(keys.stalled(stall.step.value), {tenant_id: stall.since.timestamp()})
        # Who owns the onboardings in progress.
        owner = None if live else record.se_user
        for previous in sorted(set(drop_owners)):
            if previous != owner:
                pipe.srem(keys.owner(previous), tenant_id)
        if owner is not None:
            pipe.sadd(keys.owner(owner), tenant_id)

    def _queue_index_changes(
        self, pipe: _IndexWriter, old: TenantRecord, new: TenantRecord
    ) -> None:
        """What `_queue_indexes` would write for `new`, less what is the same for `old`: each
        index whose entry differs gets the entry of `new` (and loses that of `old`)."""
        keys, tenant_id = self._keys, new.tenant_id
        if old.step is not new.step:
            pipe.srem(keys.step_index(old.step.value), tenant_id)
            pipe.sadd(keys.step_index(new.step.value), tenant_id)
        if _placing(old) != _placing(new):
            live = new.step is Step.LIVE
            if live:
                went_live = (new.live_at or new.updated_at).timestamp()
                pipe.zrem(keys.last_activity(), tenant_id)
                pipe.zrem(keys.stall_due(), tenant_id)
                pipe.zadd(keys.live(), {tenant_id: went_live})
                if holds_files(new):
                    pipe.zadd(keys.retention(), {tenant_id: went_live})
                else:
                    pipe.zrem(keys.retention(), tenant_id)
            else:
                pipe.zrem(keys.retention(), tenant_id)
                pipe.zadd(keys.last_activity(), {tenant_id: new.last_activity_at.timestamp()})
                check = _check_score(new)
                if check is None:
                    pipe.zrem(keys.stall_due(), tenant_id)
                else:
                    pipe.zadd(keys.stall_due(), {tenant_id: check})
                pipe.zrem(keys.live(), tenant_id)
        old_stall, new_stall = old.stall, new.stall
        if (old_stall and (old_stall.step, old_stall.since)) != (
            new_stall and (new_stall.step, new_stall.since)
        ):
            if old_stall is not None:
                pipe.zrem(keys.stalled(old_stall.step.value), tenant_id)
            if new_stall is not None:
                pipe.zadd(
                    keys.stalled(new_stall.step.value), {tenant_id: new_stall.since.timestamp()}
                )
        old_owner, new_owner = _owner_in_progress(old), _owner_in_progress(new)
        if old_owner != new_owner:
            if old_owner is not None:
                pipe.srem(keys.owner(old_owner), tenant_id)
            if new_owner is not None:
                pipe.sadd(keys.owner(new_owner), tenant_id)

    def _queue_forget(self, pipe: _IndexWriter, tenant_id: str, owners: Iterable[str]) -> None:
        """Remove the tenant from every global index (purge, and orphans in a rebuild)."""
        keys = self._keys
        pipe.srem(keys.tenants(), tenant_id)
        for step in Step:
            pipe.srem(keys.step_index(step.value), tenant_id)
            pipe.zrem(keys.stalled(step.value), tenant_id)
            pipe.zrem(keys.step_durations(step.value), tenant_id)
        for key in (
            keys.last_activity(),
            keys.stall_due(),
            keys.live(),
            keys.unstalled(),
            keys.retention(),
        ):
            pipe.zrem(key, tenant_id)
        for owner in sorted(set(owners)):
            pipe.srem(keys.owner(owner), tenant_id)

    # -- audit ------------------------------------------------------------------------------

    async def audit(self, tenant_id: str, limit: int = 100) -> list[AuditEntry]:
        """The latest `limit` audit entries, oldest first (newest last)."""
        key = self._keys.audit(tenant_id)
        rows = stream_rows(await self._redis.xrevrange(key, count=limit))
        entries = []
        for _entry_id, fields in reversed(rows):
            data = fields.get(b"entry")
            if data is None:
                raise CorruptRecord(tenant_id, "audit entry without data", key=key)
            entries.append(decode_audit(tenant_id, data, key=key))
        return entries

    # -- indexes ----------------------------------------------------------------------------

    async def counts_by_step(self) -> dict[Step, int]:
        """How many tenants are at each step: one SCARD per step, in one round trip."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for step in Step:
                pipe.scard(self._keys.step_index(step.value))
            counts = [int(n) for n in await pipe.execute()]
        return dict(zip(Step, counts, strict=True))

    async def tenants_at(self, step: Step) -> list[str]:
        return texts(await self._redis.smembers(self._keys.step_index(step.value)))

    async def stale_since(self, cutoff: datetime, limit: int = 100) -> list[tuple[str, datetime]]:
        """Onboardings in progress with no activity since `cutoff`, least recent first."""
        rows = scored(
            await self._redis.zrangebyscore(
                self._keys.last_activity(),
                "-inf",
                cutoff.timestamp(),
                start=0,
                num=limit,
                withscores=True,
            )
        )
        return [(member, datetime.fromtimestamp(score, UTC)) for member, score in rows]

    async def all_tenant_ids(self) -> list[str]:
        return texts(await self._redis.smembers(self._keys.tenants()))

    # -- keeping onboardings moving ---------------------------------------------------------

    async def due_for_check(self, now: datetime, limit: int = 500) -> list[str]:
        """Onboardings the stalled sweep should look at now, the longest due first."""
        return texts(
            await self._redis.zrangebyscore(
                self._keys.stall_due(), "-inf", now.timestamp(), start=0, num=limit
            )
        )

    async def sync_check(self, record: TenantRecord) -> None:
        """Make the sweep's index agree with the record (after a pass that wrote nothing, e.g.
        one that only confirmed the time a record already had)."""
        check = _check_score(record)
        if check is None:
            await self._redis.zrem(self._keys.stall_due(), record.tenant_id)
        else:
            await self._redis.zadd(self._keys.stall_due(), {record.tenant_id: check})

    async def forget_check(self, tenant_id: str) -> None:
        """Take a tenant that no longer exists out of the sweep's index."""
        await self._redis.zrem(self._keys.stall_due(), tenant_id)

    async def postpone_check(self, tenant_id: str, until: datetime) -> None:
        """Look at an unreadable tenant again later instead of at every pass."""
        await self._redis.zadd(self._keys.stall_due(), {tenant_id: until.timestamp()}, xx=True)

    async def seed_stall_checks(self) -> bool:
        """Put every onboarding in progress into the sweep's index, once (records written
        before schema 2 have no check time; they are looked at from their last activity).
        Returns whether it did it now."""
        keys = self._keys
        if not await self._redis.set(keys.stall_seeded(), "1", nx=True):
            return False
        # NX: a check time already set is kept; a tenant only in the activity index scores 0,
        # so the sweep looks at it (and sets its own time) at once. (Read and written by the
        # client: the two sets may live in different cluster slots.)
        active = texts(await self._redis.zrange(keys.last_activity(), 0, -1))
        if active:
            await self._redis.zadd(keys.stall_due(), dict.fromkeys(active, 0), nx=True)
        return True

    # -- document retention -----------------------------------------------------------------

    async def due_for_forgetting(self, went_live_before: datetime, limit: int = 500) -> list[str]:
        """Live tenants still holding document metadata that went live before the cutoff."""
        return texts(
            await self._redis.zrangebyscore(
                self._keys.retention(),
                "-inf",
                f"({went_live_before.timestamp()}",  # strictly before
                start=0,
                num=limit,
            )
        )

    async def sync_retention(self, record: TenantRecord) -> None:
        """Make the retention index agree with the record (after a pass that wrote nothing)."""
        if record.step is Step.LIVE and holds_files(record):
            went_live = (record.live_at or record.updated_at).timestamp()
            await self._redis.zadd(self._keys.retention(), {record.tenant_id: went_live})
        else:
            await self._redis.zrem(self._keys.retention(), record.tenant_id)

    async def forget_retention(self, tenant_id: str) -> None:
        """Take a tenant that no longer exists (or cannot be read) out of the retention index."""
        await self._redis.zrem(self._keys.retention(), tenant_id)

    async def seed_retention(self) -> bool:
        """Put every live tenant into the retention index, once (tenants that went live before
        it existed are not in it). Both sets are scored by when the tenant went live, so the
        union keeps that time; a tenant without documents leaves at its first look. Returns
        whether it did it now."""
        keys = self._keys
        if not await self._redis.set(keys.retention_seeded(), "1", nx=True):
            return False
        live = scored(await self._redis.zrange(keys.live(), 0, -1, withscores=True))
        if live:
            await self._redis.zadd(keys.retention(), dict(live), gt=True)  # GT: the union's MAX
        return True

    async def stalled(self, limit: int | None = None) -> list[tuple[str, Step, datetime]]:
        """Stalled onboardings, the longest without progress first: (tenant, step, since)."""
        count = -1 if limit is None else limit - 1
        async with self._redis.pipeline(transaction=False) as pipe:
            for step in Step.ordered():
                pipe.zrange(self._keys.stalled(step.value), 0, count, withscores=True)
            rows = await pipe.execute()
        found = [
            (tenant, step, datetime.fromtimestamp(score, UTC))
            for step, stalled in zip(Step.ordered(), rows, strict=True)
            for tenant, score in scored(stalled)
        ]
        found.sort(key=lambda row: row[2])
        return found if limit is None else found[:limit]

    async def figures(self, *, week_start: datetime, owners: Sequence[str]) -> IndexFigures:
        """Everything a summary counts, from the indexes alone, in one round trip."""
        keys = self._keys
        steps = list(Step)
        ordered = Step.ordered()
        async with self._redis.pipeline(transaction=False) as pipe:
            for step in steps:
                pipe.scard(keys.step_index(step.value))
            for step in ordered:
                pipe.zcard(keys.stalled(step.value))
            for step in ordered:
                pipe.zcard(keys.step_durations(step.value))
            pipe.zcount(keys.live(), week_start.timestamp(), "+inf")
            pipe.zcard(keys.live())
            for owner in owners:
                pipe.scard(keys.owner(owner))
            answers = await pipe.execute()
            # The median of each step's durations, by rank (no list is read).
            durations = answers[len(steps) + len(ordered) : len(steps) + 2 * len(ordered)]
            for step, size in zip(ordered, durations, strict=True):
                middle = (int(size) - 1) // 2
                pipe.zrange(
                    keys.step_durations(step.value),
                    middle,
                    middle + 1 - int(size) % 2,
                    withscores=True,
                )
            medians = await pipe.execute()
        counts = dict(zip(steps, (int(n) for n in answers[: len(steps)]), strict=True))
        stalled = dict(
            zip(
                ordered,
                (int(n) for n in answers[len(steps) : len(steps) + len(ordered)]),
                strict=True,
            )
        )
        rest = answers[len(steps) + 2 * len(ordered) :]
        median: dict[Step, float | None] = {}
        for step, size, rows in zip(ordered, durations, medians, strict=True):
            values = [score for _, score in scored(rows)]
            median[step] = sum(values) / len(values) if int(size) and values else None
        return IndexFigures(
            per_step=counts,
            stalled_per_step=stalled,
            median_seconds=median,
            live_this_week=int(rest[0]),
            live_total=int(rest[1]),
            per_owner=dict(zip(owners, (int(n) for n in rest[2:]), strict=True)),
        )

    async def changed_since(self, since: datetime) -> tuple[list[str], list[str]]:
        """For a digest: the tenants that went live, and the stalls that ended, since `since`.
        (Which stalls are new since then needs the thresholds: see `bot.summary`.)"""
        keys, start = self._keys, since.timestamp()
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zrangebyscore(keys.live(), f"({start}", "+inf")
            pipe.zrangebyscore(keys.unstalled(), f"({start}", "+inf")
            # Ended stalls are only asked about by the next digest: a quarter is plenty.
            pipe.zremrangebyscore(keys.unstalled(), "-inf", start - 90 * 86400)
            live, unstalled, _ = await pipe.execute()
        return texts(live), texts(unstalled)

    async def digest_state(self, week: str) -> tuple[str | None, datetime | None]:
        """Whether the digest of `week` is `pending` or `sent`, and when the last one went."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.get(self._keys.digest(week))
            pipe.get(self._keys.digest_last())
            state, last = await pipe.execute()
        when = datetime.fromtimestamp(float(as_text(last)), UTC) if last is not None else None
        return (as_text(state) if state is not None else None), when

    async def mark_digest(self, week: str, state: str, when: datetime | None = None) -> bool:
        """Record a digest's state. `pending` is taken only if there is none (one sender a week)
        and lapses after ten minutes, so a sender that died is replaced by the next sweep."""
        key = self._keys.digest(week)
        if state == "pending":
            return bool(await self._redis.set(key, state, nx=True, ex=600))
        # Two keys in two slots: the state first, so a crash in between can only make the next
        # digest cover a longer time, never send this one twice.
        await self._redis.set(key, state, ex=30 * 86400)
        if when is not None:
            await self._redis.set(self._keys.digest_last(), str(when.timestamp()))
        return True

    # -- purge ------------------------------------------------------------------------------

    async def purge(self, tenant_id: str, *, actor: str | None = None) -> Purged:
        """Delete every key of the tenant (one transaction, in its slot), then its channel
        binding and its entries in every index.

        Every key: the fixed ones (`Keys.tenant_keys`), the effect claims of every effect id
        the outbox streams and hashes name, and the keys of every ticket the tenant's ticket set
        (or its record) names. Works on an unreadable record too (that is what it is for). With
        `actor`, a purge that found a record leaves one line in the global purge log (who, when,
        which tenant id), written with the removal of its index entries. The answer names the
        Slack files the record referred to, for the caller to ask Slack to delete. If the channel
        cannot be read from a corrupt record, the binding stays behind; `create` treats a
        binding to a missing tenant as free, and the reconciler removes it.
        """
        self._seen.pop(tenant_id, None)
        keys = self._keys
        record_key = keys.record(tenant_id)
        watched = (
            record_key,
            keys.outbox(tenant_id),
            keys.outbox_dead(tenant_id),
            keys.outbox_attempts(tenant_id),
            keys.outbox_errors(tenant_id),
            keys.tickets(tenant_id),
        )
        for attempt in range(1, self._max_attempts + 1):
            async with self._redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(*watched)
                    data = opt_bytes(await pipe.get(record_key))
                    effect_ids = await self._effect_ids(pipe, tenant_id)
                    ticket_ids = set(texts(await pipe.smembers(keys.tickets(tenant_id))))
                    ticket_ids.update(_ticket_ids_of(data))
                    begin_multi(pipe)
                    pipe.delete(
                        *keys.tenant_keys(tenant_id),
                        *(keys.effect_claim(tenant_id, e) for e in sorted(effect_ids)),
                        *(k for t in sorted(ticket_ids) for k in keys.ticket_keys(tenant_id, t)),
                    )
                    await pipe.execute()
                    break
                except WatchError:
                    await backoff(attempt)
        else:
            raise Contention(tenant_id, self._max_attempts)
        # Outside the tenant's slot, after its keys are gone (a crash here leaves index
        # entries of a tenant without a record: the reconciler removes them).
        channel_id = _channel_of(data)
        if channel_id is not None:  # only if bound to this tenant: not ours otherwise
            await delete_if_equal(self._redis, keys.channel(channel_id), tenant_id.encode())
        owner = _owner_of(data)
        async with self._redis.pipeline(transaction=False) as pipe:
            self._queue_forget(pipe, tenant_id, [owner] if owner else [])
            pipe.srem(keys.outbox_pending(), tenant_id)
            pipe.zrem(keys.cloud_due(), tenant_id)  # its cloud key went with its keys
            if actor is not None and data is not None:
                pipe.xadd(
                    keys.purges(),
                    {b"actor": actor, b"at": self._now().isoformat(), b"tenant_id": tenant_id},
                    maxlen=PURGE_LOG_MAXLEN,
                    approximate=True,
                )
            await pipe.execute()
        await committed()
        return Purged(
            existed=data is not None, company=_raw_field(data, "company"), files=_files_of(data)
        )

    async def purge_preview(self, tenant_id: str) -> Purged:
        """What `purge` would remove, read without removing anything (for a confirmation)."""
        data = opt_bytes(await self._redis.get(self._keys.record(tenant_id)))
        return Purged(
            existed=data is not None, company=_raw_field(data, "company"), files=_files_of(data)
        )

    async def _effect_ids(self, pipe: Pipeline, tenant_id: str) -> set[str]:
        """Every effect id the tenant's outbox keys name (read under the caller's WATCH): each
        may have a claim key of its own."""
        keys = self._keys
        ids: set[str] = set()
        for stream in (keys.outbox(tenant_id), keys.outbox_dead(tenant_id)):
            for _entry, fields in stream_rows(await pipe.xrange(stream)):
                if fields.get(b"effect_id"):
                    ids.add(fields[b"effect_id"].decode(errors="replace"))
        for table in (keys.outbox_attempts(tenant_id), keys.outbox_errors(tenant_id)):
            ids.update(as_text(field) for field in await pipe.hkeys(table))
        return ids

    async def purges(self, limit: int = 100) -> list[dict[str, str]]:
        """The latest purges, newest last: actor, at, tenant_id."""
        rows = stream_rows(await self._redis.xrevrange(self._keys.purges(), count=limit))
        return [{k.decode(): v.decode() for k, v in fields.items()} for _id, fields in rows[::-1]]

    # -- repair -----------------------------------------------------------------------------

    async def reconcile_due(self, now: datetime, every: timedelta) -> bool:
        """Whether the reconciler should run now (it last ran `every` ago or more, or never);
        if so, records that it runs now."""
        key = self._keys.reconciled()
        last = opt_bytes(await self._redis.get(key))
        if last is not None and now.timestamp() - float(last) < every.total_seconds():
            return False
        await self._redis.set(key, str(now.timestamp()))
        return True

    async def rebuild_indexes(self) -> IndexReport:
        """Recompute every global index from the records: the reconciler, which the sweep runs
        at every pass under its lease, and a repair tool. Not a hot path.

        It SCANs for record keys (the only place anything scans; on a cluster, every primary),
        then writes each tenant's index entries from its record, and reads the records again:
        one that changed meanwhile is written again from the newer record, as after an update.
        Corrupt records are reported and their index entries left alone; index entries of
        tenants without a record are removed, and channel bindings no record claims.
        """
        keys = self._keys
        scanned: set[str] = set()
        async for raw_key in self._redis.scan_iter(match=keys.record_pattern(), count=500):
            tenant_id = keys.tenant_of_record_key(as_text(raw_key))
            if tenant_id is not None and is_tenant_id(tenant_id):
                scanned.add(tenant_id)
        channel_keys = sorted(
            {as_text(k) async for k in self._redis.scan_iter(match=keys.channel_pattern())}
        )
        owner_keys = sorted(
            {as_text(k) async for k in self._redis.scan_iter(match=keys.owner_pattern())}
        )
        async with self._redis.pipeline(transaction=False) as read:
            read.smembers(keys.tenants())
            for step in Step:
                read.smembers(keys.step_index(step.value))
            read.zrange(keys.last_activity(), 0, -1)
            read.smembers(keys.outbox_pending())
            for owner_key in owner_keys:
                read.smembers(owner_key)
            answers = await read.execute()
        indexed_sets, owner_sets = (
            answers[: len(answers) - len(owner_keys)],
            answers[len(answers) - len(owner_keys) :],
        )
        listed: dict[str, set[str]] = {}  # tenant -> the SEs whose owner set names it
        for owner_key, members in zip(owner_keys, owner_sets, strict=True):
            user = keys.user_of_owner_key(owner_key)
            for member in texts(members):
                if user is not None:
                    listed.setdefault(member, set()).add(user)
        candidates = scanned.union(*(texts(group) for group in indexed_sets), listed)
        ordered = sorted(t for t in candidates if is_tenant_id(t))
        if not ordered and not channel_keys:
            return IndexReport(tenants=0)
        stored, outbox_lengths = await self._read_records(ordered)
        records: dict[str, tuple[TenantRecord, bytes]] = {}
        corrupt: list[str] = []
        orphans: list[str] = []
        for tenant_id in ordered:
            data = stored[tenant_id]
            if data is None:
                orphans.append(tenant_id)
                continue
            try:
                records[tenant_id] = (
                    decode_record(tenant_id, data, key=keys.record(tenant_id)),
                    data,
                )
            except (CorruptRecord, UnknownSchemaVersion) as exc:
                log.error("rebuild_indexes: %s", exc)
                corrupt.append(tenant_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            for tenant_id, (record, _data) in records.items():
                self._queue_indexes(pipe, record, listed.get(tenant_id, ()))
            for tenant_id in orphans:
                self._queue_forget(pipe, tenant_id, listed.get(tenant_id, ()))
            for tenant_id in corrupt:
                pipe.sadd(keys.tenants(), tenant_id)
            for tenant_id, length in outbox_lengths.items():
                if length:
                    pipe.sadd(keys.outbox_pending(), tenant_id)
                else:
                    pipe.srem(keys.outbox_pending(), tenant_id)
            await pipe.execute()
        # What changed while we wrote is written again from what is stored now.
        again, lengths_now = await self._read_records(ordered)
        for tenant_id in ordered:
            if lengths_now[tenant_id] and not outbox_lengths[tenant_id]:
                await self._redis.sadd(keys.outbox_pending(), tenant_id)
            elif outbox_lengths[tenant_id] and not lengths_now[tenant_id]:
                # Carried out while we wrote: our SADD must not outlive the runner's SREM.
                await self.outbox.settle_pending(tenant_id)
            data, before = again[tenant_id], stored[tenant_id]
            if data == before or tenant_id in corrupt:
                continue
            owners = listed.get(tenant_id, set())
            if data is None:
                await self._forget(tenant_id, owners | _owners_of(records.get(tenant_id)))
                continue
            try:
                record = decode_record(tenant_id, data, key=keys.record(tenant_id))
            except (CorruptRecord, UnknownSchemaVersion):
                continue
            await self._sync_indexes(
                record, data, drop_owners=owners | _owners_of(records.get(tenant_id))
            )
        stale = await self._reconcile_channels(channel_keys, records, set(corrupt))
        return IndexReport(
            tenants=len(records) + len(corrupt),
            corrupt=tuple(corrupt),
            stale_channels_removed=stale,
            orphans_removed=tuple(orphans),
        )

    async def _read_records(
        self, tenant_ids: Sequence[str]
    ) -> tuple[dict[str, bytes | None], dict[str, int]]:
        """Each tenant's stored record and outbox length, in one pipeline."""
        async with self._redis.pipeline(transaction=False) as read:
            for tenant_id in tenant_ids:
                read.get(self._keys.record(tenant_id))
                read.xlen(self._keys.outbox(tenant_id))
            values = await read.execute()
        data = {t: opt_bytes(values[2 * i]) for i, t in enumerate(tenant_ids)}
        lengths = {t: int(values[2 * i + 1]) for i, t in enumerate(tenant_ids)}
        return data, lengths

    async def _reconcile_channels(
        self,
        channel_keys: Sequence[str],
        records: dict[str, tuple[TenantRecord, bytes]],
        corrupt: set[str],
    ) -> int:
        """Remove bindings that no record claims; bind records' channels that are unbound."""
        keys = self._keys
        async with self._redis.pipeline(transaction=False) as read:
            for channel_key in channel_keys:
                read.get(channel_key)
            bindings = [opt_bytes(v) for v in await read.execute()]
        stale = 0
        for channel_key, bound in zip(channel_keys, bindings, strict=True):
            if bound is None or bound.decode(errors="replace") in corrupt:
                continue
            found = records.get(bound.decode(errors="replace"))
            if found is None:
                # Not a tenant we read: gone, unless it was created since (then it stays).
                other = bound.decode(errors="replace")
                if is_tenant_id(other) and await self._redis.exists(keys.record(other)):
                    continue
            elif keys.channel(found[0].channel_id) == channel_key:
                continue
            if await delete_if_equal(self._redis, channel_key, bound):
                stale += 1
        for tenant_id, (record, _data) in records.items():
            # SET NX: a binding to another tenant is not overwritten (two records naming
            # one channel: `create` prevents it; people sort out one left by a crash).
            await self._redis.set(keys.channel(record.channel_id), tenant_id, nx=True)
        return stale

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise ValueError("the store's clock must return timezone-aware datetimes")
        return now


def record_files(record: TenantRecord) -> tuple[SlackFile, ...]:
    """The Slack files a record refers to: its documents and the call script's file."""
    found = [SlackFile(d.file_id, d.name) for d in record.onboarding.documents.values()]
    script = record.onboarding.script
    if script is not None and script.file_id is not None:
        found.append(SlackFile(script.file_id, script.file_name or ""))
    return tuple(dict.fromkeys(found))


def holds_files(record: TenantRecord) -> bool:
    """Whether the record still refers to files in Slack (documents, the call script's file)."""
    script = record.onboarding.script
    return bool(record.onboarding.documents) or (script is not None and script.file_id is not None)


def _placing(record: TenantRecord) -> tuple[object, ...]:
    """What the live, activity, stall-check and retention indexes hold of a record."""
    if record.step is Step.LIVE:
        return (True, (record.live_at or record.updated_at).timestamp(), holds_files(record))
    return (False, record.last_activity_at.timestamp(), _check_score(record))


def _owner_in_progress(record: TenantRecord) -> str | None:
    return None if record.step is Step.LIVE else record.se_user


def _check_score(record: TenantRecord) -> float | None:
    """When the stalled sweep should look at `record` (epoch seconds), or None for never: a live
    onboarding, or a stall whose ladder is done (until progress)."""
    if record.step is Step.LIVE:
        return None
    if record.check_at is not None:
        return record.check_at.timestamp()
    if record.stall is not None and record.queued_nudge is None:
        return None
    # Without a time of its own, a tenant is looked at as soon as the sweep can.
    return record.last_activity_at.timestamp()


def _raw(data: bytes | None) -> dict[str, Any]:
    """A stored record as JSON, even one that no longer validates (for purge); {} if not JSON."""
    if data is None:
        return {}
    try:
        raw = json.loads(stored_json(data))
    except (UnicodeDecodeError, ValueError):
        return {}
    return raw if isinstance(raw, dict) else {}


def _text_at(node: Any, *path: str) -> str | None:
    for name in path:
        node = node.get(name) if isinstance(node, dict) else None
    return node if isinstance(node, str) and node else None


def _raw_field(data: bytes | None, name: str) -> str | None:
    """A text field of a stored record, even one that no longer validates (for purge)."""
    return _text_at(_raw(data), name)


def _files_of(data: bytes | None) -> tuple[SlackFile, ...]:
    """The Slack files a stored record refers to: its documents and the call script's file."""
    onboarding = _raw(data).get("onboarding")
    if not isinstance(onboarding, dict):
        return ()
    documents = onboarding.get("documents")
    found = [
        SlackFile(file_id, _text_at(doc, "name") or file_id)
        for doc in (documents.values() if isinstance(documents, dict) else ())
        if (file_id := _text_at(doc, "file_id")) is not None
    ]
    script_file = _text_at(onboarding, "script", "file_id")
    if script_file is not None:
        found.append(SlackFile(script_file, _text_at(onboarding, "script", "file_name") or ""))
    return tuple(dict.fromkeys(found))


def _ticket_ids_of(data: bytes | None) -> set[str]:
    ticket_id = _text_at(_raw(data), "onboarding", "sip", "ticket_id")
    return {ticket_id} if ticket_id is not None else set()


def _owner_of(data: bytes | None) -> str | None:
    return _raw_field(data, "se_user")


def _owners_of(found: tuple[TenantRecord, bytes] | None) -> set[str]:
    return {found[0].se_user} if found is not None and found[0].se_user else set()


def _channel_of(data: bytes | None) -> str | None:
    return _raw_field(data, "channel_id")


if TYPE_CHECKING:

    def _implements_the_protocol(store: RedisTenantStore) -> TenantStore:
        return store  # mypy checks RedisTenantStore against TenantStore here
