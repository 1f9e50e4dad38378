"""One HTTP call against a real server on loopback: what the dispatcher learns from an answer."""

from __future__ import annotations

from datetime import timedelta

import aiohttp
import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from bot.tickets import BackendError
from bot.tickets.http import raise_for_status, retry_after, send
from tests.tickets.conftest import TEST_HTTP_TIMEOUT
from tests.tickets.fakes import FakeJira


async def answer(http: aiohttp.ClientSession, jira: FakeJira) -> BackendError:
    reply = await send(
        http, "POST", jira.url + "/rest/api/2/issue", what="jira create", limits=TEST_HTTP_TIMEOUT
    )
    with pytest.raises(BackendError) as caught:
        raise_for_status(reply, "jira create")
    return caught.value


# The fake sends the name exactly as given (`retry-after: 7` on the wire). aiohttp's compiled
# parser happens to rename headers it knows to their usual case; its pure-Python parser
# (AIOHTTP_NO_EXTENSIONS=1, or where no wheel exists) keeps what was sent, and a plain dict
# then missed it.
@pytest.mark.parametrize("name", ["retry-after", "Retry-After", "RETRY-AFTER"])
@pytest.mark.parametrize("status", [429, 503])
async def test_retry_after_is_read_whatever_the_case_of_its_name(
    http: aiohttp.ClientSession, jira: FakeJira, name: str, status: int
) -> None:
    jira.fail_next(status, headers={name: "7"})
    error = await answer(http, jira)
    assert error.retry_after == timedelta(seconds=7)
    assert not error.permanent


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 422])
async def test_a_4xx_that_will_not_change_is_permanent(
    http: aiohttp.ClientSession, jira: FakeJira, status: int
) -> None:
    jira.fail_next(status, headers={"retry-after": "7"})
    error = await answer(http, jira)
    assert error.permanent
    assert error.retry_after is None  # nothing to wait for
    assert f"HTTP {status}" in error.reason


@pytest.mark.parametrize("status", [408, 409, 425, 429, 500, 502, 503, 504])
async def test_timeouts_conflicts_rate_limits_and_5xx_may_change(
    http: aiohttp.ClientSession, jira: FakeJira, status: int
) -> None:
    jira.fail_next(status)
    error = await answer(http, jira)
    assert not error.permanent
    assert error.retry_after is None  # none was asked for


def test_header_names_are_looked_up_without_regard_to_case() -> None:
    headers = CIMultiDictProxy(CIMultiDict({"retry-after": "7"}))
    assert retry_after(headers) == timedelta(seconds=7)
    assert retry_after(CIMultiDictProxy(CIMultiDict({"Retry-After": "soon"}))) is None
