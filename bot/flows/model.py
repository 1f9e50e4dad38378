"""The onboarding's domain data: what the flow reads and writes, and nothing about Slack or Redis.

`Onboarding` is the state machine's model. Its `state` field holds the machine's active
configuration as a list of stable state values, outermost first; the first value is always the
value of a `Step` (or `live`), so the current step can be read without building a machine.
"""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum, StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Step(StrEnum):
    """The eight steps, in order, plus the final state. Values are stored: never rename."""

    ACCOUNT = "account"
    REAL_NAME = "real_name"
    INSTANCE = "instance"
    QUALIFICATION = "qualification"
    NUMBERS = "numbers"
    CONSOLE = "console"
    LOGIN = "login"
    SDK = "sdk"
    LIVE = "live"

    @property
    def number(self) -> int:
        """1-8 for the steps, 9 for live."""
        return list(Step).index(self) + 1

    @classmethod
    def ordered(cls) -> list[Step]:
        """The eight steps a customer works through (without `live`)."""
        return [s for s in cls if s is not cls.LIVE]


class Role(StrEnum):
    """Who applies for the qualification review (step 4)."""

    AGENT = "agent"  # 经办人（受法定代表人委托）
    LEGAL_REP = "legal_rep"  # 公司法定代表人


class DocKind(StrEnum):
    """Qualification documents. Values are stored: never rename."""

    BUSINESS_LICENSE = "business_license"
    LEGAL_REP_ID = "legal_rep_id"
    AGENT_ID = "agent_id"
    AGENT_HOLDING_ID = "agent_holding_id"
    LEGAL_REP_HOLDING_ID = "legal_rep_holding_id"
    PHONE_ACCEPTANCE_FORM = "phone_acceptance_form"
    NETWORK_ACCESS_COMMITMENT = "network_access_commitment"
    AUTHORIZATION_LETTER = "authorization_letter"


class Verdict(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class NumberPath(StrEnum):
    """How the enterprise gets its phone number (step 5)."""

    LANDLINE = "landline"  # 固话: buy, inbound and outbound
    TOLL_FREE_400 = "toll_free_400"  # 400 号码: buy, inbound only
    SIP_TRUNK = "sip_trunk"  # 企业自有号码 SIP Trunk 对接


class SipStage(IntEnum):
    """The life of a SIP-trunk ticket, in order (DOMAIN.md, step 5)."""

    SUBMITTED = 1
    WHITELISTING = 2
    CARRIER_HANDOVER = 3
    TESTING = 4
    NUMBER_ASSIGNED = 5


class ActorRole(StrEnum):
    CUSTOMER = "customer"
    SE = "se"
    MANAGER = "manager"
    SYSTEM = "system"


class Actor(BaseModel):
    """Who caused a change: a Slack user (with their role for this tenant) or the system."""

    model_config = ConfigDict(frozen=True)

    user_id: str
    role: ActorRole


class Document(BaseModel):
    """Metadata of one uploaded qualification document. Never the bytes or their contents."""

    kind: DocKind
    file_id: str
    name: str
    mimetype: str
    size: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    uploaded_by: str
    uploaded_at: datetime
    revision: int = Field(default=1, ge=1)  # bumped on every replacement
    # Why the revision this one replaces was turned down, for the reviewer (None when it
    # replaces nothing, or a file that was not rejected).
    rejected_before: str | None = None
    verdict: Verdict = Verdict.PENDING
    reason: str | None = None  # why it was rejected
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None
    # What the pre-check saw wrong with the file (`bot.documents.precheck.Finding` values):
    # metadata about the file, never its contents. A document with findings goes to review
    # only once the customer chose to send it anyway (`findings_confirmed`) or replaced it.
    findings: tuple[str, ...] = ()
    findings_confirmed: bool = False

    @property
    def awaits_customer(self) -> bool:
        """Has findings the customer has not yet chosen to send anyway."""
        return bool(self.findings) and not self.findings_confirmed


class InstanceInfo(BaseModel):
    """Step 3: the values the customer entered to create the call-center instance."""

    call_center_name: str
    admin_name: str
    admin_email: str
    sla_agreed: bool


class ScriptReview(BaseModel):
    """The call script (话术) that must pass review before a number can be bought."""

    text: str | None = None
    file_id: str | None = None
    file_name: str | None = None
    revision: int = Field(default=1, ge=1)
    verdict: Verdict = Verdict.PENDING
    reason: str | None = None
    reviewed_by: str | None = None


class SipTrunkRequest(BaseModel):
    """What the customer tells us in the SIP-trunk form; validated where it is entered."""

    carrier: str
    numbers: list[str]
    signalling: list[str]  # "ip:port" or "[ipv6]:port"
    media_ip_range: str | None = None
    contact_name: str
    contact_phone: str


class SipTrunkTicket(BaseModel):
    ticket_id: str
    request: SipTrunkRequest
    stage: SipStage = SipStage.SUBMITTED
    opened_by: str
    opened_at: datetime
    assigned_number: str | None = None


class Onboarding(BaseModel):
    """Everything the flow knows about one tenant's progress."""

    state: list[str] = Field(default_factory=lambda: [Step.ACCOUNT.value])
    account_confirmed: bool = False
    account_uin: str | None = None
    real_name_confirmed: bool = False
    instance: InstanceInfo | None = None
    role: Role | None = None
    documents: dict[DocKind, Document] = Field(default_factory=dict)
    document_round: int = Field(default=0, ge=0)  # how many times the documents were submitted
    qualification_approved: bool = False
    number_path: NumberPath | None = None
    toll_free_inbound_only_confirmed: bool = False
    script: ScriptReview | None = None
    purchase_confirmed: bool = False
    purchased_number: str | None = None
    sip: SipTrunkTicket | None = None
    console_done: bool = False
    login_done: bool = False
    sdk_done: bool = False
    # The instance's application id (SdkAppId) as the TCCC cloud API showed it (step 3 confirmed
    # by the API, or recorded when it confirmed a later step).
    sdk_app_id: int | None = Field(default=None, ge=1)

    @property
    def step(self) -> Step:
        return Step(self.state[0])
