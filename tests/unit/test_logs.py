"""Logs: secrets and email addresses never reach a log line; lines carry request and tenant."""

from __future__ import annotations

import io
import json
import logging

import pytest

from bot.logs import JsonFormatter, Redactor, _ContextFilter, log_context


@pytest.mark.parametrize(
    ("text", "leak"),
    [
        ("token=xoxb-1234-5678-abcdefABCDEF", "xoxb-1234-5678-abcdefABCDEF"),
        ("app token xapp-1-A0123-456-abcdef", "xapp-1-A0123-456-abcdef"),
        ("user token xoxp-99-88-77", "xoxp-99-88-77"),
        ("Authorization: Bearer abc.def.ghi", "abc.def.ghi"),
        ("contact li.wei@acme.com.cn now", "li.wei@acme.com.cn"),
        ("secret is s3cr3t-signing-value!", "s3cr3t-signing-value"),
    ],
)
def test_redactor_removes_secrets_and_emails(text: str, leak: str) -> None:
    redact = Redactor(["s3cr3t-signing-value"])
    assert leak not in redact(text)


def test_redactor_keeps_a_hint_of_the_email_for_support() -> None:
    assert Redactor()("write to li.wei@acme.cn") == "write to l***@acme.cn"


def _logger(stream: io.StringIO) -> logging.Logger:
    logger = logging.getLogger(f"test.logs.{id(stream)}")
    logger.propagate = False
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(_ContextFilter(Redactor(["signing-secret-123"])))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return logger


def test_json_lines_carry_request_id_and_tenant_and_scrub_arguments_and_tracebacks() -> None:
    stream = io.StringIO()
    logger = _logger(stream)
    with log_context(request_id="Ev123", tenant="acme-1a2b"):
        logger.info("posting with %s", "xoxb-111-222-secret")
        try:
            raise RuntimeError("failed for boss@acme.cn with signing-secret-123")
        except RuntimeError:
            logger.exception("boom")
    logger.info("outside")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines[0]["request_id"] == "Ev123" and lines[0]["tenant"] == "acme-1a2b"
    assert "xoxb-111-222-secret" not in lines[0]["msg"]
    assert "boss@acme.cn" not in lines[1]["exc"] and "signing-secret-123" not in lines[1]["exc"]
    assert "RuntimeError" in lines[1]["exc"]
    assert "request_id" not in lines[2]
