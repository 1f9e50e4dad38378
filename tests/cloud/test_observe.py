"""Judging each step from what the cloud API shows, against the fake with the real SDK."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.cloud.ccc import CccApi, CloudError, ErrorKind
from bot.cloud.observe import MESSAGE_KEYS, Known, Status, error_message, observe
from bot.flows.model import Step
from bot.i18n import Lang, load_catalog, require_keys
from tests.fakeccc.fixtures import KEY
from tests.fakeccc.server import Account, FakeCcc, Staff

APP = 1400000001
CATALOG = load_catalog()


@pytest.fixture
async def api(fake_ccc: FakeCcc) -> AsyncIterator[CccApi]:
    api = CccApi(fake_ccc.url, timeout=2.0)
    yield api
    await api.aclose()


def test_every_message_exists_in_both_languages() -> None:
    require_keys(CATALOG, MESSAGE_KEYS)
    assert set(CATALOG.keys_under("cloud.observed")) == MESSAGE_KEYS


@pytest.mark.parametrize("step", [Step.ACCOUNT, Step.REAL_NAME, Step.LIVE])
async def test_account_and_real_name_are_not_checked(
    api: CccApi, fake_ccc: FakeCcc, ccc_account: Account, step: Step
) -> None:
    seen = await observe(api, KEY, step, Known())
    assert seen.status is Status.NOT_CHECKED
    assert fake_ccc.count() == 0


async def test_no_instance_yet(api: CccApi, ccc_account: Account) -> None:
    seen = await observe(api, KEY, Step.INSTANCE, Known(instance_name="Acme"))
    assert (seen.status, seen.message) == (Status.NOT_YET, "cloud.observed.instance.none")
    text = CATALOG.t(Lang.EN, seen.message, **seen.params)
    assert text == "The cloud API shows no call-center instance on this account yet."


async def test_the_instance_named_as_the_customer_typed_it_is_picked(
    api: CccApi, ccc_account: Account
) -> None:
    ccc_account.add_instance(APP, "Acme test")
    ccc_account.add_instance(APP + 1, "Acme  Call Center")
    seen = await observe(api, KEY, Step.INSTANCE, Known(instance_name="acme call center"))
    assert seen.status is Status.CONFIRMED
    assert seen.facts["sdk_app_id"] == str(APP + 1)
    assert seen.params == {"name": "Acme  Call Center", "sdk_app_id": str(APP + 1)}


async def test_the_only_instance_is_picked_whatever_its_name(
    api: CccApi, ccc_account: Account
) -> None:
    ccc_account.add_instance(APP, "Something else")
    seen = await observe(api, KEY, Step.INSTANCE, Known(instance_name="Acme"))
    assert (seen.status, seen.facts["sdk_app_id"]) == (Status.CONFIRMED, str(APP))


async def test_several_instances_none_by_that_name_contradict(
    api: CccApi, ccc_account: Account
) -> None:
    ccc_account.add_instance(APP, "One")
    ccc_account.add_instance(APP + 1, "Two")
    seen = await observe(api, KEY, Step.INSTANCE, Known(instance_name="Acme"))
    assert seen.status is Status.CONTRADICTED
    assert seen.params == {"names": "One, Two", "expected": "Acme"}


async def test_a_recorded_sdk_app_id_must_be_on_the_account(
    api: CccApi, ccc_account: Account
) -> None:
    ccc_account.add_instance(APP, "Acme")
    found = await observe(api, KEY, Step.INSTANCE, Known(sdk_app_id=APP))
    assert found.status is Status.CONFIRMED
    gone = await observe(api, KEY, Step.INSTANCE, Known(sdk_app_id=APP + 9))
    assert (gone.status, gone.message) == (Status.CONTRADICTED, "cloud.observed.instance.missing")


async def test_qualification_follows_the_review(api: CccApi, ccc_account: Account) -> None:
    seen = await observe(api, KEY, Step.QUALIFICATION, Known())
    assert (seen.status, seen.message) == (Status.NOT_YET, "cloud.observed.qualification.none")

    ccc_account.add_company("Acme", 1, created=1_800_000_000)
    seen = await observe(api, KEY, Step.QUALIFICATION, Known())
    assert (seen.status, seen.message) == (Status.NOT_YET, "cloud.observed.qualification.pending")

    ccc_account.companies[0].state = 3
    ccc_account.companies[0].message = "营业执照未加盖公章 <请重新上传>"
    seen = await observe(api, KEY, Step.QUALIFICATION, Known())
    assert seen.status is Status.REJECTED
    assert seen.params["message"] == "营业执照未加盖公章 <请重新上传>"
    zh = CATALOG.t(Lang.ZH, seen.message, **seen.params)
    assert zh == "云 API 显示 *Acme* 的企业资质审核被驳回：营业执照未加盖公章 <请重新上传>"

    ccc_account.companies[0].message = ""
    seen = await observe(api, KEY, Step.QUALIFICATION, Known())
    assert (seen.status, seen.message) == (
        Status.REJECTED,
        "cloud.observed.qualification.rejected_no_reason",
    )

    ccc_account.add_company("Acme", 2, created=1_800_100_000, checked=1_800_200_000)
    seen = await observe(api, KEY, Step.QUALIFICATION, Known())
    assert seen.status is Status.CONFIRMED


async def test_a_newer_pending_application_does_not_undo_an_approval(
    api: CccApi, ccc_account: Account
) -> None:
    ccc_account.add_company("Acme", 2, created=1_800_000_000)
    ccc_account.add_company("Acme", 1, created=1_800_500_000)
    seen = await observe(api, KEY, Step.QUALIFICATION, Known())
    assert seen.status is Status.CONFIRMED


async def test_numbers_need_a_number_on_the_instance(api: CccApi, ccc_account: Account) -> None:
    instance = ccc_account.add_instance(APP, "Acme")
    seen = await observe(api, KEY, Step.NUMBERS, Known(sdk_app_id=APP))
    assert seen.status is Status.NOT_YET
    instance.numbers.append("008675512345678")
    seen = await observe(api, KEY, Step.NUMBERS, Known(sdk_app_id=APP))
    assert (seen.status, seen.facts["numbers"]) == (Status.CONFIRMED, "008675512345678")


async def test_later_steps_find_the_instance_when_none_is_recorded(
    api: CccApi, fake_ccc: FakeCcc, ccc_account: Account
) -> None:
    seen = await observe(api, KEY, Step.NUMBERS, Known(instance_name="Acme"))
    assert (seen.status, seen.message) == (Status.NOT_YET, "cloud.observed.instance.none")
    ccc_account.add_instance(APP, "Acme", numbers=["008675512345678"])
    seen = await observe(api, KEY, Step.NUMBERS, Known(instance_name="Acme"))
    assert seen.status is Status.CONFIRMED
    assert fake_ccc.count("DescribeCCCBuyInfoList") == 2


async def test_console_needs_a_member_besides_the_admin_and_a_skill_group(
    api: CccApi, ccc_account: Account
) -> None:
    instance = ccc_account.add_instance(APP, "Acme", staff=[Staff("admin@acme.cn", "Admin")])
    known = Known(sdk_app_id=APP)
    seen = await observe(api, KEY, Step.CONSOLE, known)
    assert seen.message == "cloud.observed.console.neither"
    instance.skill_groups.append("sales")
    assert (await observe(api, KEY, Step.CONSOLE, known)).message == (
        "cloud.observed.console.no_members"
    )
    instance.skill_groups.clear()
    instance.staff.append(Staff("li@acme.cn", "Li"))
    assert (await observe(api, KEY, Step.CONSOLE, known)).message == (
        "cloud.observed.console.no_skill_group"
    )
    instance.skill_groups.append("sales")
    seen = await observe(api, KEY, Step.CONSOLE, known)
    assert seen.status is Status.CONFIRMED
    assert seen.facts == {"sdk_app_id": str(APP), "staff": "2", "skill_groups": "1"}


async def test_login_needs_someone_signed_in_once(api: CccApi, ccc_account: Account) -> None:
    admin = Staff("admin@acme.cn", "Admin")
    ccc_account.add_instance(APP, "Acme", staff=[admin])
    known = Known(sdk_app_id=APP)
    assert (await observe(api, KEY, Step.LOGIN, known)).status is Status.NOT_YET
    admin.last_online = 1_800_000_000  # signed in once, offline now
    assert (await observe(api, KEY, Step.LOGIN, known)).status is Status.CONFIRMED
    admin.last_online, admin.status = None, "free"
    assert (await observe(api, KEY, Step.LOGIN, known)).status is Status.CONFIRMED


async def test_sdk_needs_a_call_since_the_onboarding_started(
    api: CccApi, fake_ccc: FakeCcc, ccc_account: Account
) -> None:
    now = datetime.fromtimestamp(int(fake_ccc.clock()), UTC)
    started = now - timedelta(days=10)
    the_day_before = int((started - timedelta(days=1)).timestamp())
    instance = ccc_account.add_instance(APP, "Acme", cdrs=[the_day_before])
    known = Known(sdk_app_id=APP, started_at=started)
    seen = await observe(api, KEY, Step.SDK, known, clock=lambda: now)
    assert seen.status is Status.NOT_YET
    instance.cdrs.append(int((now - timedelta(hours=1)).timestamp()))
    seen = await observe(api, KEY, Step.SDK, known, clock=lambda: now)
    assert (seen.status, seen.facts["calls"]) == (Status.CONFIRMED, "1")


async def test_sdk_looks_back_at_most_as_far_as_the_api_allows(
    api: CccApi, fake_ccc: FakeCcc, ccc_account: Account
) -> None:
    now = datetime.fromtimestamp(int(fake_ccc.clock()), UTC)
    a_call_150_days_ago = int((now - timedelta(days=150)).timestamp())
    ccc_account.add_instance(APP, "Acme", cdrs=[a_call_150_days_ago])
    known = Known(sdk_app_id=APP, started_at=now - timedelta(days=400))
    seen = await observe(api, KEY, Step.SDK, known, clock=lambda: now)
    assert seen.status is Status.CONFIRMED
    calls = [c for c in fake_ccc.calls if c.action == "DescribeTelCdr"]
    assert [c.code for c in calls] == [None, None]  # two windows, both accepted
    assert all(c.params["EndTimeStamp"] - c.params["StartTimeStamp"] < 90 * 86_400 for c in calls)


async def test_errors_propagate_and_have_a_message(
    api: CccApi, fake_ccc: FakeCcc, ccc_account: Account
) -> None:
    fake_ccc.fail("DescribeCompanyList", "AuthFailure.UnauthorizedOperation")
    with pytest.raises(CloudError) as caught:
        await observe(api, KEY, Step.QUALIFICATION, Known())
    key, params = error_message(caught.value)
    assert key == "cloud.observed.error.no_permission"
    assert "ccc:Describe*" in CATALOG.t(Lang.EN, key, **params)
    invalid = error_message(CloudError(ErrorKind.INVALID, "InvalidParameter"))
    assert invalid == ("cloud.observed.error.invalid", {"code": "InvalidParameter"})
    for kind in ErrorKind:
        key, params = error_message(CloudError(kind, "X"))
        assert CATALOG.t(Lang.ZH, key, **params)
