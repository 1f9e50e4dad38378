"""Redis health is logged when it changes, with where Redis is and never its password."""

from __future__ import annotations

import logging

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from bot.state.health import RedisHealth, is_unreachable, redis_location


def test_the_location_never_shows_credentials() -> None:
    assert (
        redis_location("redis://:s3cret@cache.internal:6380/2") == "redis://cache.internal:6380/2"
    )
    assert redis_location("rediss://user:pw@h.example:6379/0") == "rediss://h.example:6379/0"
    assert redis_location("unix:///run/redis.sock") == "unix:///run/redis.sock"
    assert redis_location(None) == "the embedded store"
    assert (
        redis_location("redis+cluster://u:pw@n1:7000,n2:7001?x=1")
        == "redis+cluster://n1:7000,n2:7001"
    )


def test_only_changes_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    now = [100.0]
    health = RedisHealth("redis://h:6379/0", clock=lambda: now[0])
    with caplog.at_level(logging.INFO, logger="bot.state.health"):
        health.answered()  # up and up again: nothing to say
        for _ in range(5):
            health.failed(RedisConnectionError("Connection refused"))
        now[0] = 142.0
        health.answered()
        health.answered()
    assert [r.getMessage() for r in caplog.records] == [
        "Redis at redis://h:6379/0 is unreachable (ConnectionError: Connection refused);"
        " retrying quietly until it answers",
        "Redis at redis://h:6379/0 is back after 42 s",
    ]
    assert not health.down


def test_what_counts_as_unreachable() -> None:
    assert is_unreachable(RedisConnectionError("x"))
    assert is_unreachable(TimeoutError())
    assert not is_unreachable(ValueError("a bug, not an outage"))
