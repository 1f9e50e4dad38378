"""Asking Slack to delete files a tenant's record referred to (purge, document retention).

A bot token deletes only what the bot uploaded: for a customer's upload Slack answers
`cant_delete_file`, and only the uploader or a workspace admin can delete it. So deleting is
best effort, and the answer says which files are left for a person to delete.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.state import SlackFile

log = logging.getLogger(__name__)

# Answers that mean the file is no longer in Slack: nothing is left to delete.
ALREADY_GONE = frozenset({"file_deleted", "file_not_found"})


@dataclass(frozen=True)
class FileDeletion:
    deleted: tuple[SlackFile, ...] = ()
    gone: tuple[SlackFile, ...] = ()  # deleted before we asked
    failed: tuple[tuple[SlackFile, str], ...] = ()  # with Slack's error (or the network's)


async def delete_files(client: AsyncWebClient, files: Iterable[SlackFile]) -> FileDeletion:
    """Ask Slack to delete each file, one after the other (files.delete is rate tier 3)."""
    deleted: list[SlackFile] = []
    gone: list[SlackFile] = []
    failed: list[tuple[SlackFile, str]] = []
    for file in files:
        try:
            await client.files_delete(file=file.file_id)
        except SlackApiError as exc:
            error = str(exc.response.get("error") or "unknown_error")
            if error in ALREADY_GONE:
                gone.append(file)
            else:
                failed.append((file, error))
            continue
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            failed.append((file, type(exc).__name__))
            continue
        deleted.append(file)
    return FileDeletion(tuple(deleted), tuple(gone), tuple(failed))


def log_deletion(what: str, tenant_id: str, result: FileDeletion) -> None:
    """One line: counts and the ids Slack refused with why (never file names: people name
    identity documents after the person)."""
    refused = ", ".join(f"{file.file_id} ({error})" for file, error in result.failed)
    log.info(
        "%s %s: %d Slack file(s) deleted, %d already gone, %d not deleted%s",
        what,
        tenant_id,
        len(result.deleted),
        len(result.gone),
        len(result.failed),
        f": {refused}" if refused else "",
    )
