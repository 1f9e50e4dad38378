"""`python -m bot serve | socket | shell`."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys

from bot.config import ConfigError, Mode, Settings, load_settings
from bot.i18n import ContentError
from bot.logs import setup_logging


def _secrets(settings: Settings) -> list[str]:
    values = [
        settings.slack_bot_token,
        settings.slack_signing_secret,
        settings.slack_app_token,
        settings.redis_url,
    ]
    from bot.tickets import ticket_secrets

    return [v.get_secret_value() for v in values if v is not None] + list(ticket_secrets(settings))


async def _until_signalled() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def _serve(settings: Settings) -> None:
    from bot.runtime import HttpService

    service = await HttpService.start(settings)
    try:
        await _until_signalled()
    finally:
        await service.stop()


class StartupFailed(Exception):
    """The service could not start; the message says why in one line."""


async def _socket(settings: Settings) -> None:
    from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
    from slack_sdk.errors import SlackApiError

    from bot.app import create_app
    from bot.runtime import Sweeper
    from bot.services import Services

    services = await Services.start(settings)
    app = create_app(services)
    sweeper = Sweeper.start(services, app)
    try:
        assert settings.slack_app_token is not None  # checked by require_for(Mode.SOCKET)
        handler = AsyncSocketModeHandler(app, settings.slack_app_token.get_secret_value())
        try:
            await handler.connect_async()  # type: ignore[no-untyped-call]
        except SlackApiError as exc:
            raise StartupFailed(
                f"Slack refused the Socket Mode connection: {exc.response.get('error')}"
            ) from None
        except OSError as exc:
            raise StartupFailed(f"could not reach Slack for Socket Mode: {exc}") from None
        try:
            await _until_signalled()
        finally:
            await handler.close_async()  # type: ignore[no-untyped-call]
    finally:
        await sweeper.stop()
        await services.aclose()


async def _shell(settings: Settings) -> None:
    from bot.shell import run_shell

    await run_shell(settings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    parser.add_argument("mode", choices=[m.value for m in Mode], help="how to run the bot")
    args = parser.parse_args(argv)
    mode = Mode(args.mode)
    try:
        settings = load_settings(mode)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    level, fmt = settings.log_level, settings.log_format
    if mode is Mode.SHELL:
        # The terminal is the conversation: only problems are logged there, unless asked.
        level = level if "LOG_LEVEL" in os.environ else "WARNING"
        fmt = "text" if fmt == "auto" else fmt
    setup_logging(level, fmt, secrets=_secrets(settings))
    runner = {Mode.SERVE: _serve, Mode.SOCKET: _socket, Mode.SHELL: _shell}[mode]
    try:
        asyncio.run(runner(settings))
    except ContentError as exc:
        print(f"content error: {exc}", file=sys.stderr)
        return 2
    except StartupFailed as exc:
        print(f"start-up failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
