"""Jira Cloud backend: one issue per ticket, one comment per stage.

Authentication is Basic with the account's email and an API token (Atlassian's "Basic auth for
REST APIs"). Endpoints:
- find:    POST /rest/api/3/search/jql (the enhanced search; the old /rest/api/{2,3}/search
           was removed from Jira Cloud in 2025 and answers 410 Gone)
- create:  POST /rest/api/2/issue (v2, because v3 wants the description in Atlassian Document
           Format while v2 takes text, which is all we send)
- comment: GET and POST /rest/api/2/issue/{key}/comment

Idempotency. Jira has no idempotency keys, so every issue carries the label `onb-<ticket_id>`
and `open` searches for it before creating: an issue created by an attempt whose result was lost
(a crash, a timeout after Jira committed) is found and reused. The enhanced search is eventually
consistent, typically by a second or two; retries come at least 15 s apart (the backoff) and
the outbox's claim expiry is longer still, which leaves it time to catch up. Each stage comment
ends with a marker (`onb-<ticket_id>/stage-<n>`) and is posted only if no comment carries it yet.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

import aiohttp
from pydantic import SecretStr

from bot.config import TicketBackend as BackendName
from bot.i18n import Catalog, Lang
from bot.tickets.delivery import BackendError, Delivery
from bot.tickets.http import DEFAULT_TIMEOUT, HttpReply, raise_for_status, send
from bot.tickets.text import plain_text, progress_marks, stage_label
from bot.tickets.view import TicketView

SUMMARY_LIMIT = 255  # Jira refuses longer summaries
SIP_TRUNK_LABEL = "sip-trunk"
# How many recent comments to look through for a stage marker; a ticket has a handful.
COMMENTS_TO_CHECK = 100


def basic_auth_header(email: str, api_token: str) -> str:
    """Jira Cloud's Basic auth: the account's email and an API token. Built here rather than with
    aiohttp.BasicAuth, which aiohttp 3.14 deprecates (and its replacement is not in 3.10)."""
    return "Basic " + base64.b64encode(f"{email}:{api_token}".encode()).decode("ascii")


def ticket_label(ticket_id: str) -> str:
    """The label that identifies the ticket's issue (ticket ids never contain spaces)."""
    return f"onb-{ticket_id}"


def stage_marker(ticket: TicketView) -> str:
    return f"onb-{ticket.ticket_id}/stage-{int(ticket.stage)}"


def _jql_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _jira_detail(reply: HttpReply) -> str | None:
    """Jira's own explanation of a 4xx (`errorMessages`, `errors`), shortened."""
    body = reply.json()
    if not isinstance(body, dict):
        return None
    parts = [str(m) for m in body.get("errorMessages") or []]
    errors = body.get("errors")
    if isinstance(errors, dict):
        parts += [f"{k}: {v}" for k, v in errors.items()]
    return "; ".join(parts)[:200] or None


def _issue_number(issue: dict[str, Any]) -> int:
    issue_id = str(issue.get("id", ""))
    return int(issue_id) if issue_id.isdigit() else 0


class JiraBackend:
    shows_status = False

    def __init__(
        self,
        *,
        session: aiohttp.ClientSession,
        base_url: str,
        email: str,
        api_token: SecretStr,
        project_key: str,
        issue_type: str,
        catalog: Catalog,
        lang: Lang,
        timeout: aiohttp.ClientTimeout = DEFAULT_TIMEOUT,
    ) -> None:
        self._session = session
        self._base = base_url.rstrip("/")
        self._authorization = basic_auth_header(email, api_token.get_secret_value())
        self._project = project_key
        self._issue_type = issue_type
        self._catalog = catalog
        self._lang = lang
        self._timeout = timeout

    @property
    def name(self) -> str:
        return BackendName.JIRA.value

    async def open(self, ticket: TicketView) -> Delivery:
        found = await self._find(ticket)
        return found if found is not None else await self._create(ticket)

    async def update(self, ticket: TicketView, delivery: Delivery) -> Delivery | None:
        key = delivery.external_id
        marker = stage_marker(ticket)
        if not await self._has_comment(key, marker):
            await self._request(
                "POST",
                f"/rest/api/2/issue/{quote(key)}/comment",
                what="jira comment",
                json={"body": self._stage_comment(ticket) + f"\n\n{marker}"},
            )
        return None

    # -- parts ---------------------------------------------------------------------------

    def _browse_url(self, key: str) -> str:
        return f"{self._base}/browse/{quote(key)}"

    async def _find(self, ticket: TicketView) -> Delivery | None:
        jql = (
            f"project = {_jql_string(self._project)}"
            f" AND labels = {_jql_string(ticket_label(ticket.ticket_id))}"
        )
        body = await self._request(
            "POST",
            "/rest/api/3/search/jql",
            what="jira search",
            json={"jql": jql, "fields": ["summary", "labels"], "maxResults": 5},
        )
        issues = body.get("issues") if isinstance(body, dict) else None
        if not isinstance(issues, list) or not issues:
            return None
        # More than one would mean someone copied the label by hand; the oldest (lowest id) is
        # the one the bot made first.
        keyed = [i for i in issues if isinstance(i, dict) and isinstance(i.get("key"), str)]
        if not keyed:
            raise BackendError("jira search: answer without issue keys")
        first = min(keyed, key=_issue_number)
        return Delivery(external_id=first["key"], url=self._browse_url(first["key"]))

    async def _create(self, ticket: TicketView) -> Delivery:
        numbers = ", ".join(ticket.numbers)
        summary = self._catalog.t(
            self._lang, "tickets.jira.summary", company=ticket.company, numbers=numbers
        )
        fields = {
            "project": {"key": self._project},
            "issuetype": {"name": self._issue_type},
            "summary": summary[:SUMMARY_LIMIT],
            "description": plain_text(ticket, self._catalog, self._lang),
            "labels": [
                ticket_label(ticket.ticket_id),
                SIP_TRUNK_LABEL,
                f"onb-tenant-{ticket.tenant_id}",
            ],
        }
        body = await self._request(
            "POST", "/rest/api/2/issue", what="jira create", json={"fields": fields}
        )
        key = body.get("key") if isinstance(body, dict) else None
        if not isinstance(key, str) or not key:
            raise BackendError("jira create: answer without an issue key")
        return Delivery(external_id=key, url=self._browse_url(key))

    async def _has_comment(self, key: str, marker: str) -> bool:
        body = await self._request(
            "GET",
            f"/rest/api/2/issue/{quote(key)}/comment",
            what="jira comments",
            params={"orderBy": "-created", "maxResults": str(COMMENTS_TO_CHECK)},
        )
        comments = body.get("comments") if isinstance(body, dict) else None
        return any(isinstance(c, dict) and marker in str(c.get("body", "")) for c in comments or [])

    def _stage_comment(self, ticket: TicketView) -> str:
        stage = stage_label(self._catalog, self._lang, ticket.stage)
        if ticket.assigned_number:
            head = self._catalog.t(
                self._lang,
                "tickets.jira.assigned_comment",
                stage=stage,
                number=ticket.assigned_number,
            )
        else:
            head = self._catalog.t(self._lang, "tickets.jira.stage_comment", stage=stage)
        return head + "\n" + "   ".join(progress_marks(ticket, self._catalog, self._lang))

    async def _request(self, method: str, path: str, *, what: str, **kwargs: Any) -> Any:
        reply = await send(
            self._session,
            method,
            self._base + path,
            what=what,
            limits=self._timeout,
            headers={"Accept": "application/json", "Authorization": self._authorization},
            **kwargs,
        )
        raise_for_status(reply, what, _jira_detail)
        return reply.json()
