"""Structured logs: one JSON object per line in production, readable lines in a terminal.

Every line carries the request id and tenant of the work that wrote it (context variables, so
they follow a request into the tasks Bolt starts for it). Tokens, the signing secret and email
addresses are scrubbed from every line, whatever logger wrote it.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from bot.privacy import mask_emails

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)
tenant_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("tenant", default=None)

# Slack tokens (bot, user, app, refresh, config), bearer headers and email addresses.
_TOKEN = re.compile(r"\b(xox[abeprs]|xapp|xoxe\.xox[bp])-[A-Za-z0-9-]+")
_BEARER = re.compile(r"(?i)(bearer\s+)[^\s\"',]+")
_STANDARD_ATTRS = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys() | {"message", "asctime"}
)


class Redactor:
    """Removes secrets and email addresses from text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Exact secret values (the signing secret has no recognisable shape of its own).
        self._secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "[secret]")
        text = _TOKEN.sub(lambda m: m.group(1) + "-[redacted]", text)
        text = _BEARER.sub(r"\1[redacted]", text)
        return mask_emails(text)


# The process's redactor, knowing its secrets once `setup_logging` has run.
_process_redactor = Redactor()


def redact(text: str) -> str:
    """Scrub `text` as every log line is scrubbed, for text kept elsewhere (error texts stored
    beside an effect or a dead letter, which people read as they read the logs)."""
    return _process_redactor(text)


class _ContextFilter(logging.Filter):
    """Stamps the request id and tenant on each record and scrubs its text."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self._redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.tenant = tenant_var.get()
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the line
            message = f"{record.msg!r} {record.args!r}"
        record.msg = self._redact(message)
        record.args = None
        if record.exc_info:
            record.exc_text = self._redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        for key, value in list(vars(record).items()):
            if key not in _STANDARD_ATTRS and isinstance(value, str):
                setattr(record, key, self._redact(value))
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key in ("request_id", "tenant"):
            value = getattr(record, key, None)
            if value:
                entry[key] = value
        for key, value in vars(record).items():
            if (
                key not in _STANDARD_ATTRS
                and key not in entry
                and key not in ("request_id", "tenant")
            ):
                entry[key] = value if isinstance(value, str | int | float | bool) else repr(value)
        if record.exc_text:
            entry["exc"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        where = " ".join(
            f"{k}={v}" for k in ("request_id", "tenant") if (v := getattr(record, k, None))
        )
        line = f"{when} {record.levelname:<7} {record.name}: {record.getMessage()}"
        if where:
            line += f"  [{where}]"
        if record.exc_text:
            line += "\n" + record.exc_text
        return line


def setup_logging(level: str = "INFO", fmt: str = "auto", secrets: Iterable[str] = ()) -> None:
    """Configure the root logger once for the process (idempotent)."""
    global _process_redactor
    _process_redactor = Redactor(secrets)
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if use_json else TextFormatter())
    handler.addFilter(_ContextFilter(_process_redactor))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    quiet_third_party_loggers(logging.getLevelName(level))


def quiet_third_party_loggers(level: int) -> None:
    """Third-party loggers log request and response bodies (a user's profile, a file's
    metadata) at DEBUG; keep them at INFO or above whatever the bot's own level."""
    for noisy in ("slack_sdk", "slack_bolt", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(max(logging.INFO, level))


@contextmanager
def log_context(*, request_id: str | None = None, tenant: str | None = None) -> Iterator[None]:
    tokens = []
    if request_id is not None:
        tokens.append((request_id_var, request_id_var.set(request_id)))
    if tenant is not None:
        tokens.append((tenant_var, tenant_var.set(tenant)))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)
