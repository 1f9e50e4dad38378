"""The cloud API client, with the official SDK, against the strict fake."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.cloud.ccc import (
    CccApi,
    CloudError,
    ErrorKind,
    Instance,
    RateLimiter,
    ReviewState,
    error_kind,
)
from bot.cloud.keys import CloudKey
from tests.fakeccc.fixtures import KEY, SECRET_ID, SECRET_KEY
from tests.fakeccc.server import BAD_GATEWAY, GARBAGE, Account, FakeCcc, Staff

APP = 1400000001
DAY = 86_400


@pytest.fixture
async def api(fake_ccc: FakeCcc) -> AsyncIterator[CccApi]:
    api = CccApi(fake_ccc.url, timeout=2.0)
    yield api
    await api.aclose()


async def test_instances_lists_every_instance_with_its_numbers(
    api: CccApi, ccc_account: Account
) -> None:
    ccc_account.add_instance(APP, "Acme 呼叫中心", numbers=["008675512345678"], staff_seats=5)
    ccc_account.add_instance(APP + 1, "Acme test")
    assert await api.instances(KEY) == [
        Instance(APP, "Acme 呼叫中心", 5, ("008675512345678",)),
        Instance(APP + 1, "Acme test", 0, ()),
    ]


async def test_an_account_without_instances_has_none(api: CccApi, ccc_account: Account) -> None:
    assert await api.instances(KEY) == []


async def test_companies_reads_every_page_newest_first(api: CccApi, ccc_account: Account) -> None:
    for n in range(150):
        ccc_account.add_company(f"Old {n}", 3, "stamp missing", created=1_700_000_000 + n)
    ccc_account.add_company("Acme", 2, "", created=1_800_000_000, checked=1_800_000_100)
    reviews = await api.companies(KEY)
    assert len(reviews) == 151
    newest = reviews[0]
    assert (newest.company_name, newest.state) == ("Acme", ReviewState.APPROVED)
    assert newest.message is None
    assert newest.checked_at == datetime.fromtimestamp(1_800_000_100, UTC)
    assert reviews[1].message == "stamp missing"


async def test_numbers_reads_every_page(
    api: CccApi, fake_ccc: FakeCcc, ccc_account: Account
) -> None:
    numbers = [f"00867551234{n:04d}" for n in range(45)]
    ccc_account.add_instance(APP, "Acme", numbers=numbers)
    assert await api.numbers(KEY, APP) == numbers
    assert fake_ccc.count("DescribeNumbers") == 3  # 20 a page


async def test_counts_of_staff_and_skill_groups(api: CccApi, ccc_account: Account) -> None:
    staff = [Staff(f"agent{n}@acme.cn", f"Agent {n}") for n in range(3)]
    ccc_account.add_instance(APP, "Acme", staff=staff, skill_groups=["sales", "support"])
    assert await api.staff_count(KEY, APP) == 3
    assert await api.skill_group_count(KEY, APP) == 2


async def test_staff_status_tells_who_is_online_and_whether_anyone_was(
    api: CccApi, ccc_account: Account
) -> None:
    instance = ccc_account.add_instance(APP, "Acme", staff=[Staff("admin@acme.cn", "Admin")])
    status = await api.staff_status(KEY, APP)
    assert (status.staff, status.online, status.last_online_at) == (1, 0, None)
    assert not status.anyone_logged_in
    instance.staff.append(Staff("li@acme.cn", "Li", status="free", last_online=1_800_000_000))
    status = await api.staff_status(KEY, APP)
    assert status.online == 1
    assert status.last_online_at == datetime.fromtimestamp(1_800_000_000, UTC)
    assert status.anyone_logged_in


async def test_call_count_counts_records_in_the_range(
    api: CccApi, fake_ccc: FakeCcc, ccc_account: Account
) -> None:
    now = int(fake_ccc.clock())
    ccc_account.add_instance(APP, "Acme", cdrs=[now - 10 * DAY, now - 3600, now - 60])
    end = datetime.fromtimestamp(now, UTC)
    assert await api.call_count(KEY, APP, end - timedelta(days=1), end) == 2
    assert await api.call_count(KEY, APP, end - timedelta(days=30), end) == 3
    with pytest.raises(CloudError) as caught:
        await api.call_count(KEY, APP, end - timedelta(days=100), end)
    assert caught.value.kind is ErrorKind.INVALID


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("AuthFailure.SignatureFailure", ErrorKind.BAD_KEY),
        ("AuthFailure.SecretIdNotFound", ErrorKind.BAD_KEY),
        ("AuthFailure.UnauthorizedOperation", ErrorKind.NO_PERMISSION),
        ("UnauthorizedOperation", ErrorKind.NO_PERMISSION),
        ("UnauthorizedOperation.PermissionDenied", ErrorKind.NO_PERMISSION),
        ("RequestLimitExceeded", ErrorKind.RATE_LIMITED),
        ("RequestLimitExceeded.UinLimitExceeded", ErrorKind.RATE_LIMITED),
        ("InternalError", ErrorKind.UNAVAILABLE),
        ("InternalError.DBError", ErrorKind.UNAVAILABLE),
        ("InvalidParameterValue.InstanceNotExist", ErrorKind.INVALID),
        ("MissingParameter", ErrorKind.INVALID),
    ],
)
async def test_each_error_code_from_the_api_has_its_kind(
    api: CccApi, fake_ccc: FakeCcc, ccc_account: Account, code: str, kind: ErrorKind
) -> None:
    ccc_account.add_instance(APP, "Acme")
    fake_ccc.fail("DescribeNumbers", code)
    with pytest.raises(CloudError) as caught:
        await api.numbers(KEY, APP)
    assert (caught.value.kind, caught.value.code) == (kind, code)
    assert caught.value.request_id  # what Tencent Cloud support asks for
    assert error_kind(code) is kind


async def test_a_wrong_secret_key_or_unknown_id_is_a_bad_key(
    api: CccApi, ccc_account: Account
) -> None:
    for key in (CloudKey(SECRET_ID, "w" * 32), CloudKey("AKID" + "7" * 32, SECRET_KEY)):
        with pytest.raises(CloudError) as caught:
            await api.instances(key)
        assert caught.value.kind is ErrorKind.BAD_KEY


async def test_a_key_without_describe_permission_has_no_permission(
    api: CccApi, fake_ccc: FakeCcc
) -> None:
    fake_ccc.add_account(SECRET_ID, SECRET_KEY, allowed=())
    with pytest.raises(CloudError) as caught:
        await api.instances(KEY)
    assert (caught.value.kind, caught.value.code) == (
        ErrorKind.NO_PERMISSION,
        "AuthFailure.UnauthorizedOperation",
    )


@pytest.mark.parametrize(
    ("fault", "code"), [(BAD_GATEWAY, "ServerNetworkError"), (GARBAGE, "UnparseableResponse")]
)
async def test_a_gateway_error_or_garbage_is_unavailable(
    api: CccApi, fake_ccc: FakeCcc, ccc_account: Account, fault: str, code: str
) -> None:
    fake_ccc.fail("DescribeCCCBuyInfoList", fault)
    with pytest.raises(CloudError) as caught:
        await api.instances(KEY)
    assert (caught.value.kind, caught.value.code) == (ErrorKind.UNAVAILABLE, code)


async def test_nothing_listening_is_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    api = CccApi(f"http://127.0.0.1:{port}", timeout=2.0)
    with pytest.raises(CloudError) as caught:
        await api.instances(KEY)
    assert caught.value.kind is ErrorKind.UNAVAILABLE


async def test_a_held_answer_times_out_within_the_timeout(
    fake_ccc: FakeCcc, ccc_account: Account
) -> None:
    api = CccApi(fake_ccc.url, timeout=0.3)
    await api.instances(KEY)  # the client is built; what follows times the call alone
    fake_ccc.hold("DescribeCCCBuyInfoList")
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(CloudError) as caught:
        await api.instances(KEY)
    elapsed = loop.time() - started
    assert caught.value.kind is ErrorKind.TIMEOUT
    assert 0.25 <= elapsed < 1.5
    assert fake_ccc.count("DescribeCCCBuyInfoList") == 2  # one request: no retry
    fake_ccc.release()
    assert await api.instances(KEY) == []


async def test_no_secret_reaches_a_log_or_an_error(
    api: CccApi, fake_ccc: FakeCcc, ccc_account: Account, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("tencentcloud_sdk_common", "httpx", "httpcore"):
        caplog.set_level(logging.DEBUG, logger=name)
    ccc_account.add_instance(APP, "Acme", numbers=["008675512345678"])
    await api.instances(KEY)
    errors: list[CloudError] = []
    for code in ("AuthFailure.SignatureFailure", "InternalError", "RequestLimitExceeded"):
        fake_ccc.fail("DescribeNumbers", code)
        with pytest.raises(CloudError) as caught:
            await api.numbers(KEY, APP)
        errors.append(caught.value)
    with pytest.raises(CloudError) as caught:
        await api.numbers(CloudKey(SECRET_ID, "w" * 32), APP)
    errors.append(caught.value)
    assert caplog.records, "the calls logged nothing at all, so the check below proves nothing"
    assert "cloud API DescribeNumbers with key AKID••••0001 failed" in caplog.text
    for error in errors:
        for shown in (str(error), repr(error), str(error.args)):
            assert SECRET_KEY not in shown
            assert SECRET_ID not in shown
        assert error.__cause__ is None and error.__context__ is None
    assert SECRET_KEY not in caplog.text
    assert SECRET_ID not in caplog.text
    assert "TC3-HMAC-SHA256" not in caplog.text  # no Authorization header dumped


async def test_the_url_must_be_an_origin() -> None:
    for url in ("ccc.tencentcloudapi.com", "ftp://host", "https://host/path", "https://u:p@host"):
        with pytest.raises(ValueError, match="TCCC API URL"):
            CccApi(url)
    CccApi("https://ccc.tencentcloudapi.com")
    CccApi("http://127.0.0.1:8080/")


class VirtualTime:
    """A clock that `sleep` moves on, so the limiter's waits cost no real time."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def test_the_limiter_spaces_one_keys_calls_at_its_rate() -> None:
    time = VirtualTime()
    limiter = RateLimiter(20, clock=time, sleep=time.sleep)
    moments: list[float] = []

    async def one() -> None:
        await limiter.acquire(SECRET_ID)
        moments.append(time.now)

    await asyncio.gather(*(one() for _ in range(60)))
    assert len(moments) == 60
    per_second: dict[int, int] = {}
    for moment in moments:
        per_second[int(moment + 1e-9)] = per_second.get(int(moment + 1e-9), 0) + 1
    assert max(per_second.values()) <= 20
    assert moments[-1] == pytest.approx(59 / 20)


async def test_the_limiter_keeps_keys_apart_and_lets_a_burst_through() -> None:
    time = VirtualTime()
    limiter = RateLimiter(20, burst=5, clock=time, sleep=time.sleep)
    for _ in range(5):
        await limiter.acquire("AKIDone")
    assert time.slept == []
    await limiter.acquire("AKIDtwo")
    assert time.slept == []
    await limiter.acquire("AKIDone")
    assert time.slept == [pytest.approx(0.05)]


async def test_a_burst_of_60_calls_stays_within_20_a_second_at_the_api(
    api: CccApi, fake_ccc: FakeCcc, ccc_account: Account
) -> None:
    ccc_account.add_instance(APP, "Acme")
    await asyncio.gather(*(api.numbers(KEY, APP) for _ in range(60)))
    assert fake_ccc.count("DescribeNumbers") == 60
    assert fake_ccc.max_per_second(SECRET_ID) <= 20
