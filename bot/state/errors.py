"""What can go wrong in the state layer, as exceptions that name the tenant and the problem.

One error-to-message mapping elsewhere turns these into a friendly, localized reply; the
messages here are for logs and for the SEs who read them.
"""

from __future__ import annotations


class StateError(Exception):
    """Base of every state-layer error."""


class TenantError(StateError):
    """A problem with one tenant; `tenant_id` says which."""

    def __init__(self, tenant_id: str, message: str) -> None:
        super().__init__(message)
        self.tenant_id = tenant_id


class TenantExists(TenantError):
    def __init__(self, tenant_id: str) -> None:
        super().__init__(tenant_id, f"tenant {tenant_id!r} already exists")


class TenantNotFound(TenantError):
    def __init__(self, tenant_id: str) -> None:
        super().__init__(tenant_id, f"tenant {tenant_id!r} does not exist")


class ChannelAlreadyBound(TenantError):
    """The channel already belongs to a tenant; `tenant_id` is that tenant, not the newcomer."""

    def __init__(self, tenant_id: str, channel_id: str) -> None:
        super().__init__(
            tenant_id, f"channel {channel_id} is already bound to tenant {tenant_id!r}"
        )
        self.channel_id = channel_id


class CorruptRecord(TenantError):
    """A stored value cannot be read back: not JSON, or not the shape we write.

    Nothing is repaired automatically; the tenant's other keys are left untouched so an SE can
    look at the audit stream, then purge the tenant (or restore the record by hand).
    """

    def __init__(self, tenant_id: str, why: str, *, key: str | None = None) -> None:
        where = f" at key {key}" if key else ""
        super().__init__(tenant_id, f"stored data of tenant {tenant_id!r}{where} is corrupt: {why}")
        self.why = why
        self.key = key


class CorruptOutboxEntry(CorruptRecord):
    """One outbox entry cannot be read; the runner should `abandon` it to unblock the rest."""

    def __init__(self, tenant_id: str, stream_entry_id: str, why: str, *, key: str) -> None:
        super().__init__(tenant_id, f"outbox entry {stream_entry_id}: {why}", key=key)
        self.stream_entry_id = stream_entry_id


class UnknownSchemaVersion(TenantError):
    """The record was written by a newer (or unknown) release; refusing beats overwriting it."""

    def __init__(self, tenant_id: str, found: object, supported: int) -> None:
        super().__init__(
            tenant_id,
            f"record of tenant {tenant_id!r} has schema_version {found!r}; this release reads"
            f" versions up to {supported} (is a newer release writing to the same Redis?)",
        )
        self.found = found
        self.supported = supported


class Contention(TenantError):
    """Too many concurrent writers: the compare-and-set lost every attempt."""

    def __init__(self, tenant_id: str, attempts: int) -> None:
        super().__init__(
            tenant_id,
            f"update of tenant {tenant_id!r} lost to concurrent writers {attempts} times in a row",
        )
        self.attempts = attempts


class InvalidChange(TenantError):
    """`apply` returned a record the store refuses to write (e.g. another tenant id)."""

    def __init__(self, tenant_id: str, why: str) -> None:
        super().__init__(tenant_id, f"refused change to tenant {tenant_id!r}: {why}")
        self.why = why
