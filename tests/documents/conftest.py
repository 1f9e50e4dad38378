"""Fixtures for the document tests: the fake Slack, a client for it, and a small file server
for what the fake does not do (chunked bodies without a length, redirects, encodings)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import web
from slack_sdk.web.async_client import AsyncWebClient

from tests.documents import samples
from tests.fakeslack.server import FakeSlack

CUSTOMER = "U0CUSTOMER1"
PARTNER = "U0PARTNER01"  # a Slack Connect user from another organisation
PARTNER_TEAM = "T0PARTNER01"
CHANNEL = "C0PROJECT01"


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        fake.add_user(CUSTOMER, "li.wei", real_name="Li Wei", locale="zh-CN")
        fake.add_user(PARTNER, "sam", real_name="Sam Partner", team_id=PARTNER_TEAM)
        fake.add_channel(CHANNEL, "proj-acme-ccc", members=[fake.bot_user_id, CUSTOMER, PARTNER])
        yield fake


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def slack(fake: FakeSlack, session: aiohttp.ClientSession) -> AsyncWebClient:
    return AsyncWebClient(base_url=fake.api_url, token=fake.bot_token, session=session)


@dataclass
class Seen:
    path: str
    host: str
    authorization: str | None


@dataclass
class FileServer:
    """Serves odd answers on 127.0.0.1 and records every request it gets."""

    port: int = 0
    seen: list[Seen] = field(default_factory=list)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


@pytest.fixture
async def files() -> AsyncIterator[FileServer]:
    server = FileServer()

    @web.middleware
    async def record(
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        server.seen.append(Seen(request.path, request.host, request.headers.get("Authorization")))
        return await handler(request)

    async def chunked(request: web.Request) -> web.StreamResponse:
        # No Content-Length: only the reader's own count can stop it.
        response = web.StreamResponse(headers={"Content-Type": "application/pdf"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write(samples.pdf())
        for _ in range(int(request.match_info["kib"])):
            await response.write(b"%" * 1024)
        await response.write_eof()
        return response

    async def plain(request: web.Request) -> web.Response:
        return web.Response(body=samples.pdf(), content_type="application/pdf")

    async def gzipped(request: web.Request) -> web.Response:
        return web.Response(
            body=samples.gzipped_pdf(),
            headers={"Content-Type": "application/pdf", "Content-Encoding": "gzip"},
        )

    async def redirect(request: web.Request) -> web.Response:
        target = request.query["to"]
        raise web.HTTPFound(target)

    async def sign_in(request: web.Request) -> web.Response:
        # HTML by its content type only: the body does not start like a page.
        body = "<!-- Slack --><head><title>Sign in</title></head><body>Sign in</body>"
        return web.Response(text=body, content_type="text/html")

    async def loop(request: web.Request) -> web.Response:
        raise web.HTTPFound("/loop")

    async def missing(request: web.Request) -> web.Response:
        return web.Response(status=404, text="Not Found")

    app = web.Application(middlewares=[record])
    app.router.add_get("/chunked/{kib}", chunked)
    app.router.add_get("/file.pdf", plain)
    app.router.add_get("/gzip.pdf", gzipped)
    app.router.add_get("/redirect", redirect)
    app.router.add_get("/loop", loop)
    app.router.add_get("/signin.pdf", sign_in)
    app.router.add_get("/missing.pdf", missing)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server.port = int(runner.addresses[0][1])
    try:
        yield server
    finally:
        await runner.cleanup()
