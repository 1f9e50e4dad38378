"""Starting and stopping the HTTP service: one place, used by `python -m bot serve` and tests."""

from __future__ import annotations

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
        log.info("serving Slack requests on %s:%s/slack/events", settings.host, port)
        return cls(services=services, bolt=bolt, runner=runner, port=port)

    async def stop(self) -> None:
        await self.runner.cleanup()
        await self.services.aclose()
        log.info("stopped")
