"""Small builders for flow tests: actors, documents, and a driver that applies events in turn."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.flows.catalogue import CHECKLISTS, documents_for
from bot.flows.engine import (
    AddDocument,
    AdvanceSipStage,
    ApproveDocument,
    ApproveScript,
    ChooseNumberPath,
    ChooseRole,
    Confirm400InboundOnly,
    ConfirmAccount,
    ConfirmConsole,
    ConfirmLogin,
    ConfirmPurchase,
    ConfirmRealName,
    ConfirmSdk,
    CreateInstance,
    FlowEvent,
    Outcome,
    SubmitDocuments,
    SubmitScript,
    SubmitSipRequest,
    apply,
)
from bot.flows.model import (
    Actor,
    ActorRole,
    DocKind,
    Document,
    NumberPath,
    Onboarding,
    Role,
    SipStage,
    SipTrunkRequest,
    Step,
)

NOW = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
CUSTOMER = Actor(user_id="UCUSTOMER", role=ActorRole.CUSTOMER)
SE = Actor(user_id="USE", role=ActorRole.SE)
MANAGER = Actor(user_id="UMANAGER", role=ActorRole.MANAGER)
SYSTEM = Actor(user_id="system", role=ActorRole.SYSTEM)


def document(kind: DocKind, file_id: str = "F0001") -> Document:
    return Document(
        kind=kind,
        file_id=file_id,
        name=f"{kind.value}.pdf",
        mimetype="application/pdf",
        size=1024,
        sha256="a" * 64,
        uploaded_by=CUSTOMER.user_id,
        uploaded_at=NOW,
    )


SIP_REQUEST = SipTrunkRequest(
    carrier="China Telecom Shenzhen",
    numbers=["0755-86013388"],
    signalling=["183.2.1.10:5060"],
    media_ip_range="183.2.1.0/24",
    contact_name="Li Lei",
    contact_phone="+86 138 0013 8000",
)


class Driver:
    """Applies events one after another and remembers the last outcome."""

    def __init__(self, onboarding: Onboarding | None = None) -> None:
        self.onboarding = onboarding or Onboarding()
        self.last: Outcome | None = None

    def send(self, event: FlowEvent, actor: Actor = CUSTOMER) -> Outcome:
        self.last = apply(self.onboarding, event, actor, NOW)
        self.onboarding = self.last.onboarding
        return self.last

    @property
    def state(self) -> list[str]:
        return self.onboarding.state

    # -- shortcuts to reach a step the normal way ----------------------------------------------

    def through_instance(self) -> Driver:
        self.send(ConfirmAccount(uin="100012345678"))
        self.send(ConfirmRealName())
        self.send(
            CreateInstance(
                call_center_name="Acme Support",
                admin_name="Han Meimei",
                admin_email="admin@acme.example.cn",
                sla_agreed=True,
            )
        )
        return self

    def upload_all(self, role: Role) -> Driver:
        for kind in documents_for(role):
            self.send(AddDocument(document=document(kind)))
        return self

    def through_qualification(self, role: Role = Role.LEGAL_REP) -> Driver:
        self.through_instance()
        self.send(ChooseRole(role=role))
        self.upload_all(role)
        self.send(SubmitDocuments())
        for kind in documents_for(role):
            self.send(ApproveDocument(kind=kind, revision=1), SE)
        assert self.onboarding.step is Step.NUMBERS
        return self

    def buy(self, path: NumberPath = NumberPath.LANDLINE) -> Driver:
        self.send(ChooseNumberPath(path=path))
        if path is NumberPath.TOLL_FREE_400:
            self.send(Confirm400InboundOnly())
        self.send(SubmitScript(text="您好，这里是 Acme 客服中心。"))
        assert self.onboarding.script is not None
        self.send(ApproveScript(revision=self.onboarding.script.revision), SE)
        self.send(ConfirmPurchase(number="4008001234"))
        return self

    def sip(self, ticket_id: str = "T-1") -> Driver:
        self.send(ChooseNumberPath(path=NumberPath.SIP_TRUNK))
        self.send(SubmitSipRequest(ticket_id=ticket_id, request=SIP_REQUEST))
        for stage in list(SipStage)[1:]:
            number = "075586013388" if stage is SipStage.NUMBER_ASSIGNED else None
            self.send(AdvanceSipStage(ticket_id=ticket_id, stage=stage, assigned_number=number), SE)
        return self

    def finish(self) -> Driver:
        self.send(ConfirmConsole(items=frozenset(CHECKLISTS[Step.CONSOLE])))
        self.send(ConfirmLogin(items=frozenset(CHECKLISTS[Step.LOGIN])))
        self.send(ConfirmSdk(items=frozenset(CHECKLISTS[Step.SDK])))
        return self
