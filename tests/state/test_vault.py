"""The vault of tenants' cloud API keys, on the real Redis, the embedded store and a cluster."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet, MultiFernet

from bot.cloud.keys import CloudKey
from bot.cloud.secretbox import BadSecretsKey, secret_box
from bot.cloud.vault import FORGOTTEN, GIVEN, KeyVault, VaultDisabled
from bot.flows.model import Actor, ActorRole
from bot.state.errors import TenantNotFound
from bot.state.store import RedisTenantStore
from tests.state.conftest import Backend
from tests.state.helpers import SE, FakeClock, make_record

KEY = CloudKey("AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE", "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE")
OTHER = CloudKey("AKIDaaaabbbbccccddddeeeeffff00001111", "Zz9t9xGARNpq86cd98joQYCN3OTHER00")
CUSTOMER = Actor(user_id="U0CUSTOMER", role=ActorRole.CUSTOMER)
TENANT = "acme-x1y2"


def vault_of(backend: Backend, clock: FakeClock, *keys: bytes) -> KeyVault:
    box = MultiFernet([Fernet(k) for k in keys]) if keys else None
    return KeyVault(backend.redis, backend.keys, box, clock)


async def everything(backend: Backend) -> bytes:
    """Every byte kept under the test's prefix: names, values, fields, stream entries."""
    client, found = backend.redis, [b""]
    async for raw in client.scan_iter(match=backend.keys.everything_pattern()):
        kind = (await client.type(raw)).decode()
        found.append(raw)
        if kind == "hash":
            found += [b for kv in (await client.hgetall(raw)).items() for b in kv]
        elif kind == "stream":
            found += [b for _, f in await client.xrange(raw) for kv in f.items() for b in kv]
        elif kind == "string":
            found.append(await client.get(raw) or b"")
    return b"\n".join(found)


async def test_a_key_is_kept_encrypted_shown_masked_and_read_back(
    backend: Backend, store: RedisTenantStore, clock: FakeClock
) -> None:
    await store.create(make_record())
    vault = vault_of(backend, clock, Fernet.generate_key())
    assert vault.enabled
    assert await vault.get(TENANT) is None and await vault.info(TENANT) is None

    info = await vault.put(TENANT, KEY, by=CUSTOMER)
    assert (info.masked, info.by, info.at) == ("AKID••••MPLE", CUSTOMER.user_id, clock.now)
    assert await vault.info(TENANT) == info
    assert await vault.get(TENANT) == KEY
    kept = await everything(backend)
    assert KEY.secret_key.encode() not in kept and KEY.secret_id.encode() not in kept
    assert KEY.secret_key not in repr(await vault.get(TENANT))

    [entry] = [e for e in await store.audit(TENANT) if e.event == GIVEN]
    assert entry.actor == CUSTOMER and entry.detail == {"secret_id": "AKID••••MPLE"}
    assert entry.when == clock.now


async def test_a_second_key_replaces_the_first_and_the_audit_says_so(
    backend: Backend, store: RedisTenantStore, clock: FakeClock
) -> None:
    await store.create(make_record())
    vault = vault_of(backend, clock, Fernet.generate_key())
    await vault.put(TENANT, KEY, by=CUSTOMER)
    clock.advance(timedelta(hours=1))
    info = await vault.put(TENANT, OTHER, by=SE)
    assert await vault.get(TENANT) == OTHER
    assert await vault.info(TENANT) == info and info.by == SE.user_id
    given = [e.detail for e in await store.audit(TENANT) if e.event == GIVEN]
    assert given[-1] == {"secret_id": "AKID••••1111", "replaces": "AKID••••MPLE"}


async def test_forget_deletes_the_key_with_an_audit_line(
    backend: Backend, store: RedisTenantStore, clock: FakeClock
) -> None:
    await store.create(make_record())
    vault = vault_of(backend, clock, Fernet.generate_key())
    assert await vault.forget(TENANT, by=SE) is None  # nothing to forget: nothing audited
    await vault.put(TENANT, KEY, by=CUSTOMER)
    forgotten = await vault.forget(TENANT, by=SE)
    assert forgotten is not None and forgotten.masked == "AKID••••MPLE"
    assert await vault.get(TENANT) is None and await vault.info(TENANT) is None
    assert not await backend.redis.exists(backend.keys.cloud_key(TENANT))
    events = [(e.event, e.actor.user_id) for e in await store.audit(TENANT)]
    assert events[-2:] == [(GIVEN, CUSTOMER.user_id), (FORGOTTEN, SE.user_id)]


async def test_purging_the_tenant_deletes_its_key(
    backend: Backend, store: RedisTenantStore, clock: FakeClock
) -> None:
    await store.create(make_record())
    vault = vault_of(backend, clock, Fernet.generate_key())
    await vault.put(TENANT, KEY, by=CUSTOMER)
    await store.purge(TENANT, actor=SE.user_id)
    assert not await backend.redis.exists(backend.keys.cloud_key(TENANT))
    assert await vault.info(TENANT) is None


async def test_no_key_is_kept_for_a_tenant_that_is_not_there(
    backend: Backend, clock: FakeClock
) -> None:
    vault = vault_of(backend, clock, Fernet.generate_key())
    with pytest.raises(TenantNotFound):
        await vault.put("nobody-here", KEY, by=SE)
    assert not await backend.redis.exists(backend.keys.cloud_key("nobody-here"))


async def test_rotation_the_first_key_encrypts_and_every_key_decrypts(
    backend: Backend, store: RedisTenantStore, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    await store.create(make_record())
    old, new = Fernet.generate_key(), Fernet.generate_key()
    await vault_of(backend, clock, old).put(TENANT, KEY, by=CUSTOMER)
    assert await vault_of(backend, clock, new, old).get(TENANT) == KEY  # old still decrypts
    # With the old key gone the token is unreadable: the key counts as not given, said once in
    # the log without the token, and what is shown of it (masked) can still be shown.
    caplog.set_level(logging.WARNING)
    rotated_away = vault_of(backend, clock, new)
    assert await rotated_away.get(TENANT) is None
    assert await rotated_away.info(TENANT) is not None
    token = await backend.redis.hget(backend.keys.cloud_key(TENANT), "token")
    assert any("cannot be decrypted" in r.getMessage() for r in caplog.records)
    assert not any(token.decode() in r.getMessage() for r in caplog.records)


async def test_a_disabled_vault_keeps_nothing_new_but_can_forget(
    backend: Backend, store: RedisTenantStore, clock: FakeClock
) -> None:
    await store.create(make_record())
    await vault_of(backend, clock, Fernet.generate_key()).put(TENANT, KEY, by=CUSTOMER)
    disabled = vault_of(backend, clock)
    assert not disabled.enabled
    with pytest.raises(VaultDisabled):
        await disabled.put(TENANT, OTHER, by=CUSTOMER)
    assert await disabled.get(TENANT) is None
    assert (await disabled.forget(TENANT, by=SE)) is not None
    assert await disabled.info(TENANT) is None


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("", "at least one"),
        ("not-a-key", "key 1 of 1"),
        (f"{Fernet.generate_key().decode()},", "key 2 of 2 is empty"),
        (f"{Fernet.generate_key().decode()},short", "key 2 of 2 is not a Fernet key"),
    ],
)
def test_secrets_key_names_the_bad_key_by_position_only(text: str, said: str) -> None:
    with pytest.raises(BadSecretsKey) as caught:
        secret_box(text)
    assert said in str(caught.value)
    assert "short" not in str(caught.value) and "not-a-key" not in str(caught.value)


def test_several_keys_make_one_box_the_first_encrypting() -> None:
    first, second = Fernet.generate_key(), Fernet.generate_key()
    box = secret_box(f" {first.decode()} , {second.decode()} ")
    assert Fernet(first).decrypt(box.encrypt(b"x")) == b"x"
    assert box.decrypt(Fernet(second).encrypt(b"y")) == b"y"
