"""A fake of the TCCC cloud API (`ccc`, 2020-02-10) on 127.0.0.1, faked only at the network
boundary: the official SDK, pointed at `fake.url`, works against it unchanged.

Strict as the real API is:
- Every request must carry a TC3-HMAC-SHA256 signature, which is checked here from the public
  description of signature v3 (not with the SDK's signer): the canonical request is rebuilt from
  what arrived (method, path, query, the signed headers, a hash of the body), the signing key is
  derived from the account's SecretKey, and the result compared. A wrong signature is
  `AuthFailure.SignatureFailure`, an unknown SecretId `AuthFailure.SecretIdNotFound`, a timestamp
  more than 5 minutes from the fake's clock `AuthFailure.SignatureExpire`.
- Answers have the documented shapes, `{"Response": {..., "RequestId": ...}}`, errors as
  `{"Response": {"Error": {"Code", "Message"}, "RequestId"}}`, with HTTP 200 and
  `Content-Type: application/json`, as the real API sends them.
- Required parameters are checked (`MissingParameter`, `InvalidParameter`,
  `InvalidParameterValue`), and an SdkAppId not on the account is
  `InvalidParameterValue.InstanceNotExist`.
- A key whose account is not allowed an action (CAM) gets `AuthFailure.UnauthorizedOperation`.

Tests set the state (`add_account`, `Account.add_instance`, ...), inject faults per action
(`fail`, `hold`), and read what arrived (`calls`, `count`, `max_per_second`).
"""

from __future__ import annotations

import asyncio
import fnmatch
import hashlib
import hmac
import json
import re
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

from aiohttp import web

VERSION = "2020-02-10"
SERVICE = "ccc"
ALGORITHM = "TC3-HMAC-SHA256"
SIGNATURE_WINDOW = 300  # seconds either side of the server's clock
ACTIONS = frozenset(
    {
        "DescribeCCCBuyInfoList",
        "DescribeCompanyList",
        "DescribeNumbers",
        "DescribeStaffInfoList",
        "DescribeSkillGroupInfoList",
        "DescribeStaffStatusMetrics",
        "DescribeTelCdr",
    }
)
DAY = 86_400

_AUTHORIZATION = re.compile(
    r"^TC3-HMAC-SHA256 Credential=(?P<secret_id>[^/\s]+)/(?P<date>\d{4}-\d{2}-\d{2})"
    r"/(?P<service>[a-z0-9-]+)/tc3_request, SignedHeaders=(?P<signed>[a-z0-9;-]+), "
    r"Signature=(?P<signature>[0-9a-f]{64})$"
)


class ApiError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(code)
        self.code = code
        self.message = message


# Faults other than an error code.
BAD_GATEWAY = "fault:502"  # an HTML 502 from a gateway in front of the API
GARBAGE = "fault:garbage"  # 200 with a body that is not JSON


@dataclass
class Staff:
    email: str
    name: str
    status: str = "offline"  # free | busy | rest | notReady | afterCallWork | offline
    last_online: int | None = None  # Unix seconds
    role_ids: tuple[int, ...] = (1,)


@dataclass
class Instance:
    sdk_app_id: int
    name: str
    numbers: list[str] = field(default_factory=list)
    staff: list[Staff] = field(default_factory=list)
    skill_groups: list[str] = field(default_factory=list)
    cdrs: list[int] = field(default_factory=list)  # start times of calls, Unix seconds
    staff_seats: int = 0


@dataclass
class Company:
    apply_id: int
    name: str
    state: int  # 1 pending, 2 approved, 3 rejected
    message: str = ""
    created: int = 0
    checked: int = 0


@dataclass
class Account:
    secret_id: str
    secret_key: str
    # CAM policy of the key, as action patterns ("ccc:Describe*"); empty allows nothing.
    allowed: tuple[str, ...] = ("ccc:Describe*",)
    instances: dict[int, Instance] = field(default_factory=dict)
    companies: list[Company] = field(default_factory=list)

    def add_instance(self, sdk_app_id: int, name: str, **state: Any) -> Instance:
        instance = Instance(sdk_app_id, name, **state)
        self.instances[sdk_app_id] = instance
        return instance

    def add_company(self, name: str, state: int, message: str = "", **times: int) -> Company:
        company = Company(len(self.companies) + 1, name, state, message, **times)
        self.companies.append(company)
        return company

    def may(self, action: str) -> bool:
        return any(fnmatch.fnmatchcase(f"{SERVICE}:{action}", p) for p in self.allowed)


@dataclass(frozen=True)
class Call:
    """One request that reached the fake, signed or not."""

    action: str
    secret_id: str | None
    at: float  # the fake's clock
    params: dict[str, Any]
    code: str | None  # the error code answered, None for success


class FakeCcc:
    """Use as `async with FakeCcc() as fake:`; `clock` gives Unix seconds (default time.time)."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.accounts: dict[str, Account] = {}
        self.calls: list[Call] = []
        self._faults: dict[str, deque[str]] = {}
        self._sticky: dict[str, str] = {}
        self._holds: set[str] = set()
        self._release = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        if self._port is None:
            raise RuntimeError("FakeCcc is not started")
        return f"http://127.0.0.1:{self._port}"

    # -- state and faults --------------------------------------------------------------------

    def add_account(
        self, secret_id: str, secret_key: str, allowed: tuple[str, ...] = ("ccc:Describe*",)
    ) -> Account:
        account = Account(secret_id, secret_key, allowed)
        self.accounts[secret_id] = account
        return account

    def fail(self, action: str, code: str, *, times: int | None = 1) -> None:
        """Answer `action` with error `code` (or BAD_GATEWAY, GARBAGE) the next `times` calls,
        or every call from now on with `times=None`, after the signature is checked."""
        if times is None:
            self._sticky[action] = code
        else:
            self._faults.setdefault(action, deque()).extend([code] * times)

    def hold(self, action: str) -> None:
        """Hold every answer to `action` until `release()` (or the fake stops), then answer as
        the account stands then: a client with a timeout gives up first."""
        self._holds.add(action)
        self._release.clear()

    def release(self) -> None:
        self._holds.clear()
        self._release.set()

    def count(self, action: str | None = None) -> int:
        return sum(1 for c in self.calls if action is None or c.action == action)

    def per_second(self, secret_id: str | None = None) -> Counter[int]:
        """Requests that arrived in each second of the fake's clock (for one key, or all)."""
        return Counter(
            int(c.at) for c in self.calls if secret_id is None or c.secret_id == secret_id
        )

    def max_per_second(self, secret_id: str | None = None) -> int:
        return max(self.per_second(secret_id).values(), default=0)

    # -- the API -----------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        request_id = str(uuid.uuid4())
        body = await request.read()
        action = request.headers.get("X-TC-Action", "")
        secret_id: str | None = None
        params: dict[str, Any] = {}
        at = self.clock()
        try:
            account = self._authenticate(request, body, at)
            secret_id = account.secret_id
            params = self._params(request, body)
            if action not in ACTIONS:
                raise ApiError("InvalidAction", f"The action {action} does not exist.")
            if not account.may(action):
                raise ApiError(
                    "AuthFailure.UnauthorizedOperation",
                    f"you are not authorized to perform operation ({SERVICE}:{action})",
                )
            fault = self._next_fault(action)
            if action in self._holds:
                # Counted on arrival; the answer (if anyone still listens) comes on release,
                # as the account then stands.
                self.calls.append(Call(action, secret_id, at, params, "held"))
                await self._release.wait()
                answer = getattr(self, f"_{action}")(account, params, self.clock())
                answer["RequestId"] = request_id
                return _json_response(json.dumps({"Response": answer}).encode())
            if fault == BAD_GATEWAY:
                self.calls.append(Call(action, secret_id, at, params, fault))
                return web.Response(
                    status=502, text="<html>502 Bad Gateway</html>", content_type="text/html"
                )
            if fault == GARBAGE:
                self.calls.append(Call(action, secret_id, at, params, fault))
                return _json_response(b"<html>not json")
            if fault is not None:
                raise ApiError(fault, f"injected {fault}")
            answer = getattr(self, f"_{action}")(account, params, at)
        except ApiError as err:
            self.calls.append(Call(action, secret_id, at, params, err.code))
            error = {"Error": {"Code": err.code, "Message": err.message}, "RequestId": request_id}
            return _json_response(json.dumps({"Response": error}).encode())
        self.calls.append(Call(action, secret_id, at, params, None))
        answer["RequestId"] = request_id
        return _json_response(json.dumps({"Response": answer}).encode())

    def _next_fault(self, action: str) -> str | None:
        queue = self._faults.get(action)
        if queue:
            return queue.popleft()
        return self._sticky.get(action)

    def _authenticate(self, request: web.Request, body: bytes, now: float) -> Account:
        """Signature v3, checked as Tencent Cloud documents it."""
        headers = request.headers
        for name in ("X-TC-Action", "X-TC-Version", "X-TC-Timestamp"):
            if not headers.get(name):
                raise ApiError("MissingParameter", f"The request is missing {name}.")
        if headers["X-TC-Version"] != VERSION:
            raise ApiError("NoSuchVersion", "The requested version does not exist.")
        raw_ts = headers["X-TC-Timestamp"]
        if not raw_ts.isdigit():
            raise ApiError("InvalidParameter", "X-TC-Timestamp is not a Unix timestamp.")
        timestamp = int(raw_ts)
        match = _AUTHORIZATION.match(headers.get("Authorization", ""))
        if match is None:
            raise ApiError("AuthFailure.InvalidAuthorization", "Authorization is malformed.")
        if abs(now - timestamp) > SIGNATURE_WINDOW:
            raise ApiError("AuthFailure.SignatureExpire", "The signature has expired.")
        account = self.accounts.get(match["secret_id"])
        if account is None:
            raise ApiError("AuthFailure.SecretIdNotFound", "The SecretId was not found.")
        date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
        signed = match["signed"].split(";")
        if (
            match["service"] != SERVICE
            or match["date"] != date
            or signed != sorted(signed)
            or not {"content-type", "host"} <= set(signed)
        ):
            raise ApiError("AuthFailure.SignatureFailure", "The credential scope is invalid.")
        expected = signature(
            secret_key=account.secret_key,
            method=request.method,
            path=request.raw_path.split("?", 1)[0],
            query=request.query_string if request.method == "GET" else "",
            headers={name: headers.get(name, "") for name in signed},
            body=body,
            timestamp=timestamp,
            date=date,
        )
        if not hmac.compare_digest(expected, match["signature"]):
            raise ApiError("AuthFailure.SignatureFailure", "The signature does not match.")
        return account

    @staticmethod
    def _params(request: web.Request, body: bytes) -> dict[str, Any]:
        if request.method != "POST":
            raise ApiError("UnsupportedProtocol", "This fake takes POST with a JSON body.")
        if request.headers.get("Content-Type", "").split(";")[0].strip() != "application/json":
            raise ApiError("InvalidParameter", "Content-Type must be application/json.")
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            raise ApiError("InvalidParameter", "The body is not JSON.") from None
        if not isinstance(params, dict):
            raise ApiError("InvalidParameter", "The body must be a JSON object.")
        return params

    # -- actions -----------------------------------------------------------------------------

    def _DescribeCCCBuyInfoList(self, account: Account, p: dict[str, Any], now: float) -> Any:
        wanted = _int_list(p, "SdkAppIds")
        items = [i for i in account.instances.values() if wanted is None or i.sdk_app_id in wanted]
        return {
            "TotalCount": len(items),
            "SdkAppIdBuyList": [
                {
                    "SdkAppId": i.sdk_app_id,
                    "Name": i.name,
                    "StaffBuyNum": i.staff_seats,
                    "StaffBuyList": [],
                    "PhoneNumBuyList": [
                        {
                            "PhoneNum": n,
                            "Type": 0,
                            "CallType": 3,
                            "BuyTime": int(now) - DAY,
                            "EndTime": int(now) + 365 * DAY,
                            "State": 1,
                        }
                        for n in i.numbers
                    ],
                    "SipBuyNum": 0,
                }
                for i in items
            ],
            "PackageBuyList": [],
        }

    def _DescribeCompanyList(self, account: Account, p: dict[str, Any], now: float) -> Any:
        size, number = _page(p, 100)
        items = account.companies
        states = _int_list(p, "State")
        if states is not None:
            items = [c for c in items if c.state in states]
        chunk = items[number * size : (number + 1) * size]
        return {
            "TotalCount": len(items),
            "CompanyInfo": [
                {
                    "Id": c.apply_id,
                    "CompanyName": c.name,
                    "CreateTime": c.created,
                    "CheckTime": c.checked,
                    "CheckMsg": c.message,
                    "State": c.state,
                    "BusinessId": "91110000000000000X",
                    "ModifyTime": c.checked or c.created,
                    "ContractNo": "",
                }
                for c in chunk
            ],
        }

    def _DescribeNumbers(self, account: Account, p: dict[str, Any], now: float) -> Any:
        instance = _instance(account, p)
        size = _int(p, "PageSize", required=False, default=20, low=1, high=100)
        number = _int(p, "PageNumber", required=False, default=0, low=0)
        chunk = instance.numbers[number * size : (number + 1) * size]
        return {
            "TotalCount": len(instance.numbers),
            "Numbers": [
                {"Number": n, "CallOutSkillGroupIds": [], "State": 1, "CostType": 0} for n in chunk
            ],
        }

    def _DescribeStaffInfoList(self, account: Account, p: dict[str, Any], now: float) -> Any:
        instance = _instance(account, p)
        size, number = _page(p, 9999)
        chunk = instance.staff[number * size : (number + 1) * size]
        return {
            "TotalCount": len(instance.staff),
            "StaffList": [
                {
                    "Name": s.name,
                    "Mail": s.email,
                    "Phone": "",
                    "Nick": s.name,
                    "StaffNumber": str(index),
                    "RoleId": s.role_ids[0],
                    "RoleList": list(s.role_ids),
                    "SkillGroupList": [],
                    "LastModifyTimestamp": int(now),
                    "ExtensionNumber": "",
                }
                for index, s in enumerate(chunk, start=number * size + 1)
            ],
        }

    def _DescribeSkillGroupInfoList(self, account: Account, p: dict[str, Any], now: float) -> Any:
        instance = _instance(account, p)
        size, number = _page(p, 100)
        chunk = instance.skill_groups[number * size : (number + 1) * size]
        return {
            "TotalCount": len(instance.skill_groups),
            "SkillGroupList": [
                {
                    "SkillGroupId": index,
                    "SkillGroupName": name,
                    "Type": "TEL",
                    "RoutePolicy": "ringall",
                    "UsingLastSeat": 0,
                    "MaxConcurrency": 1,
                    "LastModifyTimestamp": int(now),
                    "SkillGroupType": 0,
                    "Alias": "",
                    "RingAll": False,
                }
                for index, name in enumerate(chunk, start=number * size + 1)
            ],
        }

    def _DescribeStaffStatusMetrics(self, account: Account, p: dict[str, Any], now: float) -> Any:
        instance = _instance(account, p)
        return {
            "Metrics": [
                {
                    "Email": s.email,
                    "Status": s.status,
                    "OnlineDuration": 0,
                    "FreeDuration": 0,
                    "BusyDuration": 0,
                    "NotReadyDuration": 0,
                    "RestDuration": 0,
                    "AfterCallWorkDuration": 0,
                    "Reason": "",
                    "ReserveRest": False,
                    "ReserveNotReady": False,
                    "UseMobileAccept": 0,
                    "UseMobileCallOut": False,
                    "LastOnlineTimestamp": s.last_online,
                    "LastStatusTimestamp": s.last_online,
                }
                for s in instance.staff
            ]
        }

    def _DescribeTelCdr(self, account: Account, p: dict[str, Any], now: float) -> Any:
        start = _int(p, "StartTimeStamp")
        end = _int(p, "EndTimeStamp")
        instance = _instance(account, p)
        size, number = _page(p, 100)
        if end < start:
            raise ApiError("InvalidParameterValue", "EndTimeStamp is before StartTimeStamp.")
        if end - start >= 90 * DAY:
            raise ApiError("InvalidParameterValue", "The time range must be under 90 days.")
        if start < now - 180 * DAY:
            raise ApiError("InvalidParameterValue", "StartTimeStamp is more than 180 days ago.")
        calls = sorted(t for t in instance.cdrs if start <= t <= end)
        chunk = calls[number * size : (number + 1) * size]
        records = [
            {
                "Caller": "008613800000000",
                "Callee": "008675500000000",
                "Time": t,
                "Direction": 0,
                "Duration": 30,
                "EndStatus": 1,
                "SessionId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{instance.sdk_app_id}/{t}")),
                "StartTimestamp": t,
                "EndedTimestamp": t + 30,
            }
            for t in chunk
        ]
        return {"TotalCount": len(calls), "TelCdrs": records, "TelCdrList": records}


def signature(
    *,
    secret_key: str,
    method: str,
    path: str,
    query: str,
    headers: dict[str, str],
    body: bytes,
    timestamp: int,
    date: str,
    service: str = SERVICE,
) -> str:
    """The TC3-HMAC-SHA256 signature of a request. `headers` are the signed ones (lower-case
    names, in SignedHeaders order); names and values are lower-cased and trimmed."""
    canonical_headers = "".join(f"{k.lower()}:{v.strip().lower()}\n" for k, v in headers.items())
    canonical_request = "\n".join(
        [
            method,
            path or "/",
            query,
            canonical_headers,
            ";".join(k.lower() for k in headers),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{date}/{service}/tc3_request"
    to_sign = "\n".join(
        [ALGORITHM, str(timestamp), scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
    )

    def mac(key: bytes, text: str) -> bytes:
        return hmac.new(key, text.encode(), hashlib.sha256).digest()

    signing_key = mac(mac(mac(("TC3" + secret_key).encode(), date), service), "tc3_request")
    return hmac.new(signing_key, to_sign.encode(), hashlib.sha256).hexdigest()


def _json_response(body: bytes) -> web.Response:
    # Exactly "application/json": the SDK reads errors only from that content type.
    return web.Response(body=body, headers={"Content-Type": "application/json"})


def _int(
    p: dict[str, Any],
    name: str,
    *,
    required: bool = True,
    default: int = 0,
    low: int | None = None,
    high: int | None = None,
) -> int:
    if name not in p or p[name] is None:
        if required:
            raise ApiError("MissingParameter", f"The request is missing parameter `{name}`.")
        return default
    value = p[name]
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError("InvalidParameter", f"`{name}` must be an integer.")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ApiError("InvalidParameterValue", f"`{name}` is out of range.")
    return value


def _int_list(p: dict[str, Any], name: str) -> set[int] | None:
    value = p.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or any(
        isinstance(v, bool) or not isinstance(v, int) for v in value
    ):
        raise ApiError("InvalidParameter", f"`{name}` must be a list of integers.")
    return set(value)


def _page(p: dict[str, Any], high: int) -> tuple[int, int]:
    return _int(p, "PageSize", low=1, high=high), _int(p, "PageNumber", low=0)


def _instance(account: Account, p: dict[str, Any]) -> Instance:
    sdk_app_id = _int(p, "SdkAppId")
    instance = account.instances.get(sdk_app_id)
    if instance is None:
        raise ApiError("InvalidParameterValue.InstanceNotExist", "The instance does not exist.")
    return instance
