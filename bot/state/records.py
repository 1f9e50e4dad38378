"""What the state layer stores per tenant, and how it is read back.

A record is stored as one JSON document. Every model here forbids unknown fields: an older
release that silently dropped fields a newer release wrote would lose data on its next write.
So adding a field means bumping `SCHEMA_VERSION` and adding a migration; an older release then
refuses the record with `UnknownSchemaVersion` instead of overwriting it.

Never store document bytes, ID numbers or any content of an identity document here or in an
audit entry's `detail`: only metadata (see `bot.flows.model.Document`).
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from bot.flows.model import Actor, Onboarding, Step
from bot.i18n import DEFAULT_LANG, Lang
from bot.ids import TENANT_ID_PATTERN
from bot.mrkdwn import typed_text
from bot.stalls.policy import StallState
from bot.state.errors import CorruptRecord, UnknownSchemaVersion

SCHEMA_VERSION: Final = 2

TenantId = Annotated[str, Field(pattern=TENANT_ID_PATTERN)]


def utcnow() -> datetime:
    return datetime.now(UTC)


class SlackRefs(BaseModel):
    """Timestamps of the messages the bot updates in place (Slack addresses a message by ts).

    Kept beside the record, in the tenant's `messages` hash (`refs_fields`), not in its bytes:
    remembering a message's ts is no change of the onboarding, and must not make a new version
    of the record (a compare-and-set for each message posted). The store reads the hash with the
    record and puts it here; records written before keep theirs inside, read as before (the
    hash wins), and move them to the hash at their next write.
    """

    model_config = ConfigDict(extra="forbid")

    checklist_ts: str | None = None
    prompt_ts: str | None = None
    prompt_stage: str | None = None  # the stage the prompt at `prompt_ts` was posted for
    # One review card per document submission round; the key is the round number.
    review_card_ts: dict[int, str] = Field(default_factory=dict)
    script_card_ts: str | None = None
    script_card_revision: int | None = (
        None  # the script revision the card at `script_card_ts` shows
    )


class Nudge(BaseModel):
    """A reminder an SE asked for: who, and when it was (or is to be) posted."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    by: str
    at: AwareDatetime


class CloudCheck(BaseModel):
    """What the TCCC cloud API showed at the last check that found something new (`bot.cloud`).
    `digest` tells one answer from another (a rejection's message) without keeping its text."""

    at: AwareDatetime
    step: Step
    status: str = Field(max_length=32)
    message: str = Field(max_length=120)  # the content key that says it
    digest: str = Field(pattern=r"^[0-9a-f]{16}$")

    def same_as(self, other: CloudCheck) -> bool:
        return (self.step, self.status, self.digest) == (other.step, other.status, other.digest)


class TenantRecord(BaseModel):
    """One enterprise's onboarding, as stored. `version` is the compare-and-set counter."""

    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[2] = SCHEMA_VERSION
    tenant_id: TenantId
    company: str = Field(min_length=1, max_length=200)
    channel_id: str = Field(min_length=1, max_length=64)
    team_id: str | None = None
    lang: Lang = DEFAULT_LANG
    # Set by the store: 1 on create, +1 on every write. What `apply` puts here is ignored.
    version: int = Field(default=0, ge=0)
    created_at: AwareDatetime
    updated_at: AwareDatetime
    last_activity_at: AwareDatetime
    created_by: str = Field(min_length=1)
    se_user: str | None = None  # the SE who owns the onboarding
    slack: SlackRefs = Field(default_factory=SlackRefs)
    onboarding: Onboarding = Field(default_factory=Onboarding)
    # -- keeping it moving (schema 2) --------------------------------------------------------
    step_since: AwareDatetime | None = None  # when the current step began
    live_at: AwareDatetime | None = None
    # When the stalled sweep should look at this tenant next (indexed; None: as soon as it can).
    check_at: AwareDatetime | None = None
    stall: StallState | None = None  # the current stall, until progress ends it
    last_reminder_at: AwareDatetime | None = None  # the last reminder posted to the customer
    last_nudge: Nudge | None = None
    queued_nudge: Nudge | None = None  # asked for in quiet hours; posted when they end
    cloud: CloudCheck | None = None  # the last new answer of the cloud API (bot.cloud.verify)

    @property
    def step(self) -> Step:
        return self.onboarding.step

    @classmethod
    def new(
        cls,
        *,
        tenant_id: str,
        company: str,
        channel_id: str,
        created_by: str,
        lang: Lang = DEFAULT_LANG,
        team_id: str | None = None,
        now: datetime | None = None,
        se_user: str | None = None,
    ) -> TenantRecord:
        """A fresh record at the first step, ready for `TenantStore.create`."""
        at = now or utcnow()
        return cls(
            tenant_id=tenant_id,
            company=company,
            channel_id=channel_id,
            team_id=team_id,
            lang=lang,
            created_at=at,
            updated_at=at,
            last_activity_at=at,
            created_by=created_by,
            se_user=se_user,
            step_since=at,
        )


class AuditEntry(BaseModel):
    """One thing that happened to a tenant: who, what, when, and the step before and after."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    actor: Actor
    event: str = Field(min_length=1)
    when: AwareDatetime = Field(default_factory=utcnow)
    from_step: Step | None = None
    to_step: Step | None = None
    detail: dict[str, str] = Field(default_factory=dict)
    # The record version this entry was committed with; stamped by the store.
    version: int | None = None


# -- schema migrations ---------------------------------------------------------------------

Migration = Callable[[dict[str, Any]], dict[str, Any]]


def _v1_to_v2(raw: dict[str, Any]) -> dict[str, Any]:
    """Schema 2 adds what keeps an onboarding moving. A v1 record's step began no later than
    its last activity; a live one went live then. The rest starts empty.

    Schema 1 also stored the company name as Slack delivered it, with `&`, `<` and `>` as
    entities; schema 2 stores it as typed, so it is decoded once here."""
    migrated = dict(raw)
    if isinstance(raw.get("company"), str):
        migrated["company"] = typed_text(raw["company"])
    migrated.setdefault("step_since", raw.get("last_activity_at"))
    onboarding = raw.get("onboarding")
    state = onboarding.get("state") if isinstance(onboarding, dict) else None
    if isinstance(state, list) and state[:1] == [Step.LIVE.value]:
        migrated.setdefault("live_at", raw.get("last_activity_at"))
    return migrated


# MIGRATIONS[n] turns a raw schema-n record into a raw schema-(n+1) record.
MIGRATIONS: dict[int, Migration] = {1: _v1_to_v2}


def migrate(raw: dict[str, Any]) -> dict[str, Any]:
    """Bring a raw stored record up to `SCHEMA_VERSION`, one version at a time.

    Raises `UnknownSchemaVersion` for a version this release cannot read (newer, or with no
    migration path) and `CorruptRecord` when there is no usable version at all.
    """
    tenant_id = str(raw.get("tenant_id", "?"))
    found = raw.get("schema_version")
    # bool is an int in Python; `true` is not a schema version.
    if not isinstance(found, int) or isinstance(found, bool):
        raise CorruptRecord(tenant_id, f"schema_version is {found!r}, not a number")
    version = found
    while version < SCHEMA_VERSION:
        step = MIGRATIONS.get(version)
        if step is None:
            raise UnknownSchemaVersion(tenant_id, found, SCHEMA_VERSION)
        raw = step(raw)
        version += 1
        raw["schema_version"] = version
    if version != SCHEMA_VERSION:
        raise UnknownSchemaVersion(tenant_id, found, SCHEMA_VERSION)
    return raw


# -- encoding ------------------------------------------------------------------------------


# A record is kept compressed: most of a tenant's memory is its record, whose JSON repeats the
# same keys (about a third of the bytes). One that starts with "{" is plain JSON, as records
# written before were, and as tools and tests may still write them; both are read.
_COMPRESSION_LEVEL = 6


def record_json(record: TenantRecord) -> bytes:
    # A value of the wrong type (slipped in by `model_copy(update=…)`) must fail here, loudly,
    # rather than be written with a warning.
    return record.model_dump_json(warnings="error").encode()


def encode_record(record: TenantRecord) -> bytes:
    """The bytes a record is stored as (deterministic: the same record, the same bytes)."""
    return zlib.compress(record_json(record), _COMPRESSION_LEVEL)


def stored_json(data: bytes) -> bytes:
    """The JSON of a stored record, compressed or not; ValueError when it is neither."""
    if not data or data[:1] == b"{":
        return data
    try:
        return zlib.decompress(data)
    except zlib.error as exc:
        raise ValueError(f"neither JSON nor a compressed record ({exc})") from None


def decode_record(tenant_id: str, data: bytes, *, key: str | None = None) -> TenantRecord:
    """Parse a stored record; every way it can be unreadable becomes a named error."""
    try:
        raw = json.loads(stored_json(data))
    except (UnicodeDecodeError, ValueError) as exc:
        raise CorruptRecord(tenant_id, f"not JSON ({exc})", key=key) from None
    if not isinstance(raw, dict):
        raise CorruptRecord(tenant_id, f"JSON {type(raw).__name__}, not an object", key=key)
    try:
        raw = migrate(raw)
    except CorruptRecord as exc:
        raise CorruptRecord(tenant_id, exc.why, key=key) from None
    except UnknownSchemaVersion as exc:
        raise UnknownSchemaVersion(tenant_id, exc.found, exc.supported) from None
    try:
        record = TenantRecord.model_validate(raw)
    except ValidationError as exc:
        raise CorruptRecord(tenant_id, _first_problem(exc), key=key) from None
    if record.tenant_id != tenant_id:
        raise CorruptRecord(tenant_id, f"holds tenant {record.tenant_id!r}", key=key)
    return record


# -- message timestamps beside the record -------------------------------------------------------

# `SlackRefs` field -> its field in the `messages` hash (short: every tenant has one).
_FIELDS: Final = {
    "checklist_ts": "cl",
    "prompt_ts": "pt",
    "prompt_stage": "ps",
    "script_card_ts": "sc",
    "script_card_revision": "sr",
}
_NAMES: Final = {field: name for name, field in _FIELDS.items()}
_CARD_PREFIX: Final = "rc:"  # + the round: `review_card_ts` of that round
# The field of the `messages` hash counting its writes: what the compare-and-set checks.
REFS_SERIAL: Final = "#"


def refs_fields(refs: SlackRefs) -> dict[str, str]:
    """The `messages` hash of `refs`: a field per message ts (a review card's per round)."""
    fields = {
        field: str(value)
        for name, field in _FIELDS.items()
        if (value := getattr(refs, name)) is not None
    }
    for round_, ts in refs.review_card_ts.items():
        fields[f"{_CARD_PREFIX}{round_}"] = ts
    return fields


def refs_changes(before: dict[str, str], after: SlackRefs) -> tuple[dict[str, str], list[str]]:
    """What to write to a `messages` hash that held `before` so that it holds `after`: the
    fields to set, and the fields to delete. Only what differs, so that a write does not undo
    a ts remembered meanwhile by someone else."""
    wanted = refs_fields(after)
    sets = {k: v for k, v in wanted.items() if before.get(k) != v}
    return sets, sorted(k for k in before if k not in wanted and k != REFS_SERIAL)


def refs_update(refs: dict[str, object]) -> dict[str, str]:
    """The `messages` fields that remembering `refs` (`SlackRefs` fields: the ts of messages
    posted) writes; an empty value deletes its field. Raises `ValidationError` for a bad one."""
    fields = refs_fields(SlackRefs.model_validate(refs))
    out: dict[str, str] = {}
    for name in refs:
        if name == "review_card_ts":
            out.update((k, v) for k, v in fields.items() if k.startswith(_CARD_PREFIX))
        else:
            out[_FIELDS[name]] = fields.get(_FIELDS[name], "")
    return out


def with_refs(record: TenantRecord, fields: dict[str, str]) -> TenantRecord:
    """`record` with the `messages` hash over the refs it holds inside (older records)."""
    if not fields.keys() - {REFS_SERIAL}:
        return record
    values: dict[str, Any] = {}
    cards = dict(record.slack.review_card_ts)
    for field, value in fields.items():
        name = _NAMES.get(field)
        if name == "script_card_revision":
            if value.lstrip("-").isdigit():
                values[name] = int(value)
        elif name is not None:
            values[name] = value
        elif field.startswith(_CARD_PREFIX) and field[len(_CARD_PREFIX) :].isdigit():
            cards[int(field[len(_CARD_PREFIX) :])] = value
    values["review_card_ts"] = cards
    slack = record.slack.model_copy(update=values)
    return record.model_copy(update={"slack": slack})


def text_fields(raw: Any) -> dict[str, str]:
    """An HGETALL reply (bytes) as text."""
    if not raw:
        return {}
    return {
        (k.decode() if isinstance(k, bytes) else str(k)): (
            v.decode(errors="replace") if isinstance(v, bytes) else str(v)
        )
        for k, v in raw.items()
    }


def decode_audit(tenant_id: str, data: bytes, *, key: str | None = None) -> AuditEntry:
    try:
        return AuditEntry.model_validate_json(data)
    except ValidationError as exc:
        raise CorruptRecord(tenant_id, f"audit entry: {_first_problem(exc)}", key=key) from None


def _first_problem(exc: ValidationError) -> str:
    errors = exc.errors(include_input=False)
    first = errors[0]
    where = ".".join(str(part) for part in first["loc"]) or "record"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {first['msg']}{more}"
