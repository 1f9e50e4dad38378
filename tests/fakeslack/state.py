"""State kept by the fake Slack: seeded workspace objects, posted messages, views, files.

Each object can render itself the way the Slack Web API shows it (`as_slack()` / `info()`).
Nothing here talks to the network; `server.py` owns the HTTP side.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

JSON = dict[str, Any]

# Defaults shared by FakeSlack and SlackDriver, so a test that does not care gets a consistent
# workspace. They have the shapes of real ids (bot/config.py checks user and channel ids).
TEAM_ID = "T0FAKETEAM1"
TEAM_NAME = "Acme Onboarding"
TEAM_DOMAIN = "acme-onboarding"
API_APP_ID = "A0FAKEAPP01"
BOT_USER_ID = "U0FAKEBOT01"
BOT_ID = "B0FAKEBOT01"
BOT_NAME = "onboarding-bot"
BOT_TOKEN = "xoxb-test-0000000000-fake"  # the fake's own token, not a secret


class TsClock:
    """Hands out Slack `ts` strings ("1732550000.000100"): unique, increasing, near real time."""

    def __init__(self) -> None:
        self._last_us = 0

    def next(self) -> str:
        now_us = time.time_ns() // 1000
        self._last_us = max(now_us, self._last_us + 1)
        return f"{self._last_us // 1_000_000}.{self._last_us % 1_000_000:06d}"


class IdMaker:
    """Slack-shaped ids (`F0000000001`, `V0000000002` …), unique within one fake."""

    def __init__(self) -> None:
        self._n = 0

    def new(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}{self._n:010d}"


@dataclass
class Channel:
    id: str
    name: str
    members: list[str] = field(default_factory=list)
    is_ext_shared: bool = False
    is_private: bool = False
    is_im: bool = False
    im_user: str | None = None  # the other party of a DM
    created: int = field(default_factory=lambda: int(time.time()))

    def info(self, *, team_id: str, shared_team_ids: list[str]) -> JSON:
        if self.is_im:
            return {
                "id": self.id,
                "created": self.created,
                "is_im": True,
                "is_org_shared": False,
                "context_team_id": team_id,
                "user": self.im_user,
                "is_user_deleted": False,
                "priority": 0,
            }
        return {
            "id": self.id,
            "name": self.name,
            "is_channel": not self.is_private,
            "is_group": self.is_private,
            "is_im": False,
            "is_mpim": False,
            "is_private": self.is_private,
            "created": self.created,
            "is_archived": False,
            "is_general": False,
            "unlinked": 0,
            "name_normalized": self.name,
            "is_shared": self.is_ext_shared,
            "is_org_shared": False,
            "is_ext_shared": self.is_ext_shared,
            "is_pending_ext_shared": False,
            "pending_shared": [],
            "context_team_id": team_id,
            "conversation_host_id": team_id,
            "shared_team_ids": shared_team_ids,
            "is_member": True,
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
            "previous_names": [],
        }


@dataclass
class User:
    id: str
    name: str
    real_name: str
    team_id: str
    locale: str = "en-US"
    is_bot: bool = False
    email: str | None = None  # kept in the fake only: the bot has no users:read.email scope
    tz: str = "Asia/Shanghai"
    tz_label: str = "China Standard Time"
    tz_offset: int = 8 * 3600
    is_admin: bool = False
    deleted: bool = False

    def info(self, *, include_locale: bool, include_email: bool = False) -> JSON:
        user: JSON = {
            "id": self.id,
            "team_id": self.team_id,
            "name": self.name,
            "deleted": self.deleted,
            "color": "9f69e7",
            "real_name": self.real_name,
            "tz": self.tz,
            "tz_label": self.tz_label,
            "tz_offset": self.tz_offset,
            "profile": {
                "title": "",
                "phone": "",
                "real_name": self.real_name,
                "real_name_normalized": self.real_name,
                "display_name": self.name,
                "display_name_normalized": self.name,
                "status_text": "",
                "status_emoji": "",
                "avatar_hash": "g000000000aa",
                "team": self.team_id,
            },
            "is_admin": self.is_admin,
            "is_owner": False,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "updated": 1_700_000_000,
            "is_email_confirmed": True,
            "who_can_share_contact_card": "EVERYONE",
        }
        if include_locale:
            user["locale"] = self.locale
        if include_email and self.email:
            user["profile"]["email"] = self.email
        return user


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    user: str
    blocks: list[JSON] | None = None
    attachments: list[JSON] | None = None
    thread_ts: str | None = None
    ephemeral: bool = False
    target_user: str | None = None  # who sees an ephemeral message
    files: list[str] = field(default_factory=list)
    metadata: JSON | None = None
    deleted: bool = False
    reactions: dict[str, list[str]] = field(default_factory=dict)
    # Earlier versions, oldest first, each {"text": ..., "blocks": ...}; chat.update appends.
    history: list[JSON] = field(default_factory=list)
    bot_id: str | None = None

    def as_slack(self, *, team_id: str, app_id: str) -> JSON:
        msg: JSON = {"type": "message", "user": self.user, "ts": self.ts, "text": self.text}
        if self.bot_id is not None:
            msg["bot_id"] = self.bot_id
            msg["app_id"] = app_id
        msg["team"] = team_id
        if self.blocks is not None:
            msg["blocks"] = self.blocks
        if self.attachments is not None:
            msg["attachments"] = self.attachments
        if self.thread_ts is not None and self.thread_ts != self.ts:
            msg["thread_ts"] = self.thread_ts
        if self.files:
            msg["files"] = [{"id": f} for f in self.files]
            msg["upload"] = False
        if self.metadata is not None:
            msg["metadata"] = self.metadata
        if self.history:
            msg["edited"] = {"user": self.user, "ts": self.ts}
        if self.reactions:
            msg["reactions"] = [
                {"name": name, "users": users, "count": len(users)}
                for name, users in self.reactions.items()
            ]
        return msg


@dataclass
class StoredFile:
    id: str
    name: str
    title: str
    mimetype: str
    user: str
    user_team: str
    content: bytes | None = None  # None until the bytes are uploaded
    channels: list[str] = field(default_factory=list)
    created: int = field(default_factory=lambda: int(time.time()))
    expected_length: int | None = None  # what files.getUploadURLExternal was told
    upload_key: str | None = None
    deleted: bool = False  # Slack keeps a deleted file's id, answering `file_deleted`

    @property
    def filetype(self) -> str:
        return self.name.rsplit(".", 1)[-1].lower() if "." in self.name else "binary"

    def info(self, *, base_url: str, team_domain: str) -> JSON:
        url = f"{base_url}files/{self.id}/{quote(self.name)}"
        return {
            "id": self.id,
            "created": self.created,
            "timestamp": self.created,
            "name": self.name,
            "title": self.title,
            "mimetype": self.mimetype,
            "filetype": self.filetype,
            "pretty_type": self.filetype.upper(),
            "user": self.user,
            "user_team": self.user_team,
            "editable": False,
            "size": len(self.content) if self.content is not None else 0,
            "mode": "hosted",
            "is_external": False,
            "external_type": "",
            "is_public": bool(self.channels),
            "public_url_shared": False,
            "display_as_bot": False,
            "username": "",
            "url_private": url,
            "url_private_download": url,
            "permalink": f"https://{team_domain}.slack.com/files/{self.user}/{self.id}/{self.name}",
            "permalink_public": f"https://slack-files.com/{self.user_team}-{self.id}-0000000000",
            "file_access": "visible",
            "comments_count": 0,
            "is_starred": False,
            "shares": {},
            "channels": [c for c in self.channels if c.startswith("C")],
            "groups": [c for c in self.channels if c.startswith("G")],
            "ims": [c for c in self.channels if c.startswith("D")],
            "has_rich_preview": False,
        }


@dataclass
class View:
    id: str
    type: str  # "modal" or "home"
    view: JSON  # the view as the app sent it
    hash: str
    root_view_id: str | None
    previous_view_id: str | None = None
    user_id: str | None = None  # owner of a published home view
    trigger_id: str | None = None
    closed: bool = False

    def as_slack(self, *, team_id: str, app_id: str, bot_id: str) -> JSON:
        v = self.view
        out: JSON = {
            "id": self.id,
            "team_id": team_id,
            "type": self.type,
            "blocks": v.get("blocks", []),
            "private_metadata": v.get("private_metadata", ""),
            "callback_id": v.get("callback_id", ""),
            "state": {"values": {}},
            "hash": self.hash,
            "clear_on_close": bool(v.get("clear_on_close", False)),
            "notify_on_close": bool(v.get("notify_on_close", False)),
            "root_view_id": self.root_view_id,
            "previous_view_id": self.previous_view_id,
            "app_id": app_id,
            "external_id": v.get("external_id", ""),
            "app_installed_team_id": team_id,
            "bot_id": bot_id,
        }
        if self.type == "modal":
            out["title"] = v.get("title")
            out["close"] = v.get("close")
            out["submit"] = v.get("submit")
        return out


@dataclass(frozen=True)
class Call:
    """One Web API request the fake received (also the rejected and the failed ones)."""

    method: str
    args: JSON  # query + body, JSON strings decoded, `token` removed
    token_ok: bool
    http_status: int
    response: JSON
    at: float  # time.monotonic()
    content_type: str = ""
    # What the Block Kit check (tests/fakeslack/blockkit.py) refused, in Slack's words; a call
    # refused for its blocks or view has these (invalid_blocks / invalid_arguments).
    refused_for: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return bool(self.response.get("ok")) and self.http_status == 200

    @property
    def refused(self) -> bool:
        """Slack refused this call's blocks or view (see `refused_for`)."""
        return bool(self.refused_for)

    def summary(self) -> str:
        shown = {k: _short(v) for k, v in self.args.items()}
        args = ", ".join(f"{k}={v}" for k, v in shown.items())
        result = "ok" if self.ok else self.response.get("error", "?")
        auth = "" if self.token_ok else " [bad token]"
        why = "".join(f"\n      {m}" for m in self.refused_for)
        return f"{self.method}({args}) -> HTTP {self.http_status} {result}{auth}{why}"


@dataclass(frozen=True)
class Transfer:
    """A file download (GET url_private) or upload (POST to an upload_url)."""

    kind: str  # "download" | "upload"
    file_id: str
    name: str
    token_ok: bool
    http_status: int
    size: int
    at: float


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
