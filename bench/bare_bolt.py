"""The baseline of the click figures: a bare Bolt `AsyncApp` whose one `app.action(...)`
listener only acks, served by Bolt's own aiohttp server (`AsyncApp.web_app`) on `PORT`.

It verifies the same signatures with the same secret (SLACK_SIGNING_SECRET) and runs with the
same `process_before_response=True` as `python -m bot serve`; it is given the fake Slack's
token and URL (SLACK_BOT_TOKEN, SLACK_API_URL) because Bolt asks `auth.test` once, as ours does.
`python -m bench.bare_bolt`; stops on SIGTERM.
"""

from __future__ import annotations

import asyncio
import os
import signal

from aiohttp import web
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.ids import ActionId, action_pattern


def create_bare_app() -> AsyncApp:
    client = AsyncWebClient(
        token=os.environ["SLACK_BOT_TOKEN"],
        base_url=os.environ.get("SLACK_API_URL", "https://slack.com/api/"),
    )
    app = AsyncApp(
        client=client,
        signing_secret=os.environ["SLACK_SIGNING_SECRET"],
        process_before_response=True,
    )

    @app.action(action_pattern(ActionId.STEP_EVENT))
    async def only_ack(ack: AsyncAck) -> None:
        await ack()

    return app


async def serve() -> None:
    runner = web.AppRunner(create_bare_app().web_app(path="/slack/events"), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host="127.0.0.1", port=int(os.environ["PORT"]))
    await site.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(serve())
