"""Everything the bot keeps in Redis: tenant records, audit, outbox, indexes, dedupe, lease.

`keys.py` names every key; nothing else builds key strings.
"""

from bot.state.connection import create_redis
from bot.state.errors import (
    ChannelAlreadyBound,
    Contention,
    CorruptOutboxEntry,
    CorruptRecord,
    InvalidChange,
    StateError,
    TenantError,
    TenantExists,
    TenantNotFound,
    UnknownSchemaVersion,
)
from bot.state.keys import Keys
from bot.state.lease import LeaseGrant, Leases
from bot.state.outbox import AbandonedEffect, Claim, PendingEffect, RedisOutbox
from bot.state.records import SCHEMA_VERSION, AuditEntry, SlackRefs, TenantRecord, migrate
from bot.state.store import (
    Change,
    IndexReport,
    Purged,
    RedisTenantStore,
    SlackFile,
    TenantStore,
    UpdateResult,
)

__all__ = [
    "SCHEMA_VERSION",
    "AbandonedEffect",
    "AuditEntry",
    "Change",
    "ChannelAlreadyBound",
    "Claim",
    "Contention",
    "CorruptOutboxEntry",
    "CorruptRecord",
    "IndexReport",
    "InvalidChange",
    "Keys",
    "LeaseGrant",
    "Leases",
    "PendingEffect",
    "Purged",
    "RedisOutbox",
    "RedisTenantStore",
    "SlackFile",
    "SlackRefs",
    "StateError",
    "TenantError",
    "TenantExists",
    "TenantNotFound",
    "TenantRecord",
    "TenantStore",
    "UnknownSchemaVersion",
    "UpdateResult",
    "create_redis",
    "migrate",
]
