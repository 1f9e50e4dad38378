"""Who may do what: every command, button, form and App Home, for every kind of person.

The README's authorization table, cell by cell, through the served app and the fake Slack with
signed requests. An allowed cell shows what the person would notice; a refused one shows that the
tenant's record and audit are unchanged, that nothing was posted or updated in any channel, and
that the refusal was shown to the actor only.

One served app for the module: each cell that needs an onboarding gets its own, started by the SE
in a channel of its own (whose only customer is `MEMBER`).
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest
import pytest_asyncio
from cryptography.fernet import Fernet

from bot.cloud.keys import CloudKey
from bot.flows.model import Actor, ActorRole
from bot.runtime import HttpService
from bot.state.keys import Keys
from tests.clock import MONDAY_MORNING, MovableClock
from tests.e2e.conftest import MANAGER, OPS_CHANNEL, SE, SIGNING_SECRET, served
from tests.e2e.conversation import reply_text, step_marks
from tests.e2e.journey import buttons, message_text, stage_of, texts
from tests.e2e.ops import callback_of
from tests.fakeslack.driver import Reply, SlackDriver, text_input
from tests.fakeslack.server import FakeSlack
from tests.fakeslack.state import Message

pytestmark = pytest.mark.asyncio(loop_scope="module")

MEMBER = "U0MEMBER001"  # a customer in the tenant's channel
OTHER = "U0OTHERCUS1"  # a customer of another tenant
OUTSIDER = "U0OUTSIDER1"  # in no onboarding's channel
SE_TWO = "U0SOLENG002"
GUEST_TEAM = "T0GUESTORG1"  # the team an SE's user id arrives from as a Slack Connect guest
OTHER_CHANNEL = "C0OTHERTEN1"

ACTORS = ("member", "other", "outsider", "se", "manager", "guest_se")
USERS = {
    "member": MEMBER,
    "other": OTHER,
    "outsider": OUTSIDER,
    "se": SE,
    "manager": MANAGER,
    "guest_se": SE,
}
STAFF = frozenset({"se", "manager"})
SES = frozenset({"se"})
CUSTOMERS_AND_STAFF = frozenset({"member", "se", "manager"})
CUSTOMERS_AND_SES = frozenset({"member", "se"})  # managers watch; the flow refuses them
EVERYONE = frozenset(ACTORS)

NOT_YOURS = "is not an onboarding you take part in"
NOT_REVIEWER = "Only solution engineers can review"
SE_ONLY = "Only solution engineers can do this"
NOT_PERMITTED = "You are not allowed to do that"
HIDDEN = "subcommand; here is the list"  # what a subcommand one may not run looks like
KEY_MANAGERS = "Only the customer or a solution engineer can give the cloud API key"
NO_TENANT_HERE = "There is no onboarding here"
CLOUD_KEY = CloudKey("AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE", "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE")


@dataclass
class Tenant:
    id: str
    channel: str


@dataclass
class World:
    fake: FakeSlack
    service: HttpService
    slack: SlackDriver
    guest: SlackDriver  # sends SE's user id as a member of GUEST_TEAM
    other: Tenant
    channels: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def driver(self, actor: str) -> SlackDriver:
        return self.guest if actor == "guest_se" else self.slack

    def place(self, actor: str, tenant: Tenant) -> str:
        """Where `actor` types a command about `tenant`."""
        if actor == "member":
            return tenant.channel
        if actor == "other":
            return self.other.channel
        if actor in STAFF:
            return OPS_CHANNEL
        return self.fake.open_im(USERS[actor]).id

    def new_channel(self, *members: str) -> str:
        channel = f"C0AUTHZ{next(self.channels):04d}"
        self.fake.add_channel(channel, channel.lower(), members=[self.fake.bot_user_id, *members])
        return channel

    async def settle(self) -> None:
        await self.service.services.runner.settle()

    async def fresh(self, *, channel: str | None = None, customer: str = MEMBER) -> Tenant:
        """A new onboarding, started by the SE, at its first prompt."""
        channel = channel or self.new_channel(customer)
        reply = await self.slack.slash_command("start Acme", user_id=SE, channel_id=channel)
        tenant = next(
            w.strip("`，。,.") for w in texts(reply.json()["blocks"]).split() if w.startswith("`")
        )
        await self.prompt(channel, "account")
        await self.settle()
        return Tenant(tenant, channel)

    async def prompt(self, channel: str, stage: str) -> Message:
        found = await self.fake.wait_for_message(
            channel=channel, where=lambda m: not m.ephemeral and stage_of(m) == stage
        )
        return found[-1]

    async def state(self, tenant: Tenant) -> tuple[int, int]:
        """The record's version and the length of its audit stream."""
        store = self.service.services.store
        record = await store.get(tenant.id)
        assert record is not None
        return record.version, len(await store.audit(tenant.id, limit=10_000))

    def posted(self) -> int:
        """Every message posted or updated in place, anywhere (ephemeral ones aside)."""
        return len(self.fake.calls("chat.postMessage")) + len(self.fake.calls("chat.update"))

    def shown_to(self, user: str, reply: Reply) -> list[str]:
        """What `user` alone was shown: ephemeral messages to them, and ephemeral answers to
        the response_url of `reply`'s request."""
        shown = [m for m in self.fake.messages() if m.ephemeral and m.target_user == user]
        out = [message_text(m) for m in shown]
        url = str((reply.payload or {}).get("response_url") or "")
        url = url.removeprefix(self.fake.hooks_url)
        for call in self.fake.calls("response_url"):
            mine = call.ok and url and call.args.get("url") == url
            if mine and call.args.get("response_type") != "in_channel":
                out.append(str(call.args.get("text", "")) + texts(call.args.get("blocks")))
        return out


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world() -> AsyncIterator[World]:
    keys = Keys(prefix=f"e2e-authz-{uuid.uuid4().hex[:10]}")
    async with FakeSlack() as fake:
        for user, name in [
            (MEMBER, "member"),
            (OTHER, "other"),
            (OUTSIDER, "outsider"),
            (SE, "se.zhang"),
            (SE_TWO, "se.li"),
            (MANAGER, "mgr.wang"),
        ]:
            fake.add_user(user, name, locale="en-US")
        fake.add_channel(OPS_CHANNEL, "onboarding-ops", members=[fake.bot_user_id, SE, MANAGER])
        fake.add_channel(OTHER_CHANNEL, "other-tenant", members=[fake.bot_user_id, OTHER])
        settings = {
            "onboarding_se_users": f"{SE},{SE_TWO}",
            "quiet_hours": "off",
            "secrets_key": Fernet.generate_key().decode(),
        }
        async with (
            served(fake, keys, MovableClock(MONDAY_MORNING), **settings) as (
                service,
                slack,
            ),
            SlackDriver(
                f"http://127.0.0.1:{service.port}",
                SIGNING_SECRET,
                team_id=fake.team_id,
                api_app_id=fake.api_app_id,
                bot_user_id=fake.bot_user_id,
                hooks_url=fake.hooks_url,
                team_of=lambda user: GUEST_TEAM if user == SE else fake.team_of(user),
            ) as guest,
        ):
            w = World(fake, service, slack, guest, Tenant("", OTHER_CHANNEL))
            w.other = await w.fresh(channel=OTHER_CHANNEL, customer=OTHER)
            yield w


# -- how a cell is checked --------------------------------------------------------------------

Act = Callable[[World, str, Tenant], Awaitable[Reply]]
Check = Callable[[World, str, Tenant, Reply], Awaitable[None]]
Prepare = Callable[[World, Tenant], Awaitable[None]]


@dataclass(frozen=True)
class Action:
    name: str
    allowed: frozenset[str]
    act: Act
    noticed: Check  # what an allowed actor notices
    refusal: str  # what a refused actor is told
    needs_tenant: bool = True
    refused_as: tuple[tuple[str, str], ...] = ()  # another refusal for some actors
    prepare: Prepare | None = None  # what the cell's tenant has before the actor acts

    def refusal_for(self, actor: str) -> str:
        return dict(self.refused_as).get(actor, self.refusal)


async def cell(w: World, action: Action, actor: str) -> None:
    tenant = await w.fresh() if action.needs_tenant else Tenant("", w.new_channel(MEMBER))
    if action.prepare is not None:
        await action.prepare(w, tenant)
    if actor in action.allowed:
        reply = await action.act(w, actor, tenant)
        assert reply.status == 200, reply.text
        await action.noticed(w, actor, tenant, reply)
        return
    await w.settle()
    tenants = [t for t in (tenant, w.other) if t.id]
    before = [await w.state(t) for t in tenants]
    posted = w.posted()
    user = USERS[actor]
    shown = len([m for m in w.fake.messages() if m.ephemeral and m.target_user == user])
    reply = await action.act(w, actor, tenant)
    assert reply.status == 200, reply.text
    refusal = action.refusal_for(actor)
    body = reply.json() or {}
    if isinstance(body, dict) and body.get("response_action") == "errors":
        told = " ".join(body["errors"].values())  # on the form, which only its user sees
    elif isinstance(body, dict) and body.get("response_type") == "ephemeral":
        told = reply_text(reply)
    else:
        await w.fake.wait_until(
            lambda: any(refusal in t for t in w.shown_to(user, reply)[shown:]),
            what=f"{refusal!r} shown to {actor} only",
        )
        told = " ".join(w.shown_to(user, reply)[shown:])
    assert refusal in told, told
    await w.settle()
    assert [await w.state(t) for t in tenants] == before, "a refusal changed the record"
    assert w.posted() == posted, "a refusal posted or updated a message"


# -- commands ---------------------------------------------------------------------------------


def command(text: str, *, where: Callable[[World, str, Tenant], str] | None = None) -> Act:
    async def act(w: World, actor: str, tenant: Tenant) -> Reply:
        channel = where(w, actor, tenant) if where else w.place(actor, tenant)
        return await w.driver(actor).slash_command(
            text.format(tenant=tenant.id), user_id=USERS[actor], channel_id=channel
        )

    return act


def said(needle: str) -> Check:
    async def check(w: World, actor: str, tenant: Tenant, reply: Reply) -> None:
        assert needle in reply_text(reply), reply_text(reply)

    return check


async def shows_checklist(w: World, actor: str, tenant: Tenant, reply: Reply) -> None:
    assert step_marks(reply.json()["blocks"]), reply_text(reply)


async def started(w: World, actor: str, tenant: Tenant, reply: Reply) -> None:
    assert "started" in reply_text(reply).lower() or "`" in reply_text(reply)
    await w.prompt(str(reply.payload["channel_id"]), "account")  # type: ignore[index]


def in_channel(needle: str) -> Check:
    async def check(w: World, actor: str, tenant: Tenant, reply: Reply) -> None:
        await w.fake.wait_for_message(
            channel=tenant.channel, where=lambda m: not m.ephemeral and needle in message_text(m)
        )

    return check


def audited(event: str, then: Check | None = None) -> Check:
    """The change is in the audit stream, naming the actor."""

    async def check(w: World, actor: str, tenant: Tenant, reply: Reply) -> None:
        if then is not None:
            await then(w, actor, tenant, reply)
        entries = await w.service.services.store.audit(tenant.id)
        assert any(e.event == event and e.actor.user_id == USERS[actor] for e in entries), [
            (e.event, e.actor.user_id) for e in entries
        ]

    return check


async def start_channel(w: World, actor: str, tenant: Tenant) -> Reply:
    channel = w.new_channel()  # its members do not matter here (and the SE stays in none)
    return await w.driver(actor).slash_command(
        "start Initech", user_id=USERS[actor], channel_id=channel
    )


async def _nothing(w: World, actor: str, tenant: Tenant, reply: Reply) -> None:
    return None


def form_opened(callback_id: str) -> Check:
    async def check(w: World, actor: str, tenant: Tenant, reply: Reply) -> None:
        await w.fake.wait_for(
            "views.open",
            where=lambda c: (
                callback_of(c.args.get("view")) == callback_id
                and c.args.get("trigger_id") == reply.trigger_id
            ),
        )

    return check


async def key_given(w: World, tenant: Tenant) -> None:
    """The tenant's customer gave a cloud API key (a refused `forget-key` must leave it)."""
    customer = Actor(user_id=MEMBER, role=ActorRole.CUSTOMER)
    await w.service.services.vault.put(tenant.id, CLOUD_KEY, by=customer)


COMMANDS = [
    Action("/onboard help", EVERYONE, command("help"), said("/onboard"), "", needs_tenant=False),
    Action(
        "/onboard start",
        SES,
        start_channel,
        started,
        "Only solution engineers can start an onboarding",
        needs_tenant=False,
    ),
    Action(
        # Where one types it: a customer sees their own onboarding; elsewhere there is none.
        "/onboard status (here)",
        frozenset({"member", "other"}),
        command("status"),
        shows_checklist,
        "There is no onboarding here",
    ),
    Action(
        "/onboard status <tenant>",
        CUSTOMERS_AND_STAFF,
        command("status {tenant}"),
        shows_checklist,
        NOT_YOURS,
    ),
    Action(
        "/onboard lang",
        CUSTOMERS_AND_STAFF,
        command("lang zh", where=lambda w, a, t: t.channel),
        audited("set_lang", in_channel("本频道的入驻今后使用中文")),
        NOT_YOURS,
    ),
    Action(
        "/onboard move",
        SES,
        command("move {tenant} 3 checked by phone"),
        audited("override_step", said("moved to step 3")),
        HIDDEN,
    ),
    Action(
        "/onboard assign",
        SES,
        command(f"assign {{tenant}} <@{SE_TWO}>"),
        audited("assign", said("now owns")),
        HIDDEN,
    ),
    Action(
        "/onboard nudge",
        SES,
        command("nudge {tenant}"),
        audited("nudge", in_channel("asks you to carry on")),
        HIDDEN,
    ),
    Action(
        # The form opens for whoever may give the tenant's key; managers watch.
        "/onboard key <tenant>",
        CUSTOMERS_AND_SES,
        command("key {tenant}"),
        form_opened("form.cloud_key"),
        NOT_YOURS,
        refused_as=(("manager", KEY_MANAGERS),),
    ),
    Action(
        "/onboard key (here)",
        frozenset({"member", "other"}),
        command("key"),
        form_opened("form.cloud_key"),
        NO_TENANT_HERE,
        refused_as=(("manager", KEY_MANAGERS),),
    ),
    Action(
        "/onboard forget-key <tenant>",
        CUSTOMERS_AND_STAFF,
        command("forget-key {tenant}"),
        audited("cloud_key_forgotten", said("is forgotten")),
        NOT_YOURS,
        prepare=key_given,
    ),
    Action(
        # Asks the cloud API about the tenant; this one has no key, and says so.
        "/onboard verify <tenant>",
        SES,
        command("verify {tenant}"),
        said("no Tencent Cloud API key"),
        HIDDEN,
    ),
    Action("/onboard stalled", STAFF, command("stalled"), _nothing, HIDDEN),
    Action("/onboard summary", STAFF, command("summary"), said("<#"), HIDDEN, needs_tenant=False),
    Action("/onboard export", STAFF, command("export"), said("<#"), HIDDEN, needs_tenant=False),
]


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("action", COMMANDS, ids=lambda a: a.name)
async def test_commands(world: World, action: Action, actor: str) -> None:
    await cell(world, action, actor)


# -- buttons ----------------------------------------------------------------------------------


def click(action_id: str, value: Callable[[World, Tenant], str], *, ephemeral: bool = False) -> Act:
    """Click a button with `value` on a message of the tenant's channel."""

    async def act(w: World, actor: str, tenant: Tenant) -> Reply:
        channel = tenant.channel
        return await w.driver(actor).block_action(
            action_id,
            value(w, tenant),
            user_id=USERS[actor],
            channel_id=channel,
            message_ts=w.slack.new_ts(),
            ephemeral=ephemeral,
        )

    return act


def prompt_button(stage: str, part: str) -> Callable[[World, Tenant], str]:
    def value(w: World, tenant: Tenant) -> str:
        [prompt] = [
            m for m in w.fake.messages(tenant.channel) if not m.ephemeral and stage_of(m) == stage
        ][-1:]
        return next(str(b["value"]) for b in buttons(prompt) if part in str(b.get("value")))

    return value


def forged(**fields: object) -> Callable[[World, Tenant], str]:
    """A button value as the bot writes it, for this cell's tenant."""

    def value(w: World, tenant: Tenant) -> str:
        return json.dumps({"t": tenant.id, **fields}, separators=(",", ":"))

    return value


def next_prompt(stage: str) -> Check:
    async def check(w: World, actor: str, tenant: Tenant, reply: Reply) -> None:
        await w.prompt(tenant.channel, stage)

    return check


def told(needle: str) -> Check:
    """The actor alone is told `needle` (a refusal on the merits, past authorization)."""

    async def check(w: World, actor: str, tenant: Tenant, reply: Reply) -> None:
        await w.fake.wait_until(
            lambda: any(needle in t for t in w.shown_to(USERS[actor], reply)),
            what=f"{needle!r} shown to {actor}",
        )

    return check


def past_authorization(refusal: str) -> Check:
    """An SE's click on a card this cell cannot reach cheaply: whatever the flow answers, it is
    not the refusal of who they are."""

    async def check(w: World, actor: str, tenant: Tenant, reply: Reply) -> None:
        user = USERS[actor]
        await w.fake.wait_until(
            lambda: bool(w.shown_to(user, reply)) or w.posted() > 0, what="an answer"
        )
        await w.settle()
        assert not any(refusal in t for t in w.shown_to(user, reply)[-1:]), w.shown_to(user, reply)

    return check


def stall_value(w: World, tenant: Tenant) -> str:
    return f"{tenant.id}|{int(MONDAY_MORNING.timestamp())}"


BUTTONS = [
    Action(
        "cloudkey.open",  # on the customer's App Home
        CUSTOMERS_AND_SES,
        click("cloudkey.open", lambda w, t: t.id),
        form_opened("form.cloud_key"),
        NOT_YOURS,
        refused_as=(("manager", KEY_MANAGERS),),
    ),
    Action(
        "step.event",
        CUSTOMERS_AND_SES,
        click("step.event", prompt_button("account", "confirm_account")),
        next_prompt("real_name"),
        NOT_YOURS,
        refused_as=(("manager", NOT_PERMITTED),),
    ),
    Action(
        "step.form",
        CUSTOMERS_AND_STAFF,
        click("step.form", prompt_button("account", '"f":"account"')),
        form_opened("form.account"),
        NOT_YOURS,
    ),
    Action(
        "reply.dismiss",
        EVERYONE,
        click("reply.dismiss", lambda w, t: "keep", ephemeral=True),
        _nothing,
        "",
    ),
    Action(
        "upload.pick",
        CUSTOMERS_AND_STAFF,
        click("upload.pick", lambda w, t: f"{t.id}|F0NOSUCHFILE|business_license"),
        _nothing,
        NOT_YOURS,
    ),
    Action(
        "upload.again",
        CUSTOMERS_AND_STAFF,
        click("upload.again", forged(k="business_license", r=1)),
        _nothing,
        NOT_YOURS,
    ),
    Action(
        "upload.send_anyway",
        CUSTOMERS_AND_STAFF,  # past who they are; the flow then refuses a manager
        click("upload.send_anyway", forged(k="business_license", r=1)),
        past_authorization(NOT_YOURS),
        NOT_YOURS,
    ),
    Action(
        "review.document.approve",
        SES,
        click("review.document.approve", forged(k="business_license", r=1)),
        past_authorization(NOT_REVIEWER),
        NOT_REVIEWER,
    ),
    Action(
        "review.document.reject",
        SES,
        click("review.document.reject", forged(k="business_license", r=1)),
        past_authorization(NOT_REVIEWER),
        NOT_REVIEWER,
    ),
    Action(
        "review.script.approve",
        SES,
        click("review.script.approve", forged(r=1)),
        past_authorization(NOT_REVIEWER),
        NOT_REVIEWER,
    ),
    Action(
        "review.script.reject",
        SES,
        click("review.script.reject", forged(r=1)),
        past_authorization(NOT_REVIEWER),
        NOT_REVIEWER,
    ),
    Action(
        "ticket.sip.advance",
        SES,
        click(
            "ticket.sip.advance",
            lambda w, t: json.dumps({"tenant": t.id, "ticket": "SIP-1", "stage": 2}),
        ),
        past_authorization(NOT_REVIEWER),
        NOT_REVIEWER,
    ),
    Action(
        "stall.nudge",
        SES,
        click("stall.nudge", stall_value),
        audited("nudge", in_channel("asks you to carry on")),
        SE_ONLY,
    ),
    Action(
        "stall.nudge.again",
        SES,
        click("stall.nudge.again", lambda w, t: t.id),
        audited("nudge", in_channel("asks you to carry on")),
        SE_ONLY,
    ),
    Action(
        "stall.snooze",
        SES,
        click("stall.snooze", stall_value),
        told("no longer stalled"),  # there is no stall to snooze: past authorization
        SE_ONLY,
    ),
]


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("action", BUTTONS, ids=lambda a: a.name)
async def test_buttons(world: World, action: Action, actor: str) -> None:
    await cell(world, action, actor)


# -- forms ------------------------------------------------------------------------------------


def submit(callback_id: str, stage: str, values: dict[str, dict[str, object]], **x: str) -> Act:
    async def act(w: World, actor: str, tenant: Tenant) -> Reply:
        meta = {"t": tenant.id, "s": stage, "c": tenant.channel, **({"x": x} if x else {})}
        return await w.driver(actor).view_submission(
            callback_id,
            values,  # type: ignore[arg-type]
            user_id=USERS[actor],
            private_metadata=json.dumps(meta, separators=(",", ":")),
        )

    return act


def form_refused_on_merits(refusal: str) -> Check:
    """Past authorization, the form is answered on its merits (this tenant is not at that
    stage): the answer is on the form, and it is not the refusal of who they are."""

    async def check(w: World, actor: str, tenant: Tenant, reply: Reply) -> None:
        body = reply.json() or {}
        assert refusal not in json.dumps(body, ensure_ascii=False), body

    return check


def text(value: str) -> dict[str, object]:
    return {"value": text_input(value)}


FORMS = [
    Action(
        "form.cloud_key",
        CUSTOMERS_AND_SES,
        submit(
            "form.cloud_key",
            "cloud_key",
            {"secret_id": text(CLOUD_KEY.secret_id), "secret_key": text(CLOUD_KEY.secret_key)},
        ),
        audited("cloud_key_given"),
        NOT_YOURS,
        refused_as=(("manager", KEY_MANAGERS),),
    ),
    Action(
        "form.account",
        CUSTOMERS_AND_SES,
        submit("form.account", "account", {"uin": text("100012345678")}),
        audited("confirm_account", next_prompt("real_name")),
        NOT_YOURS,
        refused_as=(("manager", NOT_PERMITTED),),
    ),
    *(
        Action(
            callback,
            CUSTOMERS_AND_STAFF,
            submit(callback, stage, {f: text(v) for f, v in values.items()}),
            form_refused_on_merits(NOT_YOURS),
            NOT_YOURS,
        )
        # What is typed is well formed: a form's own fields are checked before who sent it
        # (they tell nothing of the tenant), so a cell about who may send it sends good ones.
        for callback, stage, values in [
            ("form.instance", "instance", {"call_center_name": "x"}),
            ("form.script", "numbers.script", {"script": "x"}),
            ("form.purchase", "numbers.purchase", {"number": "x"}),
            (
                "form.sip_trunk",
                "numbers.sip_request",
                {
                    "carrier": "China Telecom",
                    "sip_numbers": "02088886666",
                    "signalling": "198.51.100.7:5060",
                    "media_ip_range": "203.0.113.0/24",
                    "contact_name": "Wang",
                    "contact_phone": "+86 138 0013 8000",
                },
            ),
            ("form.checklist", "console", {"checklist_items": "x"}),
        ]
    ),
    *(
        Action(
            callback,
            SES,
            submit(callback, stage, {field_: text("10000")}, **x),
            form_refused_on_merits(NOT_REVIEWER),
            NOT_REVIEWER,
        )
        for callback, stage, field_, x in [
            ("form.reject_document", "review", "reason", {"k": "business_license", "r": "1"}),
            ("form.reject_script", "review", "reason", {"r": "1"}),
            ("form.sip_number_assigned", "sip", "assigned_number", {"ticket": "SIP-1"}),
        ]
    ),
]


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("action", FORMS, ids=lambda a: a.name)
async def test_forms(world: World, action: Action, actor: str) -> None:
    await cell(world, action, actor)


# -- App Home ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "actor",
    [
        *(a for a in ACTORS if a != "guest_se"),
        pytest.param(
            "guest_se",
            marks=pytest.mark.xfail(
                strict=True,
                reason="app_home_opened names no user team: the guest reads as our own user",
            ),
        ),
    ],
)
async def test_app_home(world: World, actor: str) -> None:
    """Everyone may open App Home; what it shows depends on who they are: an SE's id from
    another team is shown a customer's home, never the SE's or the managers'."""
    w = world
    user = USERS[actor]
    before = len([c for c in w.fake.calls("views.publish") if c.args.get("user_id") == user])
    reply = await w.driver(actor).app_home_opened(user)
    assert reply.status == 200, reply.text
    await w.fake.wait_for(
        "views.publish", where=lambda c: c.args.get("user_id") == user, count=before + 1
    )
    shown = texts(w.fake.home_views[user].view.get("blocks"))
    if actor == "se":
        assert "My onboardings" in shown, shown
    elif actor == "manager":
        assert (
            "My onboardings" not in shown and "Tencent Cloud Contact Center onboarding" not in shown
        )
    else:
        assert "Tencent Cloud Contact Center onboarding" in shown, shown  # a customer's home


# -- no probing, no onboarding in a staff channel ---------------------------------------------


@pytest.mark.parametrize("actor", ["other", "outsider", "guest_se"])
async def test_a_tenant_that_exists_and_one_that_does_not_get_the_same_answer(
    world: World, actor: str
) -> None:
    w = world
    tenant = await w.fresh()
    place = w.place(actor, tenant)
    answers = []
    for named in (tenant.id, "nope-000000", "Not An Id!"):
        reply = await w.driver(actor).slash_command(
            f"status {named}", user_id=USERS[actor], channel_id=place
        )
        answers.append(reply_text(reply).replace(named, "?"))
    assert len(set(answers)) == 1 and NOT_YOURS in answers[0], answers
    # A button naming a tenant that does not exist: the same refusal as one that is not theirs.
    ghost = Tenant("nope-000000", tenant.channel)
    for target in (tenant, ghost):
        await cell(
            w,
            Action(
                "step.event",
                frozenset(),
                lambda w_, a, t, target=target: click(
                    "step.event", forged(s="account", e="confirm_account")
                )(w_, a, target),
                _nothing,
                NOT_YOURS,
            ),
            actor,
        )


async def test_no_onboarding_starts_in_the_ops_channel(world: World) -> None:
    w = world
    reply = await w.slack.slash_command("start Initech", user_id=SE, channel_id=OPS_CHANNEL)
    assert "Everyone in this staff channel would act for it" in reply_text(reply)
    assert await w.service.services.store.tenant_for_channel(OPS_CHANNEL) is None


# -- purge: SEs and managers, a question and then the click ----------------------------------

PURGE_REFUSED = "Only solution engineers and managers can purge"


async def purged(w: World, actor: str, tenant: Tenant, reply: Reply) -> None:
    """The tenant is gone, and the purge log (outside the tenant) names who did it."""
    await w.fake.wait_until(
        lambda: any("is purged" in t for t in w.shown_to(USERS[actor], reply)),
        what="the purge report, to the clicker",
    )
    store = w.service.services.store
    assert await store.get(tenant.id) is None
    lines = [p for p in await store.purges() if p["tenant_id"] == tenant.id]
    assert [p["actor"] for p in lines] == [USERS[actor]]


PURGE = [
    Action(
        "/onboard purge",
        STAFF,
        command("purge {tenant}"),
        said("deletes for good"),
        PURGE_REFUSED,
    ),
    Action(
        "purge (button)",
        STAFF,
        click("purge.confirm", lambda w, tenant: tenant.id, ephemeral=True),
        purged,
        PURGE_REFUSED,
    ),
]


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("action", PURGE, ids=lambda a: a.name)
async def test_purge(world: World, action: Action, actor: str) -> None:
    await cell(world, action, actor)
