"""Fixtures giving a started fake cloud API and an account on it (shared with tests/cloud)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.cloud.keys import CloudKey
from tests.fakeccc.server import Account, FakeCcc

# Shaped like real keys (36 and 32 characters) but made up.
SECRET_ID = "AKIDfake0000000000000000000000000001"
SECRET_KEY = "fakeSecretKey0000000000000000001"
KEY = CloudKey(SECRET_ID, SECRET_KEY)


@pytest.fixture
async def fake_ccc() -> AsyncIterator[FakeCcc]:
    async with FakeCcc() as fake:
        yield fake


@pytest.fixture
def ccc_account(fake_ccc: FakeCcc) -> Account:
    return fake_ccc.add_account(SECRET_ID, SECRET_KEY)
