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
from bot.server import build_web_app
from bot.services import Services

log = logging.getLogger(__name__)


@dataclass
class HttpService:
    services: Services
    bolt: AsyncApp
    runner: web.AppRunner
    port: int
    sweeper: asyncio.Task[None]
    stopping: asyncio.Event

    @classmethod
    async def start(cls, settings: Settings, services: Services | None = None) -> HttpService:
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
        # Effects left over by a crash or a failed call are carried out by the periodic sweep.
        stopping = asyncio.Event()
        sweeper = asyncio.create_task(services.runner.run_until(stopping), name="outbox-sweep")
        log.info("serving Slack requests on %s:%s/slack/events", settings.host, port)
        return cls(
            services=services,
            bolt=bolt,
            runner=runner,
            port=port,
            sweeper=sweeper,
            stopping=stopping,
        )

    async def stop(self) -> None:
        self.stopping.set()
        try:
            await asyncio.wait_for(self.sweeper, timeout=10)
        except TimeoutError:
            log.warning("the outbox sweep did not stop in time; cancelling it")
            self.sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.sweeper
        await self.runner.cleanup()
        await self.services.aclose()
        log.info("stopped")
