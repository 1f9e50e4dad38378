"""Step clicks through `python -m bot serve`, against the fake Slack, on the private Redis.

Preparation (untimed): `tenants` onboardings are started and moved to the real-name step with
the application's own code (`Services`: `Onboardings.start`, `act(ConfirmAccount)`, the
runner's `drain`, which posts the welcome, the checklist and the prompts to the fake Slack), each
in a channel of its own with one customer in it. Each click is then the customer pressing
"Verification is done" on their own tenant's current real-name prompt: a click that changes
state (real name -> instance), whose effects post the next prompt and update the checklist.
The request is built from the prompt as the fake Slack holds it and signed at send time.

Figures (each from `bench.load` in a process of its own):

- open loop at `rate` requests/s: p50/p99 of the HTTP answer (the ack), measured from each
  request's scheduled send time;
- closed loop with `concurrency` clients: answered requests per second (saturation);
- round trips and commands per click and per carried-out effect: clicks one at a time through
  a counting proxy (`bench.proxy`), see `measure_round_trips`.

The baseline, a bare Bolt app that only acks (`bench.bare_bolt`), gets the same signed requests
at the same rate and concurrency.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from redis.asyncio import Redis

from bench.procs import bare_bolt_argv, bot_env, run_load, serve_argv, served
from bench.proxy import CountingProxy, Tally
from bench.timing import stats
from bot.config import Settings
from bot.flows.engine import ConfirmAccount
from bot.flows.model import Actor, ActorRole, Step
from bot.i18n import Lang
from bot.services import Services
from bot.stalls.sweep import RECONCILE_EVERY
from bot.state.keys import Keys
from tests.e2e.journey import buttons
from tests.e2e.processes import free_port, process_env
from tests.fakeslack.driver import SlackDriver
from tests.fakeslack.server import FakeSlack, Message, SlackError

SECRET = "bench-signing-secret-5b1e"
CUSTOMER = "U0BCUSTOM01"
SE = "U0BSOLENG01"
OPS_CHANNEL = "C0BENCHOPS"
FORM = "application/x-www-form-urlencoded"


class BenchSlack(FakeSlack):
    """The fake Slack with its messages indexed by channel and ts: the fake looks a message up
    by scanning every message, which with thousands of tenants would make the fake, not the
    app, the slow part of the load. Same answers, same checks."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._index: dict[tuple[str, str], list[Message]] = {}
        self._indexed = 0

    def _lookup(self, channel: str, ts: object) -> list[Message]:
        while self._indexed < len(self._messages):
            m = self._messages[self._indexed]
            self._index.setdefault((m.channel, m.ts), []).append(m)
            self._indexed += 1
        return self._index.get((channel, str(ts)), [])

    def message(self, channel: str, ts: str) -> Message:
        found = self._lookup(channel, ts)
        if not found:
            raise AssertionError(f"no message {ts} in {channel}")
        return found[0]

    def _find_message(self, channel: Any, ts: Any, *, allow_ephemeral: bool = False) -> Message:
        for m in self._lookup(channel.id, ts):
            if not m.deleted:
                if m.ephemeral and not allow_ephemeral:
                    break
                return m
        raise SlackError("message_not_found")


@dataclass(frozen=True)
class Click:
    tenant_id: str
    channel_id: str
    body: str  # the form-encoded block_actions payload, unsigned


async def prepare(
    fake: FakeSlack, redis_url: str, keys: Keys, tenants: int, *, parallel: int = 16
) -> list[Click]:
    """`tenants` onboardings at the real-name step, and the click on each one's prompt."""
    fake.add_user(CUSTOMER, "bench.customer", locale="en-US")
    fake.add_user(SE, "bench.se", locale="en-US")
    fake.add_channel(OPS_CHANNEL, "bench-ops", members=[fake.bot_user_id, SE])
    settings = Settings(
        slack_bot_token=fake.bot_token,
        slack_signing_secret=SECRET,
        slack_api_url=fake.api_url,
        redis_url=redis_url,
        redis_key_prefix=keys.prefix,
        onboarding_ops_channel=OPS_CHANNEL,
        onboarding_se_users=SE,
        digest_at="off",
        log_level="WARNING",
    )
    services = await Services.start(settings, keys=keys)
    se = Actor(user_id=SE, role=ActorRole.SE)
    customer = Actor(user_id=CUSTOMER, role=ActorRole.CUSTOMER)
    driver = SlackDriver(
        "http://127.0.0.1:1", SECRET, team_id=fake.team_id, api_app_id=fake.api_app_id,
        bot_user_id=fake.bot_user_id, hooks_url=fake.hooks_url,
    )  # fmt: skip
    clicks: list[Click] = []

    async def one(n: int) -> Click:
        channel = f"C0BCLK{n:06d}"
        fake.add_channel(channel, f"bench-{n}", members=[fake.bot_user_id, CUSTOMER, SE])
        record = await services.onboardings.start(
            company=f"Bench Click {n}", channel_id=channel, team_id=fake.team_id, actor=se,
            lang=Lang.EN,
        )  # fmt: skip
        confirm = ConfirmAccount(uin="100012345678")
        await services.onboardings.act(record.tenant_id, confirm, customer)
        await services.runner.drain(record.tenant_id)
        record = await services.onboardings.get(record.tenant_id)
        if record.step is not Step.REAL_NAME or record.slack.prompt_ts is None:
            raise RuntimeError(f"{record.tenant_id} is not at its real-name prompt")
        prompt = fake.message(channel, record.slack.prompt_ts)
        button = next(b for b in buttons(prompt) if "confirm_real_name" in str(b.get("value")))
        body = driver.build_block_action(
            button["action_id"], button.get("value"), user_id=CUSTOMER, channel_id=channel,
            message_ts=prompt.ts, block_id=button.get("block_id"),
            message=fake.message_json(prompt),
        )  # fmt: skip
        raw = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        return Click(record.tenant_id, channel, urlencode({"payload": raw}))

    try:
        for start in range(0, tenants, parallel):
            batch = range(start, min(tenants, start + parallel))
            clicks += await asyncio.gather(*(one(n) for n in batch))
        # As if another replica had just run the reconciler: the app's first sweep does not
        # rescan every tenant while the clicks are measured (its cost is a figure of its own).
        await services.store.reconcile_due(datetime.now(UTC), RECONCILE_EVERY)
    finally:
        await services.aclose()
    return clicks


@dataclass(frozen=True)
class Load:
    """One run of the load generator against one server."""

    requests: int
    elapsed_s: float
    latencies_ms: tuple[float, ...]
    statuses: dict[str, int]
    started_at: float = 0.0  # wall clock of the first send
    settled_s: float | None = None  # first send to every effect carried out (ours only)
    unsettled: int = 0  # tenants whose effects were not all carried out when we gave up

    @property
    def ok(self) -> int:
        return self.statuses.get("200", 0)

    @property
    def failed(self) -> int:
        return self.requests - self.ok

    @property
    def throughput_rps(self) -> float:
        return self.ok / self.elapsed_s if self.elapsed_s else 0.0

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else float("nan")

    @property
    def p99_ms(self) -> float:
        return stats(list(self.latencies_ms))[1] if self.latencies_ms else float("nan")

    @classmethod
    def of(cls, requests: int, result: dict[str, Any]) -> Load:
        return cls(
            requests=requests,
            elapsed_s=float(result["elapsed_s"]),
            latencies_ms=tuple(float(v) for v in result["latencies_ms"]),
            statuses={str(k): int(v) for k, v in result["statuses"].items()},
            started_at=float(result["started_at"]),
        )

    @property
    def full_work_rps(self) -> float:
        """Clicks answered and their effects carried out, per second."""
        return self.ok / self.settled_s if self.settled_s else float("nan")


async def load(url: str, clicks: Sequence[Click], **mode: float) -> Load:
    job: dict[str, object] = {
        "url": url + "/slack/events",
        "secret": SECRET,
        "bodies": [c.body for c in clicks],
        **mode,
    }
    return Load.of(len(clicks), await run_load(job))


@dataclass(frozen=True)
class PerClick:
    """Round trips and commands the app sent to Redis, per click and per carried-out effect."""

    clicks: int
    effects: int  # effects the clicks wrote to their outboxes (and the app carried out)
    click: Tally  # from each request's send to its answer, summed
    effect: Tally  # from each answer until the tenant's outbox was empty again, summed
    idle_per_s: float  # round trips per second with no clicks (the app's periodic sweeps)
    idle_s: float  # the time the windows above lasted, summed
    names_click: dict[str, int] = field(default_factory=dict)

    @property
    def round_trips_per_click(self) -> float:
        return max(0.0, self.click.round_trips - self.idle_per_s * self.idle_s) / self.clicks

    @property
    def round_trips_per_effect(self) -> float:
        return self.effect.round_trips / self.effects if self.effects else float("nan")


async def _entries_added(redis: Redis, key: str) -> int:
    try:
        info = await redis.xinfo_stream(key)
    except Exception:  # no stream yet
        return 0
    return int(info.get("entries-added", 0))


async def measure_round_trips(
    fake: FakeSlack, redis_url: str, keys: Keys, clicks: Sequence[Click], *, idle_s: float = 2.0
) -> PerClick:
    """Clicks one at a time, through a counting proxy in front of the private Redis.

    For each click: the proxy's counts from its send to its answer are the click's (the
    request's path up to the ack, which waits for the commit); from the answer until the
    tenant is out of the outbox's pending set (polled on a connection that bypasses the proxy)
    are its effects', divided by the effects the click wrote (`entries-added` of the tenant's
    outbox stream). The app's periodic sweeps also talk to Redis meanwhile: their rate is
    measured in an idle window first and reported; the click figure has it subtracted.
    """
    target = urlsplit(redis_url)
    proxy = CountingProxy(target.hostname or "127.0.0.1", target.port or 6379)
    await proxy.start()
    direct = Redis.from_url(redis_url)
    port = free_port()
    env = bot_env(
        api_url=fake.api_url, token=fake.bot_token, secret=SECRET, prefix=keys.prefix, port=port,
        redis_url=f"redis://127.0.0.1:{proxy.port}/0", ONBOARDING_SE_USERS=SE,
    )  # fmt: skip
    try:
        async with served(serve_argv(), env, port) as app:
            import aiohttp

            async with aiohttp.ClientSession() as http:
                slack = SlackDriver(app.url, SECRET, session=http)
                warm, counted = clicks[:3], clicks[3:]
                for c in warm:  # connections made, code paths hot
                    await _one_click(slack, direct, keys, c)
                before = proxy.tally()
                await asyncio.sleep(idle_s)  # nothing sent: what the app does by itself
                idle = proxy.tally() - before
                click_sum, effect_sum = Tally(0, 0), Tally(0, 0)
                effects = 0
                waited = 0.0
                for c in counted:
                    t0 = proxy.tally()
                    start = time.perf_counter()
                    added = await _entries_added(direct, keys.outbox(c.tenant_id))
                    reply = await slack.send_raw(c.body.encode(), FORM)
                    t1 = proxy.tally()
                    waited += time.perf_counter() - start
                    if reply.status != 200:
                        raise RuntimeError(f"click answered {reply.status}: {reply.text[:200]}")
                    await _tenant_settled(direct, keys, c.tenant_id)
                    t2 = proxy.tally()
                    effects += await _entries_added(direct, keys.outbox(c.tenant_id)) - added
                    click_sum = _add(click_sum, t1 - t0)
                    effect_sum = _add(effect_sum, t2 - t1)
        return PerClick(
            clicks=len(counted),
            effects=effects,
            click=click_sum,
            effect=effect_sum,
            idle_per_s=idle.round_trips / idle_s,
            idle_s=waited,
            names_click=click_sum.by_name,
        )
    finally:
        await direct.aclose()
        await proxy.stop()


def _add(a: Tally, b: Tally) -> Tally:
    names = Counter(a.by_name)
    names.update(b.by_name)
    return Tally(a.round_trips + b.round_trips, a.commands + b.commands, dict(names.most_common()))


async def _one_click(slack: SlackDriver, direct: Redis, keys: Keys, click: Click) -> None:
    reply = await slack.send_raw(click.body.encode(), FORM)
    if reply.status != 200:
        raise RuntimeError(f"click answered {reply.status}: {reply.text[:200]}")
    await _tenant_settled(direct, keys, click.tenant_id)


async def _tenant_settled(direct: Redis, keys: Keys, tenant_id: str, limit_s: float = 10) -> None:
    """Until the tenant's effects are all carried out (it leaves the outbox's pending set)."""
    deadline = time.monotonic() + limit_s
    while await direct.sismember(keys.outbox_pending(), tenant_id):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the effects of {tenant_id} were not carried out in {limit_s} s")
        await asyncio.sleep(0.002)  # polling Redis from outside the app


async def settled(load: Load, redis_url: str, keys: Keys, limit_s: float = 120) -> Load:
    """`load` with the time from its first send until no outbox holds an effect any more."""
    redis = Redis.from_url(redis_url)
    deadline = time.monotonic() + limit_s
    try:
        while pending := await redis.scard(keys.outbox_pending()):
            if time.monotonic() > deadline:
                # Not settled: the figure stays unknown rather than wrong, and says why.
                return replace(load, unsettled=int(pending))
            await asyncio.sleep(0.005)  # polling Redis from outside the app
    finally:
        await redis.aclose()
    return replace(load, settled_s=max(load.elapsed_s, time.time() - load.started_at))


async def steps_now(redis_url: str, keys: Keys, clicks: Sequence[Click]) -> Counter[str]:
    """Where the clicked tenants are now (each click should have moved its own on)."""
    redis = Redis.from_url(redis_url)
    try:
        found: Counter[str] = Counter()
        for start in range(0, len(clicks), 500):
            part = clicks[start : start + 500]
            for step in Step:
                members = await redis.smismember(
                    keys.step_index(step.value), [c.tenant_id for c in part]
                )
                found[step.value] += sum(1 for m in members if m)
        return found
    finally:
        await redis.aclose()


@dataclass(frozen=True)
class ClickFigures:
    rate: float
    concurrency: int
    ours_open: Load
    ours_closed: Load
    bare_open: Load
    bare_closed: Load
    moved: int  # clicked tenants now past the real-name step
    clicked: int
    per_click: PerClick
    prepared_s: float

    @property
    def throughput_ratio(self) -> float:
        """Full work of ours per second over bare Bolt's acks; NaN when either is unknown."""
        bare = self.bare_closed.throughput_rps
        return self.ours_closed.full_work_rps / bare if bare else float("nan")

    def json(self) -> dict[str, object]:
        return {
            "click_rate_rps": self.rate,
            "click_ack_p50_ms": self.ours_open.p50_ms,
            "click_ack_p99_ms": self.ours_open.p99_ms,
            "click_open_loop_requests": self.ours_open.requests,
            "click_open_loop_failed": self.ours_open.failed,
            "click_concurrency": self.concurrency,
            "click_throughput_rps": self.ours_closed.full_work_rps,
            "click_ack_throughput_rps": self.ours_closed.throughput_rps,
            "click_open_loop_settled_s": self.ours_open.settled_s,
            "click_unsettled_tenants": self.ours_open.unsettled + self.ours_closed.unsettled,
            "click_closed_loop_p50_ms": self.ours_closed.p50_ms,
            "click_closed_loop_failed": self.ours_closed.failed,
            "clicks_moved_on": self.moved,
            "clicks_sent": self.clicked,
            "bare_bolt_ack_p50_ms": self.bare_open.p50_ms,
            "bare_bolt_ack_p99_ms": self.bare_open.p99_ms,
            "bare_bolt_throughput_rps": self.bare_closed.throughput_rps,
            "bare_bolt_failed": self.bare_open.failed + self.bare_closed.failed,
            "throughput_ratio": self.throughput_ratio,
            "ack_throughput_ratio": self.ours_closed.throughput_rps
            / self.bare_closed.throughput_rps
            if self.bare_closed.throughput_rps
            else float("nan"),
            "process_before_response": True,
            "redis_roundtrips_per_click": self.per_click.round_trips_per_click,
            "redis_roundtrips_per_effect": self.per_click.round_trips_per_effect,
            "redis_commands_per_click": self.per_click.click.commands / self.per_click.clicks,
            "redis_commands_per_effect": self.per_click.effect.commands / self.per_click.effects
            if self.per_click.effects
            else float("nan"),
            "effects_per_click": self.per_click.effects / self.per_click.clicks,
            "redis_idle_roundtrips_per_s": self.per_click.idle_per_s,
        }

    def lines(self) -> list[str]:
        o, c, bo, bc, p = (
            self.ours_open, self.ours_closed, self.bare_open, self.bare_closed, self.per_click,
        )  # fmt: skip
        return [
            f"clicks: {self.clicked:,} step clicks on as many tenants (prepared in "
            f"{self.prepared_s:.1f} s); {self.moved:,} moved on",
            f"{f'click ack at {self.rate:.0f}/s':<28} p50 {o.p50_ms:8.2f} ms  "
            f"p99 {o.p99_ms:8.2f} ms  ({o.requests:,} sent, {o.failed} not 200)  |  "
            f"bare Bolt p50 {bo.p50_ms:8.2f} ms  "
            f"p99 {bo.p99_ms:8.2f} ms",
            f"{f'click saturation ({self.concurrency} clients)':<28} {_full_work(c)} "
            f"({c.throughput_rps:.0f} /s acks; p50 {c.p50_ms:.1f} ms, "
            f"{c.failed} not 200)  |  bare Bolt {bc.throughput_rps:8.0f} /s acks  |  ratio "
            f"{self.throughput_ratio:.2f}",
            f"{'redis per click':<28} {p.round_trips_per_click:.2f} round trips, "
            f"{p.click.commands / p.clicks:.1f} commands ({_top(p.click.by_name, p.clicks)}); "
            f"idle {p.idle_per_s:.1f} round trips/s subtracted",
            f"{'redis per effect':<28} {p.round_trips_per_effect:.2f} round trips, "
            f"{p.effect.commands / max(1, p.effects):.1f} commands "
            f"({p.effects / p.clicks:.1f} effects a click; {_top(p.effect.by_name, p.effects)})",
        ]


def _full_work(load: Load) -> str:
    if load.settled_s is None:
        return f"effects of {load.unsettled:,} tenants still not carried out when we gave up"
    return f"{load.full_work_rps:8.0f} /s with effects done"


def _top(names: dict[str, int], per: int, n: int = 6) -> str:
    return ", ".join(f"{k} {v / max(1, per):.1f}" for k, v in list(names.items())[:n])


async def run_click_bench(
    redis_url: str, *, rate: float, seconds: float, saturation: int, concurrency: int,
    counted: int,
) -> ClickFigures:  # fmt: skip
    keys = Keys(prefix=f"bclk-{uuid.uuid4().hex[:6]}")
    open_n = int(rate * seconds)
    warm = 20
    total = warm + open_n + saturation + counted + 3
    async with BenchSlack() as fake:
        started = time.perf_counter()
        clicks = await prepare(fake, redis_url, keys, total)
        prepared = time.perf_counter() - started
        warmup = clicks[:warm]
        opened = clicks[warm : warm + open_n]
        closed = clicks[warm + open_n : warm + open_n + saturation]
        rest = clicks[warm + open_n + saturation :]

        port = free_port()
        env = bot_env(
            api_url=fake.api_url, token=fake.bot_token, secret=SECRET, redis_url=redis_url,
            prefix=keys.prefix, port=port, ONBOARDING_SE_USERS=SE,
        )  # fmt: skip
        async with served(serve_argv(), env, port) as app:
            await settled(await load(app.url, warmup, concurrency=4), redis_url, keys)
            ours_open = await settled(await load(app.url, opened, rate=rate), redis_url, keys)
            ours_closed = await settled(
                await load(app.url, closed, concurrency=concurrency), redis_url, keys
            )
        moved = await steps_now(redis_url, keys, [*warmup, *opened, *closed])

        bare_port = free_port()
        bare_env = process_env(
            SLACK_BOT_TOKEN=fake.bot_token, SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=fake.api_url, PORT=str(bare_port),
        )  # fmt: skip
        async with served(bare_bolt_argv(), bare_env, bare_port, any_answer=True) as bare:
            await load(bare.url, warmup, concurrency=4)
            bare_open = await load(bare.url, opened, rate=rate)
            bare_closed = await load(bare.url, closed, concurrency=concurrency)

        per_click = await measure_round_trips(fake, redis_url, keys, rest)
    sent = len(warmup) + len(opened) + len(closed)
    return ClickFigures(
        rate=rate,
        concurrency=concurrency,
        ours_open=ours_open,
        ours_closed=ours_closed,
        bare_open=bare_open,
        bare_closed=bare_closed,
        moved=sent - moved.get(Step.REAL_NAME.value, 0),
        clicked=sent,
        per_click=per_click,
        prepared_s=prepared,
    )
