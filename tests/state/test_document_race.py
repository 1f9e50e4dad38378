"""Two uploads of the same file decided at once, through the onboarding layer on the store."""

from __future__ import annotations

import asyncio
import hashlib

import pytest

from bot.documents import CheckReason, InspectedFile
from bot.flows.engine import ChooseRole, ConfirmAccount, ConfirmRealName, CreateInstance
from bot.flows.model import Actor, ActorRole, DocKind, Role
from bot.i18n import Lang
from bot.onboarding import Onboardings
from bot.state.store import RedisTenantStore
from tests.clock import MovableClock
from tests.state.conftest import Backend

SE = Actor(user_id="U0SOLENG1", role=ActorRole.SE)
ALICE = Actor(user_id="U0ALICE001", role=ActorRole.CUSTOMER)
BOB = Actor(user_id="U0BOB00001", role=ActorRole.CUSTOMER)
SHA = hashlib.sha256(b"the same scan").hexdigest()


def scan(file_id: str, uploader: str) -> InspectedFile:
    return InspectedFile(file_id, "licence.pdf", "application/pdf", 13, SHA, uploader)


@pytest.fixture
def onboardings(backend: Backend) -> Onboardings:
    clock = MovableClock()
    return Onboardings(RedisTenantStore(backend.redis, backend.keys, clock=clock), clock=clock)


async def collecting(onboardings: Onboardings) -> str:
    record = await onboardings.start(
        company="Acme", channel_id="C0ACME0001", team_id=None, actor=SE, lang=Lang.EN
    )
    tenant = record.tenant_id
    for event in (
        ConfirmAccount(),
        ConfirmRealName(),
        CreateInstance(
            call_center_name="Acme Support",
            admin_name="Han Meimei",
            admin_email="admin@acme.example.cn",
            sla_agreed=True,
        ),
        ChooseRole(role=Role.LEGAL_REP),
    ):
        await onboardings.act(tenant, event, ALICE)
    return tenant


async def test_the_same_bytes_added_twice_at_once_are_recorded_once(
    onboardings: Onboardings,
) -> None:
    tenant = await collecting(onboardings)

    first, second = await asyncio.gather(
        onboardings.add_document(
            tenant,
            DocKind.BUSINESS_LICENSE,
            scan("F0A", ALICE.user_id),
            ALICE,
            uploaded_by=ALICE.user_id,
        ),
        onboardings.add_document(
            tenant,
            DocKind.BUSINESS_LICENSE,
            scan("F0B", BOB.user_id),
            BOB,
            uploaded_by=BOB.user_id,
        ),
    )

    verdicts = sorted([first, second], key=lambda c: c.ok)
    assert verdicts[0].rejected is CheckReason.DUPLICATE
    assert verdicts[1].ok
    record = await onboardings.get(tenant)
    [doc] = record.onboarding.documents.values()
    assert doc.revision == 1
    taken = "F0A" if first.ok else "F0B"
    assert doc.file_id == taken
    added = [e for e in await onboardings.store.audit(tenant) if e.event == "add_document"]
    assert len(added) == 1
