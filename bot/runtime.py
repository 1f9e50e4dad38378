"""Starting and stopping the HTTP service: one place, used by `python -m bot serve` and tests."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from aiohttp import web
from slack_bolt.async_app import AsyncApp

from bot.app import create_app
from bot.config import Settings
from bot.handlers.inbox import replay_lapsed
from bot.runner import SWEEP_INTERVAL_SECONDS
from bot.server import build_web_app
from bot.services import Services

log = logging.getLogger(__name__)


@dataclass
class Sweeper:
    """The periodic work: the outbox sweep (effects left over by a crash or a failed call get
    done), the inbox replay (events a process acked and died before finishing), the stalled
    sweep (reminders, escalations, the weekly digest) and the cloud check (progress confirmed
    against the TCCC cloud API, for tenants that gave a key)."""

    tasks: tuple[asyncio.Task[None], ...]
    stopping: asyncio.Event

    @classmethod
    def start(
        cls, services: Services, bolt: AsyncApp, interval: float = SWEEP_INTERVAL_SECONDS
    ) -> Sweeper:
        stopping = asyncio.Event()
        replay = asyncio.create_task(_replay_until(services, bolt, stopping), name="inbox-replay")
        outbox = asyncio.create_task(
            services.runner.run_until(stopping, interval), name="outbox-sweep"
        )
        stalls = asyncio.create_task(
            services.sweeper.run_until(
                stopping, after=services.after_sweep, on_error=services.runner.failure
            ),
            name="stall-sweep",
        )
        cloud = asyncio.create_task(services.cloud_sweep.run_until(stopping), name="cloud-check")
        return cls((outbox, replay, stalls, cloud), stopping)

    async def stop(self) -> None:
        self.stopping.set()
        for task in self.tasks:
            try:
                await asyncio.wait_for(task, timeout=10)
            except TimeoutError:
                log.warning("%s did not stop in time; cancelling it", task.get_name())
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task


async def _replay_until(services: Services, bolt: AsyncApp, stopping: asyncio.Event) -> None:
    """Look for lapsed events twice per lease: a dead taker's events run again within about
    a lease and a half of its death, whether or not Slack delivers them again."""
    every = services.inbox.lease.total_seconds() / 2
    while not stopping.is_set():
        try:
            await replay_lapsed(services, bolt)
        except Exception as exc:  # the loop must outlive a Redis outage
            services.runner.failure("replaying lapsed events failed", exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), timeout=every)


@dataclass
class HttpService:
    services: Services
    bolt: AsyncApp
    runner: web.AppRunner
    port: int
    sweeper: Sweeper

    @classmethod
    async def start(
        cls,
        settings: Settings,
        services: Services | None = None,
        *,
        sweep_interval: float = SWEEP_INTERVAL_SECONDS,
    ) -> HttpService:
        services = services or await Services.start(settings)
        try:
            bolt = create_app(services)
            runner = web.AppRunner(build_web_app(services, bolt), access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, host=settings.host, port=settings.port)
            await site.start()
        except BaseException:
            await services.aclose()
            raise
        # The bound port, which differs from PORT when PORT=0 asked for any free one.
        port = int(runner.addresses[0][1])
        log.info("serving Slack requests on %s:%s/slack/events", settings.host, port)
        return cls(services, bolt, runner, port, Sweeper.start(services, bolt, sweep_interval))

    async def stop(self) -> None:
        await self.sweeper.stop()
        await self.runner.cleanup()
        await self.services.aclose()
        log.info("stopped")
