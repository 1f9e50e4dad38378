"""Fetch one uploaded file from Slack to learn what it is: its real type, size and sha256.

The bytes of an identity document are the most sensitive data the bot touches, so they are
streamed through a hash and dropped: nothing of them is stored, logged, or kept reachable
afterwards (not even from a refused upload's traceback, which error reporters read locals from).
With an `examine` callback (the pre-check), the bytes of an accepted file, at most `max_bytes`,
are held in memory until it has looked at them, and dropped then; only its findings are kept.

The bot token goes only to the download hosts the settings allow (`Settings.slack_file_hosts`),
over https (http only on the loopback interface, for the fake Slack in tests). Redirects are
followed by hand, each hop checked the same way, because aiohttp would forward the
`Authorization` header to wherever a redirect points.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

import aiohttp
from aiohttp import hdrs
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient
from yarl import URL

from bot.documents.formats import (
    ACCEPTED,
    IMAGE_HEAD_BYTES,
    MAX_IMAGE_PIXELS,
    FileFormat,
    claimed_format,
    format_size,
    image_pixels,
    sniff,
)
from bot.flows.effects import MessageRef

log = logging.getLogger(__name__)

# files.info is one small call; the download may be 20 MB from a customer on a slow link.
FILES_INFO_SECONDS = 10.0
DOWNLOAD_SECONDS = 120.0
DOWNLOAD_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=30)
MAX_REDIRECTS = 3

_CHUNK_BYTES = 64 * 1024
_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})


class RejectReason(StrEnum):
    """Why an upload cannot be used. Each has a message `uploads.rejected.<value>`."""

    TOO_LARGE = "too_large"
    WRONG_TYPE = "wrong_type"
    DOWNLOAD_FAILED = "download_failed"
    NOT_ALLOWED_HOST = "not_allowed_host"
    EMPTY = "empty"
    IMAGE_TOO_LARGE = "image_too_large"  # declares more pixels than any scan has


# A wrong type whose name claims an accepted one (`licence.pdf` that is a Word file) is told
# apart: the customer believes they sent a PDF and needs to hear that it is not one.
WRONG_TYPE_DISGUISED_KEY = "uploads.rejected.wrong_type_disguised"


class UploadRejected(Exception):
    """The file cannot be used as a document; `message` says why and what to do instead.

    `params` (literal) always hold `name` (the file's name, escaped when rendered) and `limit`
    (the size limit, e.g. `20 MB`); `wrong_type` also has `labels` `claimed` and `actual` (content
    keys of format names). `detail` is for logs only; it never holds a token, a file name or
    any of the file's bytes.
    """

    def __init__(
        self,
        reason: RejectReason,
        params: Mapping[str, str] | None = None,
        *,
        labels: Mapping[str, str] | None = None,
        detail: str = "",
        key: str | None = None,
    ) -> None:
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason
        self.params: dict[str, str] = dict(params or {})
        self.labels: dict[str, str] = dict(labels or {})
        self.detail = detail
        self.key = key or f"uploads.rejected.{reason.value}"

    @property
    def message(self) -> MessageRef:
        return MessageRef(key=self.key, params=self.params, labels=self.labels)


@dataclass(frozen=True, slots=True)
class InspectedFile:
    """What the bot keeps of an upload: metadata and a hash, never the bytes."""

    file_id: str
    name: str
    mimetype: str  # detected from the bytes: application/pdf, image/jpeg or image/png
    size: int
    sha256: str
    uploader: str | None = None  # the Slack user who uploaded it (the file's `user`)
    findings: tuple[str, ...] = ()  # what the pre-check saw wrong (`precheck.Finding` values)


# Looks at an accepted file's bytes and says what is wrong with them; must not keep them.
Examine = Callable[[bytes, FileFormat], Awaitable[tuple[str, ...]]]
_FORMATS = {mimetype: fmt for fmt, mimetype in ACCEPTED.items()}


@dataclass(frozen=True)
class _Subject:
    """The file being inspected, as far as messages and logs may name it."""

    file_id: str
    name: str
    limit: str
    declared_mimetype: str

    def reject(
        self,
        reason: RejectReason,
        detail: str,
        *,
        labels: Mapping[str, str] | None = None,
        key: str | None = None,
    ) -> UploadRejected:
        params = {"name": self.name, "limit": self.limit}
        return UploadRejected(reason, params, labels=labels, detail=detail, key=key)


def _subject(file: Mapping[str, Any], file_id: str, max_bytes: int) -> _Subject:
    name = file.get("name") or file.get("title") or file_id
    mimetype = file.get("mimetype")
    return _Subject(
        file_id=file_id,
        name=str(name),
        limit=format_size(max_bytes),
        declared_mimetype=mimetype.lower() if isinstance(mimetype, str) else "",
    )


def _download_url(file: Mapping[str, Any]) -> str | None:
    for field in ("url_private_download", "url_private"):
        value = file.get(field)
        if isinstance(value, str) and value:
            return value
    return None


def _refusal(url: URL, allowed_hosts: frozenset[str]) -> str | None:
    """Why the bot token must not be sent to `url`, or None when it may."""
    host = (url.host or "").lower()
    if url.scheme == "http" and host in _LOOPBACK:
        pass
    elif url.scheme != "https":
        return f"scheme {url.scheme or 'missing'!r} on host {host or '?'}"
    if url.user is not None or url.password is not None:
        return f"credentials in the URL of host {host}"
    if host not in allowed_hosts:
        return f"host {host or '?'} is not a Slack file host"
    return None


async def _metadata(
    file: Mapping[str, Any], subject: _Subject, slack: AsyncWebClient | None
) -> Mapping[str, Any]:
    """The full file object: a Slack Connect stub or a `file_shared` id needs `files.info`."""
    if file.get("file_access") != "check_file_info" and _download_url(file):
        return file
    if slack is None:
        raise subject.reject(
            RejectReason.DOWNLOAD_FAILED, "files.info needed but no Web API client given"
        )
    try:
        async with asyncio.timeout(FILES_INFO_SECONDS):
            response = await slack.files_info(file=subject.file_id)
    except SlackApiError as exc:
        error = exc.response.get("error") if exc.response is not None else None
        raise subject.reject(RejectReason.DOWNLOAD_FAILED, f"files.info: {error}") from None
    except (SlackClientError, aiohttp.ClientError, OSError, TimeoutError) as exc:
        detail = f"files.info: {type(exc).__name__}"
        raise subject.reject(RejectReason.DOWNLOAD_FAILED, detail) from None
    info = response.get("file")
    if not isinstance(info, Mapping) or info.get("id") != subject.file_id:
        raise subject.reject(RejectReason.DOWNLOAD_FAILED, "files.info: no such file in answer")
    return info


def _html(subject: _Subject) -> UploadRejected:
    """An HTML answer: a web page the customer uploaded, or (usually) Slack's sign-in page."""
    claimed = claimed_format(subject.name)
    if claimed is FileFormat.HTML or subject.declared_mimetype in _HTML_TYPES:
        labels = {"claimed": claimed.label_key, "actual": FileFormat.HTML.label_key}
        return subject.reject(RejectReason.WRONG_TYPE, "an HTML page", labels=labels)
    return subject.reject(
        RejectReason.DOWNLOAD_FAILED, "answered with HTML (Slack's sign-in page: token refused?)"
    )


def _judge(head: bytes | bytearray, subject: _Subject) -> FileFormat:
    """The format of a file from its first bytes when it is accepted; otherwise the rejection
    to tell the customer."""
    actual = sniff(head)
    if actual in ACCEPTED:
        pixels = image_pixels(head, actual)
        if pixels is not None and pixels > MAX_IMAGE_PIXELS:
            raise subject.reject(RejectReason.IMAGE_TOO_LARGE, f"declares {pixels} pixels")
        return actual
    if actual is FileFormat.HTML:
        raise _html(subject)
    claimed = claimed_format(subject.name)
    raise subject.reject(
        RejectReason.WRONG_TYPE,
        f"content is {actual.value}, name says {claimed.value}",
        labels={"claimed": claimed.label_key, "actual": actual.label_key},
        key=WRONG_TYPE_DISGUISED_KEY if claimed in ACCEPTED else None,
    )


async def _read(
    response: aiohttp.ClientResponse, subject: _Subject, max_bytes: int, keep: bytearray | None
) -> InspectedFile:
    """Stream the body through the checks and the hash; with `keep`, also into it (bounded by
    `max_bytes` like the download)."""
    if response.status != 200:
        raise subject.reject(RejectReason.DOWNLOAD_FAILED, f"HTTP {response.status}")
    encoding = response.headers.get(hdrs.CONTENT_ENCODING, "identity").strip().lower()
    if encoding not in ("", "identity"):
        # Asked for identity; decompressing untrusted data could outgrow any limit.
        raise subject.reject(RejectReason.DOWNLOAD_FAILED, f"content encoding {encoding}")
    if response.content_type in _HTML_TYPES:
        raise _html(subject)
    length = response.content_length
    if length is not None and length > max_bytes:
        raise subject.reject(RejectReason.TOO_LARGE, f"Content-Length {length}")

    digest = hashlib.sha256()
    size = 0
    head = bytearray()
    fmt: FileFormat | None = None
    try:
        async for chunk in response.content.iter_chunked(_CHUNK_BYTES):
            size += len(chunk)
            if size > max_bytes:
                raise subject.reject(RejectReason.TOO_LARGE, f"more than {max_bytes} bytes sent")
            digest.update(chunk)
            if keep is not None:
                keep += chunk
            if fmt is None:
                head += chunk[: IMAGE_HEAD_BYTES - len(head)]
                if len(head) >= IMAGE_HEAD_BYTES:
                    # Judged early: a 20 MB Word file is refused after its first bytes.
                    fmt = _judge(head, subject)
                    head.clear()
        if size == 0:
            raise subject.reject(RejectReason.EMPTY, "0 bytes")
        if fmt is None:
            fmt = _judge(head, subject)
    finally:
        head.clear()
    return InspectedFile(
        file_id=subject.file_id,
        name=subject.name,
        mimetype=ACCEPTED[fmt],
        size=size,
        sha256=digest.hexdigest(),
    )


async def _download(
    http: aiohttp.ClientSession,
    url: URL,
    subject: _Subject,
    *,
    bot_token: str,
    allowed_hosts: frozenset[str],
    max_bytes: int,
    keep: bytearray | None,
) -> InspectedFile:
    headers = {
        hdrs.AUTHORIZATION: f"Bearer {bot_token}",
        hdrs.ACCEPT_ENCODING: "identity",
    }
    for _ in range(MAX_REDIRECTS + 1):
        refusal = _refusal(url, allowed_hosts)
        if refusal is not None:
            raise subject.reject(RejectReason.NOT_ALLOWED_HOST, refusal)
        async with http.get(
            url,
            headers=headers,
            allow_redirects=False,
            raise_for_status=False,
            auto_decompress=False,
            timeout=DOWNLOAD_TIMEOUT,
        ) as response:
            if response.status not in _REDIRECT_STATUSES:
                return await _read(response, subject, max_bytes, keep)
            location = response.headers.get(hdrs.LOCATION)
        if not location:
            raise subject.reject(RejectReason.DOWNLOAD_FAILED, "redirect without a Location")
        try:
            url = url.join(URL(location))
        except ValueError:
            raise subject.reject(RejectReason.DOWNLOAD_FAILED, "malformed redirect") from None
    raise subject.reject(RejectReason.DOWNLOAD_FAILED, "too many redirects")


async def _inspect(
    http: aiohttp.ClientSession,
    file: Mapping[str, Any],
    file_id: str,
    *,
    bot_token: str,
    allowed_hosts: frozenset[str],
    max_bytes: int,
    slack: AsyncWebClient | None,
    examine: Examine | None,
) -> InspectedFile:
    meta = await _metadata(file, _subject(file, file_id, max_bytes), slack)
    subject = _subject(meta, file_id, max_bytes)
    declared = meta.get("size")
    if isinstance(declared, int) and declared > max_bytes:
        raise subject.reject(RejectReason.TOO_LARGE, f"declared {declared} bytes")
    raw_url = _download_url(meta)
    if raw_url is None:
        # Deleted (tombstone), hidden by the workspace's plan, or not a Slack-hosted file.
        raise subject.reject(RejectReason.DOWNLOAD_FAILED, "no download URL")
    try:
        url = URL(raw_url)
    except ValueError:
        raise subject.reject(RejectReason.DOWNLOAD_FAILED, "malformed download URL") from None
    uploader = meta.get("user")
    keep = bytearray() if examine is not None else None
    try:
        try:
            async with asyncio.timeout(DOWNLOAD_SECONDS):
                inspected = await _download(
                    http,
                    url,
                    subject,
                    bot_token=bot_token,
                    allowed_hosts=allowed_hosts,
                    max_bytes=max_bytes,
                    keep=keep,
                )
        except (aiohttp.ClientError, TimeoutError) as exc:
            detail = f"download: {type(exc).__name__}"
            raise subject.reject(RejectReason.DOWNLOAD_FAILED, detail) from None
        if examine is not None and keep is not None:
            # After the download's connection is closed: the examination may take a while.
            findings = await examine(bytes(keep), _FORMATS[inspected.mimetype])
            inspected = replace(inspected, findings=tuple(findings))
    finally:
        if keep is not None:
            keep.clear()  # the only copy left of the bytes (`bytes(keep)` died with the call)
    if isinstance(uploader, str) and uploader:
        return replace(inspected, uploader=uploader)
    return inspected


async def inspect_file(
    http: aiohttp.ClientSession,
    file: Mapping[str, Any],
    *,
    bot_token: str,
    allowed_hosts: frozenset[str],
    max_bytes: int,
    slack: AsyncWebClient | None = None,
    examine: Examine | None = None,
) -> InspectedFile:
    """Download a file a customer shared (a `files` item of a `message` event, or the `file` of
    `file_shared`) and describe it, or raise `UploadRejected`.

    `slack` resolves Slack Connect stubs and bare ids through `files.info`. `allowed_hosts` are
    the hosts the bot token may be sent to; `max_bytes` caps the download whatever the file's
    metadata or the response's Content-Length say. `examine`, when given, looks at the bytes
    of an accepted file before they are dropped; its answer is the result's `findings`.
    """
    file_id = file.get("id")
    if not isinstance(file_id, str) or not file_id:
        subject = _subject(file, "?", max_bytes)
        raise subject.reject(RejectReason.DOWNLOAD_FAILED, "file object without an id")
    hosts = frozenset(host.lower() for host in allowed_hosts)
    try:
        return await _inspect(
            http,
            file,
            file_id,
            bot_token=bot_token,
            allowed_hosts=hosts,
            max_bytes=max_bytes,
            slack=slack,
            examine=examine,
        )
    except UploadRejected as exc:
        log.info("upload %s refused: %s", file_id, exc)
        # Cut the traceback and the chained exception: their frames hold the HTTP response
        # and its buffers, which error reporters (and debuggers) would read.
        exc.__context__ = None
        exc.__cause__ = None
        raise exc.with_traceback(None) from None
