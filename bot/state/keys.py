"""Every Redis key the bot uses. Nothing else builds key strings.

Keys of one tenant share the hash tag `{tenant_id}` so they live in one Redis Cluster slot:
every transaction on a tenant (its record, audit, outbox, claims, tickets) stays in that slot.
Global keys (indexes, dedupe, outbox queue, the sweep lease) carry the `onb:` prefix too, so a
shared Redis can be inspected and cleaned by prefix. `prefix` lets tests and several deployments
share one Redis without touching each other's data.

On a Redis Cluster the global keys live in other slots than the tenants'. None is written in a
tenant's transaction (the store maintains the indexes after the tenant's write, and the sweep's
reconciler rebuilds them); keys that one transaction or multi-key command uses together share a
hash tag: the event inbox `{inbox}`, a lease and its fence `{lease:<name>}`. Every other global
key is used alone, or in pipelines the cluster client splits by slot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.ids import is_tenant_id

_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")


def _glob_escape(text: str) -> str:
    # A prefix is data, not a pattern: `t-[1]` must not match `t-1`.
    return _GLOB_SPECIAL.sub(r"\\\1", text)


class InvalidTenantId(ValueError):
    """A key was asked for with something that is not a tenant id: text from a person that
    nothing checked on the way in. No key is built from it."""

    def __init__(self, text: object) -> None:
        super().__init__(f"not a tenant id: {str(text)[:80]!r}")


def _tenant(tenant_id: str) -> str:
    if not is_tenant_id(tenant_id):
        raise InvalidTenantId(tenant_id)
    return tenant_id


@dataclass(frozen=True)
class Keys:
    prefix: str = "onb"

    # -- per tenant ---------------------------------------------------------------------
    def record(self, tenant_id: str) -> str:
        return f"{self.prefix}:{{{_tenant(tenant_id)}}}:record"

    def audit(self, tenant_id: str) -> str:
        return f"{self.prefix}:{{{_tenant(tenant_id)}}}:audit"

    def outbox(self, tenant_id: str) -> str:
        """Stream of effects written with a change and not yet carried out."""
        return f"{self.prefix}:{{{_tenant(tenant_id)}}}:outbox"

    def outbox_attempts(self, tenant_id: str) -> str:
        """Hash: effect id -> how many times carrying it out has failed."""
        return f"{self.prefix}:{{{_tenant(tenant_id)}}}:outbox:attempts"

    def outbox_errors(self, tenant_id: str) -> str:
        """Hash: effect id -> the last error text, for the SE who looks into it."""
        return f"{self.prefix}:{{{_tenant(tenant_id)}}}:outbox:errors"

    def outbox_dead(self, tenant_id: str) -> str:
        """Stream of effects given up on (too many failures, or unreadable), kept for people."""
        return f"{self.prefix}:{{{_tenant(tenant_id)}}}:outbox:dead"

    def outbox_tries(self, tenant_id: str) -> str:
        """Hash: effect id -> how many times a runner has started it (a second start may follow
        one whose outcome is unknown: a crash, a call that timed out)."""
        return f"{self.prefix}:{{{_tenant(tenant_id)}}}:outbox:tries"

    def outbox_results(self, tenant_id: str) -> str:
        """Hash: effect id -> what carrying it out has produced so far (the ts of each message
        it posted, as JSON), so a retried effect does not post again."""
        return f"{self.prefix}:{{{_tenant(tenant_id)}}}:outbox:results"

    def messages(self, tenant_id: str) -> str:
        """Hash: the ts of each message the bot updates in place (written without a new version
        of the record: see `bot.state.records.SlackRefs`)."""
        return f"{self.prefix}:{{{_tenant(tenant_id)}}}:messages"

    def effect_claim(self, tenant_id: str, effect_id: str) -> str:
        """Held (SET NX PX) by the replica carrying out one effect right now."""
        return f"{self.prefix}:{{{_tenant(tenant_id)}}}:claim:{effect_id}"

    def cloud_key(self, tenant_id: str) -> str:
        """Hash: the tenant's Tencent Cloud API key, encrypted (`token`), and what may be shown
        of it without decrypting: the masked SecretId, who gave it, when (`bot.cloud.vault`)."""
        return f"{self.prefix}:{{{_tenant(tenant_id)}}}:cloudkey"

    def tenant_keys(self, tenant_id: str) -> tuple[str, ...]:
        """The tenant's keys whose names do not depend on data (for purge and cleanup). The
        rest are named by data these keys hold: effect claims by the effect ids in the outbox
        streams and hashes, ticket keys by the ids in `tickets` (see `RedisTenantStore.purge`).
        """
        return (
            self.record(tenant_id),
            self.audit(tenant_id),
            self.outbox(tenant_id),
            self.outbox_attempts(tenant_id),
            self.outbox_errors(tenant_id),
            self.outbox_dead(tenant_id),
            self.outbox_tries(tenant_id),
            self.outbox_results(tenant_id),
            self.tickets(tenant_id),
            self.cloud_key(tenant_id),
            self.messages(tenant_id),
        )

    # -- per tenant: SIP-trunk tickets (bot.tickets) ------------------------------------
    def tickets(self, tenant_id: str) -> str:
        """Set of the tenant's ticket ids that have delivery state, so a purge finds their keys
        (`ticket_keys`) without scanning the keyspace."""
        return f"{self.prefix}:{{{_tenant(tenant_id)}}}:tickets"

    def ticket_deliveries(self, tenant_id: str, ticket_id: str) -> str:
        """Hash: ticket backend name (slack/jira/webhook) -> JSON delivery state."""
        return f"{self.prefix}:{{{_tenant(tenant_id)}}}:ticket:{ticket_id}:deliveries"

    def ticket_lock(self, tenant_id: str, ticket_id: str) -> str:
        """Held (SET NX PX) while one dispatcher delivers or updates the ticket."""
        return f"{self.prefix}:{{{_tenant(tenant_id)}}}:ticket:{ticket_id}:lock"

    def ticket_keys(self, tenant_id: str, ticket_id: str) -> tuple[str, ...]:
        """Every key of one ticket (for purge and cleanup)."""
        return (
            self.ticket_deliveries(tenant_id, ticket_id),
            self.ticket_lock(tenant_id, ticket_id),
        )

    def record_pattern(self) -> str:
        """SCAN pattern matching every record key. Only for the index repair tool."""
        return f"{_glob_escape(self.prefix)}:{{*}}:record"

    def everything_pattern(self) -> str:
        """SCAN pattern matching every key under this prefix (test cleanup, tooling)."""
        return f"{_glob_escape(self.prefix)}:*"

    def tenant_of_record_key(self, key: str) -> str | None:
        """The tenant id in a record key, or None if `key` is not one of ours."""
        head, tail = f"{self.prefix}:{{", "}:record"
        if key.startswith(head) and key.endswith(tail) and len(key) > len(head) + len(tail):
            return key[len(head) : -len(tail)]
        return None

    # -- global -------------------------------------------------------------------------
    def tenants(self) -> str:
        """Set of every tenant id."""
        return f"{self.prefix}:tenants"

    def channel(self, channel_id: str) -> str:
        """Which tenant a Slack channel is bound to."""
        return f"{self.prefix}:channel:{channel_id}"

    def channel_pattern(self) -> str:
        """SCAN pattern matching every channel binding. Only for the index repair tool."""
        return f"{_glob_escape(self.prefix)}:channel:*"

    def step_index(self, step: str) -> str:
        """Set of tenant ids currently at `step`."""
        return f"{self.prefix}:step:{step}"

    def last_activity(self) -> str:
        """Sorted set: tenant id scored by the time of its last change (epoch seconds)."""
        return f"{self.prefix}:activity"

    # -- global: keeping onboardings moving (bot.stalls, bot.summary) -------------------------
    def stall_due(self) -> str:
        """Sorted set: tenant id scored by when the stalled sweep should look at it next."""
        return f"{self.prefix}:stall:due"

    def stall_seeded(self) -> str:
        """Set once the sweep has put every onboarding in progress into `stall_due` (records
        written before schema 2 carry no `check_at`)."""
        return f"{self.prefix}:stall:seeded"

    def stalled(self, step: str) -> str:
        """Sorted set of the tenants stalled at `step`, scored by their last progress."""
        return f"{self.prefix}:stalled:{step}"

    def unstalled(self) -> str:
        """Sorted set: tenant id scored by when its last stall ended (for the digest)."""
        return f"{self.prefix}:unstalled"

    def live(self) -> str:
        """Sorted set: live tenant ids scored by when they went live."""
        return f"{self.prefix}:live"

    def owner(self, user_id: str) -> str:
        """Set of the onboardings in progress that the SE `user_id` owns."""
        return f"{self.prefix}:owner:{user_id}"

    def user_of_owner_key(self, key: str) -> str | None:
        """The SE's user id in an owner-set key, or None if `key` is not one."""
        head = f"{self.prefix}:owner:"
        return key[len(head) :] or None if key.startswith(head) else None

    def owner_pattern(self) -> str:
        """SCAN pattern matching every owner set. Only for the index repair tool."""
        return f"{_glob_escape(self.prefix)}:owner:*"

    def step_durations(self, step: str) -> str:
        """Sorted set: tenant id scored by the business seconds it spent in `step` (the last time
        it finished that step), for the median time per step."""
        return f"{self.prefix}:durations:{step}"

    def digest(self, name: str) -> str:
        """A weekly digest's delivery state (`pending`/`sent`), by the week it covers."""
        return f"{self.prefix}:digest:{name}"

    def digest_last(self) -> str:
        """When the last digest went out (epoch seconds): what "since the last digest" means."""
        return f"{self.prefix}:digest:last"

    def outbox_pending(self) -> str:
        """Set of tenant ids whose outbox holds effects not yet carried out."""
        return f"{self.prefix}:outbox:pending"

    def inbox_event(self, event_id: str) -> str:
        """A Slack event taken for work (`bot.state.inbox`): its body while pending, then only
        that it was done, until the dedupe TTL ends. Tagged `{inbox}`: one slot with the index."""
        return f"{self.prefix}:{{inbox}}:event:{event_id}"

    def inbox_pending(self) -> str:
        """Sorted set: ids of events taken and not finished, scored by their lease's end (ms)."""
        return f"{self.prefix}:{{inbox}}:pending"

    def retention(self) -> str:
        """Sorted set: live tenants whose record still holds document metadata, scored by when
        they went live; the sweep forgets the documents once `DOCUMENT_RETENTION` has passed."""
        return f"{self.prefix}:retention"

    def retention_seeded(self) -> str:
        """Set once the sweep has put every live tenant into `retention` (tenants that went
        live before that index existed are not in it)."""
        return f"{self.prefix}:retention:seeded"

    def reconciled(self) -> str:
        """When the sweep's reconciler last rebuilt the global indexes (epoch seconds)."""
        return f"{self.prefix}:indexes:reconciled"

    def purges(self) -> str:
        """Capped stream, one entry per purged tenant: who, when, which tenant id. It lives
        outside every tenant so it outlasts the purge; it holds no personal data."""
        return f"{self.prefix}:audit:purges"

    def cloud_due(self) -> str:
        """Sorted set: tenant id -> when (epoch seconds) the cloud check asks about it next,
        for the tenants that gave a cloud API key (`bot.cloud.sweep`)."""
        return f"{self.prefix}:cloud:due"

    def lease(self, name: str) -> str:
        """Who holds the lease `name` (SET NX PX). Tagged `{lease:<name>}`: one slot with its
        fence, which the same transaction increments."""
        return f"{self.prefix}:{{lease:{name}}}"

    def lease_fence(self, name: str) -> str:
        """The lease's fencing counter: the holder's token is its value when it took the lease."""
        return f"{self.prefix}:{{lease:{name}}}:fence"

    def legacy_lease_fence(self, name: str) -> str:
        """Where the fence was kept before leases had a hash tag: read once, so tokens keep
        growing across the upgrade (rungs recorded with the old tokens stay older)."""
        return f"{self.prefix}:lease:{name}:fence"
