"""manifest.yml asks for exactly what the code uses: scopes, events, the command, interactivity."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]

# Web API methods the bot calls (as slack_sdk method names) and the bot scope each needs.
# https://api.slack.com/methods lists the scope of every method.
METHOD_SCOPES: dict[str, str | tuple[str, ...] | None] = {
    "auth_test": None,
    "chat_postMessage": "chat:write",
    "chat_postEphemeral": "chat:write",
    "chat_update": "chat:write",
    "chat_delete": "chat:write",
    "chat_getPermalink": None,
    "users_info": "users:read",
    "views_open": None,
    "views_update": None,
    "views_push": None,
    "views_publish": None,
    "files_info": "files:read",
    "files_getUploadURLExternal": "files:write",
    "files_completeUploadExternal": "files:write",
    "files_upload_v2": "files:write",
    "conversations_info": ("channels:read", "groups:read"),
    "conversations_members": ("channels:read", "groups:read"),
    "users_conversations": ("channels:read", "groups:read"),
    "conversations_open": "im:write",
    "reactions_add": "reactions:write",
}
EVENT_SCOPES: dict[str, str | None] = {
    "app_mention": "app_mentions:read",
    "message.im": "im:history",
    "message.channels": "channels:history",
    "message.groups": "groups:history",
    "file_shared": "files:read",
    "app_home_opened": None,
}
_CALL = re.compile(r"\.(" + "|".join(METHOD_SCOPES) + r")\(")


def _manifest() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "manifest.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _methods_called_by_the_bot() -> set[str]:
    called: set[str] = set()
    for path in (ROOT / "bot").rglob("*.py"):
        if "shell" in path.parts:
            continue  # the shell's own workspace answers calls, it does not make them
        called |= set(_CALL.findall(path.read_text(encoding="utf-8")))
    return called


def test_manifest_has_the_required_sections() -> None:
    m = _manifest()
    assert m["display_information"]["name"]
    assert m["features"]["bot_user"]["display_name"]
    assert m["settings"]["interactivity"]["is_enabled"] is True
    urls = [
        m["settings"]["event_subscriptions"]["request_url"],
        m["settings"]["interactivity"]["request_url"],
        *[c["url"] for c in m["features"]["slash_commands"]],
    ]
    assert all(u.startswith("https://") and u.endswith("/slack/events") for u in urls)
    assert [c["command"] for c in m["features"]["slash_commands"]] == ["/onboard"]


def test_scopes_are_exactly_what_the_code_uses() -> None:
    m = _manifest()
    granted = set(m["oauth_config"]["scopes"]["bot"])
    events = m["settings"]["event_subscriptions"]["bot_events"]
    unknown_events = set(events) - EVENT_SCOPES.keys()
    assert not unknown_events, f"add {unknown_events} to EVENT_SCOPES with their scope"
    needed = {"commands"}
    for method in _methods_called_by_the_bot():
        scopes = METHOD_SCOPES[method]
        needed |= {scopes} if isinstance(scopes, str) else set(scopes or ())
    needed |= {s for s in (EVENT_SCOPES[e] for e in events) if s}
    assert needed - granted == set(), "the code needs scopes the manifest does not ask for"
    assert granted - needed == set(), "the manifest asks for scopes the code does not use"


def test_app_home_tab_matches_the_events() -> None:
    m = _manifest()
    events = m["settings"]["event_subscriptions"]["bot_events"]
    assert m["features"]["app_home"]["home_tab_enabled"] == ("app_home_opened" in events)
    if "message.im" in events:
        assert m["features"]["app_home"]["messages_tab_enabled"] is True


def test_the_command_receives_mentions_as_user_ids() -> None:
    # `/onboard assign tenant @someone` needs the person's id: Slack sends `<@U…|name>` only
    # with should_escape.
    (command,) = _manifest()["features"]["slash_commands"]
    assert command["should_escape"] is True
