"""Where each tenant's read-only Tencent Cloud API key is kept: encrypted, in the tenant's slot.

One hash per tenant (`Keys.cloud_key`): the Fernet token of the SecretId and SecretKey, and what
may be shown without decrypting (the masked SecretId, who gave it, when). Giving and forgetting
a key each leave a line in the tenant's audit stream (who, when, the masked SecretId), written in
the same transaction as the hash. The hash is one of `Keys.tenant_keys`, so purging the tenant
deletes it. Nothing here logs a key or a token.

Without `SECRETS_KEY` the vault is disabled: no key can be given or read, but what was kept can
still be shown (masked) and forgotten.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from redis.exceptions import WatchError

from bot.cloud.keys import CloudKey
from bot.flows.model import Actor
from bot.state.cas import MAX_CAS_ATTEMPTS, backoff
from bot.state.errors import Contention, TenantNotFound
from bot.state.keys import Keys
from bot.state.records import AuditEntry, decode_record, utcnow
from bot.state.wire import as_text, begin_multi, opt_bytes

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.client import Pipeline

log = logging.getLogger(__name__)

# The audit stream's cap when none is given (the store's default, `AUDIT_MAXLEN`).
DEFAULT_AUDIT_MAXLEN = 5000

GIVEN = "cloud_key_given"
FORGOTTEN = "cloud_key_forgotten"
_SHOWN = ["masked", "by", "at"]  # the fields shown without decrypting


class VaultDisabled(Exception):
    """A key was given while `SECRETS_KEY` is not set: there is nothing to encrypt it with."""


@dataclass(frozen=True)
class KeyInfo:
    """What may be shown of a kept key: never the key itself."""

    masked: str  # the SecretId as `AKID••••1234`
    by: str  # the Slack user id of who gave it
    at: datetime


class KeyVault:
    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        fernet: MultiFernet | Fernet | None,
        clock: Callable[[], datetime] = utcnow,
        *,
        audit_maxlen: int = DEFAULT_AUDIT_MAXLEN,
        max_attempts: int = MAX_CAS_ATTEMPTS,
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._fernet = fernet
        self._clock = clock
        self._audit_maxlen = audit_maxlen
        self._max_attempts = max_attempts
        # Told after a key was kept / deleted (the cloud check schedules the tenant or drops it).
        self.given: Callable[[str], Awaitable[None]] | None = None
        self.gone: Callable[[str], Awaitable[None]] | None = None

    @property
    def enabled(self) -> bool:
        """Whether keys can be given and read (`SECRETS_KEY` is set)."""
        return self._fernet is not None

    async def put(self, tenant_id: str, key: CloudKey, *, by: Actor) -> KeyInfo:
        """Keep `key` for the tenant, replacing any key it had, with an audit line. Raises
        `VaultDisabled`, `TenantNotFound` (also when the tenant is purged meanwhile: the key is
        then not written), `Contention`."""
        if self._fernet is None:
            raise VaultDisabled()
        plain = json.dumps({"secret_id": key.secret_id, "secret_key": key.secret_key})
        token = self._fernet.encrypt(plain.encode())
        info = KeyInfo(masked=key.masked, by=by.user_id, at=self._clock())
        record_key, vault_key = self._keys.record(tenant_id), self._keys.cloud_key(tenant_id)
        for attempt in range(1, self._max_attempts + 1):
            async with self._redis.pipeline(transaction=True) as pipe:
                try:
                    # Watching the record: a purge that deletes it meanwhile makes this write
                    # fail and see the tenant gone, so no key outlives its tenant.
                    await pipe.watch(record_key, vault_key)
                    data = opt_bytes(await pipe.get(record_key))
                    if data is None:
                        raise TenantNotFound(tenant_id)
                    record = decode_record(tenant_id, data, key=record_key)
                    before = opt_bytes(await pipe.hget(vault_key, "masked"))
                    detail = {"secret_id": info.masked}
                    if before is not None:
                        detail["replaces"] = before.decode()
                    begin_multi(pipe)
                    pipe.delete(vault_key)
                    pipe.hset(
                        vault_key,
                        mapping={
                            "token": token,
                            "masked": info.masked,
                            "by": info.by,
                            "at": info.at.isoformat(),
                        },
                    )
                    self._audit(pipe, tenant_id, by, GIVEN, info.at, record.step, detail)
                    await pipe.execute()
                    break
                except WatchError:
                    await backoff(attempt)
        else:
            raise Contention(tenant_id, self._max_attempts)
        if self.given is not None:
            await self.given(tenant_id)
        return info

    async def get(self, tenant_id: str) -> CloudKey | None:
        """The tenant's key, decrypted; None when it has none, when the vault is disabled, or
        when no configured key decrypts it (it was encrypted with a key since removed from
        `SECRETS_KEY`): that is logged, without the token, and the key counts as absent."""
        if self._fernet is None:
            return None
        token = opt_bytes(await self._redis.hget(self._keys.cloud_key(tenant_id), "token"))
        if token is None:
            return None
        try:
            plain = json.loads(self._fernet.decrypt(token))
            return CloudKey(secret_id=str(plain["secret_id"]), secret_key=str(plain["secret_key"]))
        except InvalidToken:
            log.warning(
                "the cloud key of %s cannot be decrypted with any key in SECRETS_KEY (was the"
                " key it was encrypted with removed?); it counts as not given",
                tenant_id,
            )
        except (ValueError, KeyError, TypeError):
            log.warning("the cloud key of %s is unreadable; it counts as not given", tenant_id)
        return None

    async def info(self, tenant_id: str) -> KeyInfo | None:
        """What may be shown of the tenant's key (no decryption), or None when it has none."""
        return self._info(await self._redis.hmget(self._keys.cloud_key(tenant_id), _SHOWN))

    async def forget(self, tenant_id: str, *, by: Actor) -> KeyInfo | None:
        """Delete the tenant's key, with an audit line. Returns what was forgotten (truthy), or
        None when the tenant had no key. Works with the vault disabled too."""
        record_key, vault_key = self._keys.record(tenant_id), self._keys.cloud_key(tenant_id)
        for attempt in range(1, self._max_attempts + 1):
            async with self._redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(record_key, vault_key)
                    found = self._info(await pipe.hmget(vault_key, _SHOWN))
                    if found is None:
                        return None
                    data = opt_bytes(await pipe.get(record_key))
                    step = decode_record(tenant_id, data, key=record_key).step if data else None
                    begin_multi(pipe)
                    pipe.delete(vault_key)
                    if data is not None:  # a tenant's audit stream only while it exists
                        detail = {"secret_id": found.masked}
                        self._audit(pipe, tenant_id, by, FORGOTTEN, self._clock(), step, detail)
                    await pipe.execute()
                    if self.gone is not None:
                        await self.gone(tenant_id)
                    return found
                except WatchError:
                    await backoff(attempt)
        raise Contention(tenant_id, self._max_attempts)

    def _info(self, fields: Sequence[object]) -> KeyInfo | None:
        masked, by, at = (opt_bytes(v) for v in fields)
        if masked is None or by is None or at is None:
            return None
        try:
            when = datetime.fromisoformat(as_text(at))
        except ValueError:
            when = self._clock()
        return KeyInfo(masked=as_text(masked), by=as_text(by), at=when)

    def _audit(
        self,
        pipe: Pipeline,
        tenant_id: str,
        actor: Actor,
        event: str,
        when: datetime,
        step: object,
        detail: dict[str, str],
    ) -> None:
        """An entry of the tenant's audit stream, as the store writes them (without a record
        version: giving or forgetting a key does not change the record)."""
        entry = AuditEntry.model_validate(
            {
                "actor": actor,
                "event": event,
                "when": when,
                "from_step": step,
                "to_step": step,
                "detail": detail,
            }
        )
        pipe.xadd(
            self._keys.audit(tenant_id),
            {b"entry": entry.model_dump_json()},
            maxlen=self._audit_maxlen,
            approximate=True,
        )
