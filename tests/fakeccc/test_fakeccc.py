"""The fake cloud API checks what the real one checks, against requests the official SDK signs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from tencentcloud.ccc.v20200210.ccc_client_async import CccClient
from tencentcloud.common.credential import Credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

from tests.fakeccc.fixtures import SECRET_ID, SECRET_KEY
from tests.fakeccc.server import Account, FakeCcc

APP = 1400000001


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False) as client:
        yield client


def signed(
    fake: FakeCcc,
    action: str,
    params: dict[str, Any],
    *,
    secret_id: str = SECRET_ID,
    secret_key: str = SECRET_KEY,
) -> httpx.Request:
    """A request built and signed by the SDK itself, not yet sent."""
    profile = ClientProfile(
        httpProfile=HttpProfile(protocol="http", endpoint=fake.url.removeprefix("http://"))
    )
    client = CccClient(Credential(secret_id, secret_key), "", profile)
    return client._build_req(action, params, {}, {})  # type: ignore[no-any-return]


async def send(http: httpx.AsyncClient, request: httpx.Request) -> dict[str, Any]:
    answer = await http.send(request)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/json"
    body: dict[str, Any] = answer.json()["Response"]
    assert body["RequestId"]
    return body


def code(body: dict[str, Any]) -> str | None:
    error = body.get("Error")
    return None if error is None else str(error["Code"])


def rebuilt(
    request: httpx.Request, *, content: bytes | None = None, **headers: str
) -> httpx.Request:
    changed = dict(request.headers)
    changed.pop("content-length", None)
    changed.update({name.lower(): value for name, value in headers.items()})
    return httpx.Request(
        request.method,
        request.url,
        headers=changed,
        content=request.content if content is None else content,
    )


@pytest.fixture
def account(ccc_account: Account) -> Account:
    ccc_account.add_instance(APP, "Acme 呼叫中心", numbers=["008675512345678"])
    return ccc_account


async def test_a_request_the_sdk_signed_is_answered(
    fake_ccc: FakeCcc, account: Account, http: httpx.AsyncClient
) -> None:
    body = await send(http, signed(fake_ccc, "DescribeNumbers", {"SdkAppId": APP}))
    assert code(body) is None
    assert body["TotalCount"] == 1
    assert body["Numbers"][0]["Number"] == "008675512345678"
    assert [(c.action, c.secret_id, c.code) for c in fake_ccc.calls] == [
        ("DescribeNumbers", SECRET_ID, None)
    ]


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda r: rebuilt(r, content=b'{"SdkAppId": 1400000002}'), id="body"),
        pytest.param(lambda r: rebuilt(r, **{"Content-Type": "text/plain"}), id="content-type"),
        pytest.param(lambda r: rebuilt(r, Host="ccc.tencentcloudapi.com"), id="host"),
        pytest.param(
            lambda r: rebuilt(r, **{"X-TC-Timestamp": str(int(r.headers["X-TC-Timestamp"]) - 1)}),
            id="timestamp",
        ),
    ],
)
async def test_a_tampered_request_fails_the_signature(
    fake_ccc: FakeCcc,
    account: Account,
    http: httpx.AsyncClient,
    tamper: Callable[[httpx.Request], httpx.Request],
) -> None:
    request = signed(fake_ccc, "DescribeNumbers", {"SdkAppId": APP})
    body = await send(http, tamper(request))
    assert code(body) == "AuthFailure.SignatureFailure"


async def test_an_unsigned_header_may_change(
    fake_ccc: FakeCcc, account: Account, http: httpx.AsyncClient
) -> None:
    request = signed(fake_ccc, "DescribeNumbers", {"SdkAppId": APP})
    body = await send(http, rebuilt(request, **{"X-TC-Language": "zh-CN"}))
    assert code(body) is None


async def test_the_wrong_secret_key_fails_the_signature(
    fake_ccc: FakeCcc, account: Account, http: httpx.AsyncClient
) -> None:
    request = signed(fake_ccc, "DescribeNumbers", {"SdkAppId": APP}, secret_key="x" * 32)
    assert code(await send(http, request)) == "AuthFailure.SignatureFailure"


async def test_an_unknown_secret_id_is_not_found(
    fake_ccc: FakeCcc, account: Account, http: httpx.AsyncClient
) -> None:
    request = signed(fake_ccc, "DescribeNumbers", {"SdkAppId": APP}, secret_id="AKID" + "9" * 32)
    assert code(await send(http, request)) == "AuthFailure.SecretIdNotFound"


async def test_a_timestamp_over_five_minutes_off_has_expired(
    fake_ccc: FakeCcc, account: Account, http: httpx.AsyncClient
) -> None:
    request = signed(fake_ccc, "DescribeNumbers", {"SdkAppId": APP})
    sent_at = int(request.headers["X-TC-Timestamp"])
    fake_ccc.clock = lambda: sent_at + 299
    assert code(await send(http, request)) is None
    fake_ccc.clock = lambda: sent_at + 301
    assert code(await send(http, request)) == "AuthFailure.SignatureExpire"
    fake_ccc.clock = lambda: sent_at - 301
    assert code(await send(http, request)) == "AuthFailure.SignatureExpire"


async def test_a_malformed_authorization_and_a_wrong_version_are_refused(
    fake_ccc: FakeCcc, account: Account, http: httpx.AsyncClient
) -> None:
    request = signed(fake_ccc, "DescribeNumbers", {"SdkAppId": APP})
    no_auth = rebuilt(request, Authorization="Bearer nothing")
    assert code(await send(http, no_auth)) == "AuthFailure.InvalidAuthorization"
    old = rebuilt(request, **{"X-TC-Version": "2017-03-12"})
    assert code(await send(http, old)) == "NoSuchVersion"
    unknown = signed(fake_ccc, "CreateStaff", {"SdkAppId": APP})
    assert code(await send(http, unknown)) == "InvalidAction"


@pytest.mark.parametrize(
    ("action", "params", "expected"),
    [
        ("DescribeNumbers", {}, "MissingParameter"),
        ("DescribeNumbers", {"SdkAppId": "1400000001"}, "InvalidParameter"),
        ("DescribeNumbers", {"SdkAppId": 1400000999}, "InvalidParameterValue.InstanceNotExist"),
        ("DescribeCompanyList", {"PageNumber": 0}, "MissingParameter"),
        ("DescribeCompanyList", {"PageSize": 101, "PageNumber": 0}, "InvalidParameterValue"),
        ("DescribeStaffInfoList", {"SdkAppId": APP, "PageSize": 10}, "MissingParameter"),
        ("DescribeTelCdr", {"SdkAppId": APP, "PageSize": 10, "PageNumber": 0}, "MissingParameter"),
    ],
)
async def test_required_parameters_are_checked(
    fake_ccc: FakeCcc,
    account: Account,
    http: httpx.AsyncClient,
    action: str,
    params: dict[str, Any],
    expected: str,
) -> None:
    assert code(await send(http, signed(fake_ccc, action, params))) == expected


async def test_call_records_take_at_most_90_days_and_180_back(
    fake_ccc: FakeCcc, account: Account, http: httpx.AsyncClient
) -> None:
    now = int(fake_ccc.clock())
    day = 86_400
    page = {"SdkAppId": APP, "PageSize": 10, "PageNumber": 0}
    ok = {**page, "StartTimeStamp": now - 89 * day, "EndTimeStamp": now}
    assert code(await send(http, signed(fake_ccc, "DescribeTelCdr", ok))) is None
    wide = {**page, "StartTimeStamp": now - 90 * day, "EndTimeStamp": now}
    assert code(await send(http, signed(fake_ccc, "DescribeTelCdr", wide))) == (
        "InvalidParameterValue"
    )
    old = {**page, "StartTimeStamp": now - 181 * day, "EndTimeStamp": now - 100 * day}
    assert code(await send(http, signed(fake_ccc, "DescribeTelCdr", old))) == (
        "InvalidParameterValue"
    )


async def test_a_key_without_describe_permission_is_unauthorized(
    fake_ccc: FakeCcc, http: httpx.AsyncClient
) -> None:
    account = fake_ccc.add_account(SECRET_ID, SECRET_KEY, allowed=("ccc:DescribeNumbers",))
    account.add_instance(APP, "Acme")
    assert code(await send(http, signed(fake_ccc, "DescribeNumbers", {"SdkAppId": APP}))) is None
    body = await send(http, signed(fake_ccc, "DescribeStaffStatusMetrics", {"SdkAppId": APP}))
    assert code(body) == "AuthFailure.UnauthorizedOperation"
    assert "ccc:DescribeStaffStatusMetrics" in body["Error"]["Message"]


async def test_faults_are_answered_once_or_until_cleared(
    fake_ccc: FakeCcc, account: Account, http: httpx.AsyncClient
) -> None:
    fake_ccc.fail("DescribeNumbers", "RequestLimitExceeded")
    request = signed(fake_ccc, "DescribeNumbers", {"SdkAppId": APP})
    assert code(await send(http, request)) == "RequestLimitExceeded"
    assert code(await send(http, request)) is None
    fake_ccc.fail("DescribeNumbers", "InternalError", times=None)
    assert code(await send(http, request)) == "InternalError"
    assert code(await send(http, request)) == "InternalError"
    # A fault comes after authentication, as a real outage of the action would.
    bad = signed(fake_ccc, "DescribeNumbers", {"SdkAppId": APP}, secret_key="y" * 32)
    assert code(await send(http, bad)) == "AuthFailure.SignatureFailure"


async def test_requests_are_counted_per_action_and_per_second(
    fake_ccc: FakeCcc, account: Account, http: httpx.AsyncClient
) -> None:
    now = fake_ccc.clock()
    second = float(int(now))
    moments = iter([second + 0.1, second + 0.6, second + 1.2])
    fake_ccc.clock = lambda: next(moments)
    for _ in range(3):
        await send(http, signed(fake_ccc, "DescribeNumbers", {"SdkAppId": APP}))
    assert fake_ccc.count("DescribeNumbers") == 3
    assert fake_ccc.count("DescribeTelCdr") == 0
    assert fake_ccc.per_second(SECRET_ID) == {int(second): 2, int(second) + 1: 1}
    assert fake_ccc.max_per_second() == 2
