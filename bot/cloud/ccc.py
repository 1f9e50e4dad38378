"""The read-only part of the TCCC cloud API (`ccc`, version 2020-02-10) the bot needs to confirm a
tenant's progress, called with the tenant's own key through the official SDK.

Public interface::

    api = CccApi(url="https://ccc.tencentcloudapi.com", timeout=10.0)
    await api.instances(key) -> list[Instance]
    await api.companies(key) -> list[CompanyReview]
    await api.numbers(key, sdk_app_id) -> list[str]
    await api.staff_count(key, sdk_app_id) -> int
    await api.skill_group_count(key, sdk_app_id) -> int
    await api.staff_status(key, sdk_app_id) -> StaffStatus
    await api.call_count(key, sdk_app_id, start, end) -> int

Every failure is a `CloudError(kind, code, request_id)`; `kind` (an `ErrorKind`) is what a caller
acts on: `bad_key`, `no_permission`, `rate_limited` (retry later), `unavailable`, `timeout`,
`invalid`. Neither the SecretKey nor the whole SecretId appears in an error, a log line or a repr:
the SDK's own request and response dumps (which carry the Authorization header, hence the
SecretId, and the tenant's data) are dropped before any handler sees them.

Calls with one SecretId share a token bucket (`RateLimiter`, 20 requests a second, as the API
allows per account and action) and wait for it; a `RequestLimitExceeded` answer is still
possible (other clients of the same account) and surfaces as `rate_limited`.

CCC is a global service: the SDK needs no region (an empty one sends no `X-TC-Region`).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum, StrEnum
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
from tencentcloud.ccc.v20200210 import models
from tencentcloud.ccc.v20200210.ccc_client_async import CccClient
from tencentcloud.common.credential import Credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

from bot.cloud.keys import CloudKey

__all__ = [
    "DEFAULT_URL",
    "CccApi",
    "CloudError",
    "CompanyReview",
    "ErrorKind",
    "Instance",
    "RateLimiter",
    "ReviewState",
    "StaffStatus",
    "error_kind",
]

log = logging.getLogger(__name__)

DEFAULT_URL = "https://ccc.tencentcloudapi.com"
DEFAULT_TIMEOUT = 10.0
REQUESTS_PER_SECOND = 20.0
# The SDK logs every request (Authorization header included) and response body at DEBUG here.
SDK_LOGGER = "tencentcloud_sdk_common"
# Paging: the documented upper bounds (DescribeNumbers documents only its default, 20), and a cap
# on pages so that a misbehaving answer cannot keep us calling.
_COMPANY_PAGE = 100
_NUMBER_PAGE = 20
_MAX_PAGES = 50

T = TypeVar("T")


class ErrorKind(StrEnum):
    BAD_KEY = "bad_key"
    NO_PERMISSION = "no_permission"
    RATE_LIMITED = "rate_limited"
    UNAVAILABLE = "unavailable"
    TIMEOUT = "timeout"
    INVALID = "invalid"


class CloudError(Exception):
    """A call to the cloud API failed. `code` is Tencent Cloud's error code (or the SDK's, e.g.
    `ClientNetworkError`); `request_id` is what Tencent Cloud support asks for. Never carries
    the server's message, which is free text we do not control."""

    def __init__(self, kind: ErrorKind, code: str, request_id: str | None = None) -> None:
        super().__init__(kind, code, request_id)
        self.kind = kind
        self.code = code
        self.request_id = request_id

    def __str__(self) -> str:
        request = f", request {self.request_id}" if self.request_id else ""
        return f"cloud API {self.kind}: {self.code}{request}"

    def __repr__(self) -> str:
        return f"CloudError({self.kind.value!r}, {self.code!r}, {self.request_id!r})"


def error_kind(code: str) -> ErrorKind:
    """What a Tencent Cloud error code means to us (common error codes of API 3.0)."""
    if code == "AuthFailure.UnauthorizedOperation" or code.startswith("UnauthorizedOperation"):
        return ErrorKind.NO_PERMISSION
    if code.startswith("AuthFailure") or code == "InvalidCredential":
        return ErrorKind.BAD_KEY
    if code.startswith("RequestLimitExceeded"):
        return ErrorKind.RATE_LIMITED
    if code.startswith(("InternalError", "ServerNetworkError", "ClientNetworkError")):
        return ErrorKind.UNAVAILABLE
    return ErrorKind.INVALID


class ReviewState(IntEnum):
    """DescribeCompanyList's `State`."""

    PENDING = 1
    APPROVED = 2
    REJECTED = 3


@dataclass(frozen=True)
class Instance:
    """A call-center instance (an "application", SdkAppId) on the account."""

    sdk_app_id: int
    name: str
    staff_seats: int
    numbers: tuple[str, ...]


@dataclass(frozen=True)
class CompanyReview:
    """One enterprise qualification application and the reviewer's verdict."""

    apply_id: int
    company_name: str
    state: ReviewState
    message: str | None
    created_at: datetime | None
    checked_at: datetime | None


@dataclass(frozen=True)
class StaffStatus:
    """Who is signed in to the workbench now, and whether anyone ever was."""

    staff: int
    online: int
    last_online_at: datetime | None

    @property
    def anyone_logged_in(self) -> bool:
        return self.online > 0 or self.last_online_at is not None


Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class RateLimiter:
    """A token bucket per SecretId: `rate` tokens a second, at most `burst` saved up. Callers of one
    key queue on a lock, so the wait is computed by one caller at a time and `sleep` may be a
    virtual one that moves `clock` on (tests). A burst of 1 spaces calls evenly, which keeps any
    one-second window of the server's count at `rate` or below."""

    def __init__(
        self,
        rate: float = REQUESTS_PER_SECOND,
        *,
        burst: float = 1.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        max_keys: int = 1024,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self._rate = rate
        self._burst = burst
        self._clock = clock
        self._sleep = sleep
        self._max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}

    async def acquire(self, secret_id: str) -> None:
        bucket = self._buckets.get(secret_id)
        if bucket is None:
            self._forget_idle()
            bucket = self._buckets[secret_id] = _Bucket(self._burst, self._clock())
        async with bucket.lock:
            now = self._clock()
            bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.at) * self._rate)
            bucket.at = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return
            await self._sleep((1 - bucket.tokens) / self._rate)
            # The token that filled while we slept is ours. Counting from when we woke (not when
            # we meant to) loses what an oversleep accrued: slower, never faster, than `rate`.
            bucket.tokens = 0.0
            bucket.at = self._clock()

    def _forget_idle(self) -> None:
        """Drop buckets that have filled up again (nobody waits on them) once there are many."""
        if len(self._buckets) < self._max_keys:
            return
        now = self._clock()
        for secret_id, bucket in list(self._buckets.items()):
            full = bucket.tokens + (now - bucket.at) * self._rate >= self._burst
            if full and not bucket.lock.locked():
                del self._buckets[secret_id]


class _Bucket:
    def __init__(self, tokens: float, at: float) -> None:
        self.tokens = tokens
        self.at = at
        self.lock = asyncio.Lock()


class _DropAll(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return False


def silence_sdk_logger() -> None:
    """The SDK's DEBUG dumps carry the SecretId (Authorization header) and tenant data (bodies):
    drop them at the logger, before any handler (ours, or a test's capture) sees them."""
    sdk = logging.getLogger(SDK_LOGGER)
    if not any(isinstance(f, _DropAll) for f in sdk.filters):
        sdk.addFilter(_DropAll())


def _endpoint(url: str) -> tuple[str, str]:
    """`(scheme, host[:port])` of TCCC_API_URL, which must be an origin (no path or query)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("the TCCC API URL must be http(s)://host[:port]")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise ValueError("the TCCC API URL must have no path, query or credentials")
    return parts.scheme, parts.netloc


def _when(seconds: int | None) -> datetime | None:
    return datetime.fromtimestamp(seconds, UTC) if seconds else None


class CccApi:
    """The cloud API, as the bot calls it: one instance per process, safe to share.

    Built on the SDK's async client (httpx) rather than its sync client in a thread: a call that
    overruns its timeout is cancelled, socket and all, instead of holding a worker thread until
    `requests` gives up; and no thread pool is shared with the rest of the bot. The SDK's retries
    stay off (its default), so one call is one request and the timeout bounds it.
    """

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        limiter: RateLimiter | None = None,
        language: str = "en-US",
        max_clients: int = 256,
    ) -> None:
        self._scheme, self._host = _endpoint(url)
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self._timeout = timeout
        self._limiter = limiter or RateLimiter()
        self._language = language
        self._max_clients = max_clients
        self._clients: OrderedDict[tuple[str, str], CccClient] = OrderedDict()
        silence_sdk_logger()

    async def _client(self, key: CloudKey) -> CccClient:
        """The SDK client of `key`, kept for later calls: building one costs tens of
        milliseconds (httpx loads the CA bundle), so it is built once per key, off the loop.
        Keep-alive stays off, so a client holds no socket between calls and a dropped one
        needs no closing."""
        ident = (key.secret_id, hashlib.sha256(key.secret_key.encode()).hexdigest())
        client = self._clients.get(ident)
        if client is None:
            client = await asyncio.to_thread(self._new_client, key)
            self._clients[ident] = client
            while len(self._clients) > self._max_clients:
                self._clients.popitem(last=False)
        self._clients.move_to_end(ident)
        return client

    def _new_client(self, key: CloudKey) -> CccClient:
        # The SDK's own socket timeout is a backstop; asyncio.timeout bounds the whole call.
        http = HttpProfile(
            protocol=self._scheme,
            endpoint=self._host,
            reqTimeout=max(1, math.ceil(self._timeout)),
        )
        profile = ClientProfile(httpProfile=http, language=self._language)
        return CccClient(Credential(key.secret_id, key.secret_key), "", profile)

    async def aclose(self) -> None:
        """Close the kept SDK clients (at shutdown)."""
        clients = list(self._clients.values())
        self._clients.clear()
        for client in clients:
            await client.close()

    async def _call(self, key: CloudKey, action: str, request: Any) -> Any:
        """Send one request and return the SDK's response model, or raise CloudError."""
        await self._limiter.acquire(key.secret_id)
        try:
            async with asyncio.timeout(self._timeout):
                client = await self._client(key)
                return await getattr(client, action)(request)
        except TimeoutError:
            error = CloudError(ErrorKind.TIMEOUT, "Timeout")
        except httpx.TimeoutException:
            error = CloudError(ErrorKind.TIMEOUT, "Timeout")
        except httpx.HTTPError:
            error = CloudError(ErrorKind.UNAVAILABLE, "ClientNetworkError")
        except TencentCloudSDKException as exc:
            code = str(exc.code or "ServerNetworkError")
            error = CloudError(error_kind(code), code, exc.requestId or None)
        except (ValueError, KeyError, TypeError, AttributeError):
            # The answer was not the documented JSON (json.JSONDecodeError is a ValueError).
            error = CloudError(ErrorKind.UNAVAILABLE, "UnparseableResponse")
        # Raised outside the handler, so no SDK exception (with the server's text) is chained.
        log.info("cloud API %s with key %s failed: %s", action, key.masked, error)
        raise error

    async def instances(self, key: CloudKey) -> list[Instance]:
        """Every call-center instance on the account (DescribeCCCBuyInfoList)."""
        answer = await self._call(
            key, "DescribeCCCBuyInfoList", models.DescribeCCCBuyInfoListRequest()
        )
        return [
            Instance(
                sdk_app_id=int(item.SdkAppId),
                name=item.Name or "",
                staff_seats=int(item.StaffBuyNum or 0),
                numbers=tuple(n.PhoneNum for n in item.PhoneNumBuyList or () if n.PhoneNum),
            )
            for item in answer.SdkAppIdBuyList or ()
        ]

    async def companies(self, key: CloudKey) -> list[CompanyReview]:
        """The account's qualification applications, newest first (DescribeCompanyList). The
        action is per account: it takes no SdkAppId."""

        async def page(number: int) -> tuple[int, list[Any]]:
            request = models.DescribeCompanyListRequest()
            request.PageSize = _COMPANY_PAGE
            request.PageNumber = number
            answer = await self._call(key, "DescribeCompanyList", request)
            return int(answer.TotalCount or 0), list(answer.CompanyInfo or ())

        reviews = [
            CompanyReview(
                apply_id=int(item.Id or 0),
                company_name=item.CompanyName or "",
                state=ReviewState(int(item.State)),
                message=item.CheckMsg or None,
                created_at=_when(item.CreateTime),
                checked_at=_when(item.CheckTime),
            )
            for item in await self._all_pages(page)
            if item.State in tuple(ReviewState)
        ]
        reviews.sort(key=lambda r: r.created_at or datetime.min.replace(tzinfo=UTC), reverse=True)
        return reviews

    async def numbers(self, key: CloudKey, sdk_app_id: int) -> list[str]:
        """The numbers bound to the instance (DescribeNumbers)."""

        async def page(number: int) -> tuple[int, list[Any]]:
            request = models.DescribeNumbersRequest()
            request.SdkAppId = sdk_app_id
            request.PageSize = _NUMBER_PAGE
            request.PageNumber = number
            answer = await self._call(key, "DescribeNumbers", request)
            return int(answer.TotalCount or 0), list(answer.Numbers or ())

        return [item.Number for item in await self._all_pages(page) if item.Number]

    async def staff_count(self, key: CloudKey, sdk_app_id: int) -> int:
        """How many members (agents and admins) the instance has (DescribeStaffInfoList)."""
        request = models.DescribeStaffInfoListRequest()
        request.SdkAppId = sdk_app_id
        request.PageSize = 1
        request.PageNumber = 0
        answer = await self._call(key, "DescribeStaffInfoList", request)
        return int(answer.TotalCount or 0)

    async def skill_group_count(self, key: CloudKey, sdk_app_id: int) -> int:
        """How many skill groups the instance has (DescribeSkillGroupInfoList)."""
        request = models.DescribeSkillGroupInfoListRequest()
        request.SdkAppId = sdk_app_id
        request.PageSize = 1
        request.PageNumber = 0
        answer = await self._call(key, "DescribeSkillGroupInfoList", request)
        return int(answer.TotalCount or 0)

    async def staff_status(self, key: CloudKey, sdk_app_id: int) -> StaffStatus:
        """Members' workbench status now (DescribeStaffStatusMetrics): `online` counts those
        not offline; `last_online_at` is the latest sign-in the API remembers."""
        request = models.DescribeStaffStatusMetricsRequest()
        request.SdkAppId = sdk_app_id
        answer = await self._call(key, "DescribeStaffStatusMetrics", request)
        metrics = list(answer.Metrics or ())
        online = sum(1 for m in metrics if m.Status and m.Status != "offline")
        last = max((m.LastOnlineTimestamp or 0 for m in metrics), default=0)
        return StaffStatus(staff=len(metrics), online=online, last_online_at=_when(last))

    async def call_count(
        self, key: CloudKey, sdk_app_id: int, start: datetime, end: datetime
    ) -> int:
        """How many call records the instance has between `start` and `end` (DescribeTelCdr).
        The API looks back at most 180 days and spans less than 90 days per query."""
        request = models.DescribeTelCdrRequest()
        request.SdkAppId = sdk_app_id
        request.StartTimeStamp = int(start.timestamp())
        request.EndTimeStamp = int(end.timestamp())
        request.PageSize = 1
        request.PageNumber = 0
        answer = await self._call(key, "DescribeTelCdr", request)
        return int(answer.TotalCount or 0)

    @staticmethod
    async def _all_pages(fetch: Callable[[int], Awaitable[tuple[int, list[T]]]]) -> list[T]:
        items: list[T] = []
        for number in range(_MAX_PAGES):
            total, batch = await fetch(number)
            items.extend(batch)
            if not batch or len(items) >= total:
                break
        return items
