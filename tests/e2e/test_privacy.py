"""No document bytes, ID numbers or full email addresses reach Redis or the logs.

A whole journey (start to step 5, every document uploaded, reviewed and approved) with markers
planted where they could leak from: an ID number and a distinctive phrase inside every file's
bytes, and an email address in the customer's Slack profile (which Slack would show only to an
app granted users:read.email: the fake shows it, to prove it would still go nowhere). Then every
key under the test's prefix, of every type, and every log record at DEBUG are scanned.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from bot.logs import quiet_third_party_loggers
from bot.state.keys import Keys
from tests.e2e.conftest import CHANNEL, CUSTOMER_EN, OPS_CHANNEL, SE, stored_values
from tests.e2e.journey import JPEG, PDF, PNG, Journey
from tests.fakeslack.driver import SlackDriver
from tests.fakeslack.server import FakeSlack

ID_NUMBER = "110101199003071234"  # the shape of a PRC resident ID number (fake)
IN_THE_BYTES = "DOCUMENT-CONTENT-MARKER-5b1e"
PROFILE_EMAIL = "li.wei.private@acme-example.cn"
ADMIN_EMAIL = "admin@example.cn"  # typed into the instance form (kept: it is the login)

DOCUMENTS = [
    ("BusinessLicense.pdf", "", PDF),
    ("scan-1.pdf", "legal representative ID card", PDF),
    ("scan-2.pdf", "agent ID card", PDF),
    ("selfie.jpg", "agent holding the ID card", JPEG),
    ("form.pdf", "phone acceptance form", PDF),
    ("commit.pdf", "network access commitment letter", PDF),
    ("auth.png", "letter of authorization", PNG),
]


def planted(head: bytes, name: str) -> bytes:
    return head + f" {IN_THE_BYTES} 身份证号 {ID_NUMBER} {name} ".encode()


@pytest.fixture
def production_log_levels() -> Iterator[None]:
    """Third-party loggers as `python -m bot` sets them (and back afterwards)."""
    names = ("slack_sdk", "slack_bolt", "aiohttp.access")
    before = {name: logging.getLogger(name).level for name in names}
    quiet_third_party_loggers(logging.DEBUG)
    yield
    for name, level in before.items():
        logging.getLogger(name).setLevel(level)


@pytest.mark.usefixtures("production_log_levels")
async def test_no_document_content_id_number_or_email_reaches_redis_or_the_logs(
    slack: SlackDriver, fake: FakeSlack, keys: Keys, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.email_scope = True
    fake.users[CUSTOMER_EN].email = PROFILE_EMAIL
    j = Journey(slack, fake, CHANNEL, CUSTOMER_EN, SE, OPS_CHANNEL)

    tenant = await j.start("Example Technology")
    await j.through_instance()
    await j.choose_role("agent")
    for name, said, head in DOCUMENTS:
        ts = await j.upload(name, planted(head, name), said)
        await j.thread_reply(ts)
    submit = await j.wait_prompt("qualification.collecting", having="submit_documents")
    await j.click(submit, lambda b: "submit_documents" in str(b.get("value")))
    await j.approve_all()
    await j.wait_prompt("numbers.choose")
    await j.command("status")
    assert len(fake.downloads) == len(DOCUMENTS)  # the bot did read every file's bytes
    assert any(
        c.response.get("user", {}).get("profile", {}).get("email") for c in fake.calls("users.info")
    )

    stored = await stored_values(keys)
    assert any(b"scan-1.pdf" in v for v in stored.values())  # the scan sees the record
    for marker in (ID_NUMBER, IN_THE_BYTES, PROFILE_EMAIL):
        leaks = [k for k, v in stored.items() if marker.encode() in v]
        assert leaks == [], f"{marker} is stored under {leaks}"
    # The admin email is the customer's login and goes on the SIP ticket: kept whole in the
    # record's instance, and nowhere else (the audit and the queued notice mask it).
    whole = [k for k, v in stored.items() if ADMIN_EMAIL.encode() in v]
    assert whole == [keys.record(tenant)], whole
    for head in (PDF, JPEG, PNG):  # the files' own bytes
        assert not [k for k, v in stored.items() if head in v]

    lines = [record.getMessage() for record in caplog.records]
    lines += [record.exc_text or "" for record in caplog.records]
    assert len(lines) > 10
    for marker in (ID_NUMBER, IN_THE_BYTES, PROFILE_EMAIL, ADMIN_EMAIL):
        leaks = [line for line in lines if marker in line]
        assert leaks == [], f"{marker} is logged: {leaks[:3]}"
