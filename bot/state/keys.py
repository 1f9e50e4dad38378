"""Every Redis key the bot uses. Nothing else builds key strings.

Keys of one tenant share the hash tag `{tenant_id}` so they live in one Redis Cluster slot.
Global keys (indexes, dedupe, outbox queue, the sweep lease) carry the `onb:` prefix too, so a
shared Redis can be inspected and cleaned by prefix. `prefix` lets tests and several deployments
share one Redis without touching each other's data.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Keys:
    prefix: str = "onb"

    # -- per tenant ---------------------------------------------------------------------
    def record(self, tenant_id: str) -> str:
        return f"{self.prefix}:{{{tenant_id}}}:record"

    def audit(self, tenant_id: str) -> str:
        return f"{self.prefix}:{{{tenant_id}}}:audit"

    def outbox(self, tenant_id: str) -> str:
        return f"{self.prefix}:{{{tenant_id}}}:outbox"

    # -- global -------------------------------------------------------------------------
    def tenants(self) -> str:
        """Set of every tenant id."""
        return f"{self.prefix}:tenants"

    def channel(self, channel_id: str) -> str:
        """Which tenant a Slack channel is bound to."""
        return f"{self.prefix}:channel:{channel_id}"

    def step_index(self, step: str) -> str:
        """Set of tenant ids currently at `step`."""
        return f"{self.prefix}:step:{step}"

    def last_activity(self) -> str:
        """Sorted set: tenant id scored by the time of its last change (epoch seconds)."""
        return f"{self.prefix}:activity"

    def outbox_pending(self) -> str:
        """Set of tenant ids whose outbox holds effects not yet carried out."""
        return f"{self.prefix}:outbox:pending"

    def dedupe(self, event_id: str) -> str:
        """Marks a Slack event id as seen (SET NX with a TTL)."""
        return f"{self.prefix}:dedupe:{event_id}"

    def lease(self, name: str) -> str:
        return f"{self.prefix}:lease:{name}"

    def lease_fence(self, name: str) -> str:
        return f"{self.prefix}:lease:{name}:fence"
