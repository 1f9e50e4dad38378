"""Local stand-ins for Jira Cloud and for a webhook receiver: aiohttp servers on 127.0.0.1.

Both record every request and can be told to fail. The webhook receiver checks signatures with
its own HMAC code (not the bot's `verify`), so a mistake in the bot's scheme cannot hide behind a
matching mistake in the check.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import socket
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any, Self

from aiohttp import web


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class _Fault:
    status: int | None  # None: never answer (the client must time out)
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class _Server:
    """Start/stop on an ephemeral loopback port; fault queue shared by every route."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._faults: deque[_Fault] = deque()
        self._always: _Fault | None = None
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._stopping = asyncio.Event()

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    async def start(self) -> None:
        app = web.Application(middlewares=[self._middleware])
        self.routes(app)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        self._stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        assert self._port is not None, "not started"
        return f"http://127.0.0.1:{self._port}"

    def fail_next(
        self,
        status: int = 503,
        *,
        times: int = 1,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self._faults.extend(_Fault(status, body, headers or {}) for _ in range(times))

    def hang_next(self, *, times: int = 1) -> None:
        """The next requests get no answer at all (until the server stops)."""
        self._faults.extend(_Fault(None) for _ in range(times))

    def go_down(self, status: int = 503, *, body: Any = None) -> None:
        """Every request fails until `come_back()`."""
        self._always = _Fault(status, body)

    def come_back(self) -> None:
        self._always = None
        self._faults.clear()

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Any]
    ) -> web.StreamResponse:
        body = await request.read()
        self.requests.append(
            Recorded(
                request.method,
                request.path,
                dict(request.query),
                dict(request.headers),
                body,
            )
        )
        fault = self._always or (self._faults.popleft() if self._faults else None)
        if fault is not None:
            if fault.status is None:
                await self._stopping.wait()
                return web.Response(status=503)
            return web.json_response(
                fault.body or {"errorMessages": ["down"]},
                status=fault.status,
                headers=fault.headers,
            )
        response: web.StreamResponse = await handler(request)
        return response


# -- Jira ---------------------------------------------------------------------------------------


@dataclass
class FakeIssue:
    id: str
    key: str
    project: str
    issue_type: str
    summary: str
    description: str
    labels: list[str]
    comments: list[str] = field(default_factory=list)


_JQL_PROJECT = re.compile(r'project\s*=\s*"([^"]+)"')
_JQL_LABEL = re.compile(r'labels\s*=\s*"([^"]+)"')


class FakeJira(_Server):
    """Enhanced search, create issue, get and add comments; Basic auth checked on each call."""

    def __init__(self, email: str, token: str, project: str = "SIP") -> None:
        super().__init__()
        self.project = project
        self.issues: dict[str, FakeIssue] = {}
        self._auth = "Basic " + base64.b64encode(f"{email}:{token}".encode()).decode()
        self._next = 10_000

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/rest/api/3/search/jql", self._search)
        app.router.add_post("/rest/api/2/issue", self._create)
        app.router.add_get("/rest/api/2/issue/{key}/comment", self._comments)
        app.router.add_post("/rest/api/2/issue/{key}/comment", self._comment)

    def calls(self, method: str, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path == path]

    @property
    def creates(self) -> list[Recorded]:
        return self.calls("POST", "/rest/api/2/issue")

    @property
    def searches(self) -> list[Recorded]:
        return self.calls("POST", "/rest/api/3/search/jql")

    def add_issue(self, *, labels: list[str], summary: str = "made earlier") -> FakeIssue:
        """An issue that exists before the test (e.g. created by an attempt that then crashed)."""
        self._next += 1
        issue = FakeIssue(
            str(self._next), f"{self.project}-{self._next - 10_000}", self.project, "Task",
            summary, "", list(labels),
        )  # fmt: skip
        self.issues[issue.key] = issue
        return issue

    def _authorized(self, request: web.Request) -> bool:
        return hmac.compare_digest(request.headers.get("Authorization", ""), self._auth)

    def _unauthorized(self) -> web.Response:
        return web.json_response({"errorMessages": ["Client must be authenticated"]}, status=401)

    async def _search(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self._unauthorized()
        jql = str((await request.json()).get("jql", ""))
        project, label = _JQL_PROJECT.search(jql), _JQL_LABEL.search(jql)
        found = [
            i
            for i in self.issues.values()
            if (project is None or i.project == project.group(1))
            and (label is None or label.group(1) in i.labels)
        ]
        return web.json_response(
            {
                "issues": [
                    {
                        "id": i.id,
                        "key": i.key,
                        "self": f"{self.url}/rest/api/3/issue/{i.id}",
                        "fields": {"summary": i.summary, "labels": i.labels},
                    }
                    for i in found
                ]
            }
        )

    async def _create(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self._unauthorized()
        fields = (await request.json()).get("fields", {})
        errors: dict[str, str] = {}
        if fields.get("project", {}).get("key") != self.project:
            errors["project"] = "valid project is required"
        if not fields.get("issuetype", {}).get("name"):
            errors["issuetype"] = "valid issue type is required"
        summary = fields.get("summary")
        if not isinstance(summary, str) or not summary or len(summary) > 255:
            errors["summary"] = "Summary must be less than 255 characters."
        if not isinstance(fields.get("description"), str):
            errors["description"] = "Operation value must be a string"
        labels = fields.get("labels", [])
        if not all(isinstance(x, str) and x and " " not in x for x in labels):
            errors["labels"] = "The label must not contain spaces."
        if errors:
            return web.json_response({"errorMessages": [], "errors": errors}, status=400)
        self._next += 1
        issue = FakeIssue(
            str(self._next), f"{self.project}-{self._next - 10_000}", self.project,
            fields["issuetype"]["name"], summary, fields["description"], list(labels),
        )  # fmt: skip
        self.issues[issue.key] = issue
        return web.json_response(
            {"id": issue.id, "key": issue.key, "self": f"{self.url}/rest/api/2/issue/{issue.id}"},
            status=201,
        )

    async def _comments(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self._unauthorized()
        issue = self.issues.get(request.match_info["key"])
        if issue is None:
            return web.json_response({"errorMessages": ["Issue does not exist"]}, status=404)
        bodies = list(enumerate(issue.comments))
        if request.query.get("orderBy") == "-created":
            bodies.reverse()
        items = [{"id": str(n), "body": b} for n, b in bodies]
        return web.json_response({"comments": items, "total": len(items), "startAt": 0})

    async def _comment(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self._unauthorized()
        issue = self.issues.get(request.match_info["key"])
        if issue is None:
            return web.json_response({"errorMessages": ["Issue does not exist"]}, status=404)
        body = (await request.json()).get("body")
        if not isinstance(body, str) or not body:
            return web.json_response(
                {"errors": {"comment": "Comment body can not be empty!"}}, status=400
            )
        issue.comments.append(body)
        return web.json_response({"id": str(len(issue.comments)), "body": body}, status=201)


# -- webhook receiver ---------------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookDelivery:
    headers: dict[str, str]
    body: bytes
    verdict: str  # "accepted", "duplicate", or why it was rejected

    def json(self) -> Any:
        return json.loads(self.body)


class WebhookReceiver(_Server):
    """Verifies `X-Onboarding-Signature` / `-Timestamp`, dedupes on `Idempotency-Key`."""

    TOLERANCE_SECONDS = 300

    def __init__(self, secret: str, clock: Callable[[], datetime], path: str = "/hook") -> None:
        super().__init__()
        self._secret = secret.encode()
        self._clock = clock
        self.path = path
        self.deliveries: list[WebhookDelivery] = []
        self.accepted: dict[str, Any] = {}  # idempotency key -> payload, first one wins
        self._lose_answers = 0

    @property
    def hook_url(self) -> str:
        return self.url + self.path

    def routes(self, app: web.Application) -> None:
        app.router.add_post(self.path, self._receive)

    def lose_next_answers(self, times: int = 1) -> None:
        """Process the next deliveries, then answer 502 as if the reply was lost on the way."""
        self._lose_answers += times

    def check(self, headers: dict[str, str], body: bytes) -> str | None:
        """Why this request must be rejected, or None when it is genuine and fresh."""
        timestamp = headers.get("X-Onboarding-Timestamp", "")
        signature = headers.get("X-Onboarding-Signature", "")
        if not timestamp.isdigit() or not signature.startswith("sha256="):
            return "unsigned"
        if abs(self._clock().timestamp() - int(timestamp)) > self.TOLERANCE_SECONDS:
            return "stale"
        mac = hmac.new(self._secret, timestamp.encode() + b"." + body, hashlib.sha256)
        if not hmac.compare_digest("sha256=" + mac.hexdigest(), signature):
            return "bad signature"
        return None

    async def _receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = dict(request.headers)
        problem = self.check(headers, body)
        if problem is not None:
            self.deliveries.append(WebhookDelivery(headers, body, problem))
            return web.json_response({"error": problem}, status=401)
        key = headers.get("Idempotency-Key", "")
        verdict = "duplicate" if key in self.accepted else "accepted"
        self.accepted.setdefault(key, json.loads(body))
        self.deliveries.append(WebhookDelivery(headers, body, verdict))
        if self._lose_answers:
            self._lose_answers -= 1
            return web.Response(status=502)
        return web.json_response({"id": f"wh-{list(self.accepted).index(key) + 1}"})


def closed_port() -> int:
    """A loopback port nobody listens on (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
