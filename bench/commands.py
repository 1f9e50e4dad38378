"""How many Redis commands an operation sends, and how many tenant records it reads.

Two counts of the same window:

- the server's: `INFO commandstats` before and after, summing `calls` (the figure we report;
  it is what Redis did). It counts every client of that Redis, so it is exact only while the
  benchmark is alone on it;
- the client's: a counting subclass of the client's connection class, which sees every command
  packed for the wire (single commands and pipelines alike) and every write to the socket
  (round trips), and which of them are GET/MGET of tenant record keys (records read: no
  server counter can say that).

When the two totals differ, something else used the Redis at that moment (the tests share it),
and the report says so instead of passing the server figure off as ours.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from redis.asyncio import Redis

from bot.state.keys import Keys

T = TypeVar("T")


@dataclass(frozen=True)
class CommandCount:
    server_total: int  # calls in INFO commandstats over the window (every client of this Redis)
    client_total: int  # commands our client sent in the window
    round_trips: int  # writes to the socket: one per single command, one per pipeline
    records_read: int  # tenant record keys in GET/MGET commands our client sent
    by_name: dict[str, int] = field(default_factory=dict)  # the server's, most calls first
    server_ms: float = 0.0  # the time Redis spent executing them (commandstats `usec`)

    @property
    def shared(self) -> bool:
        """Whether other clients' commands are in `server_total` (or ours are missing)."""
        return self.server_total != self.client_total

    def top(self, n: int = 4) -> str:
        names = list(self.by_name.items())
        shown = ", ".join(f"{name} {calls:,}" for name, calls in names[:n])
        rest = sum(calls for _, calls in names[n:])
        return shown + (f", other {rest:,}" if rest else "")

    def _shared_note(self) -> str:
        if not self.shared:
            return ""
        return (
            f"  [not isolated: the server counted {self.server_total:,} commands, this client"
            f" sent {self.client_total:,}; another client used this Redis meanwhile]"
        )

    def describe(self) -> str:
        """The counts with the commands that dominate (one line)."""
        return (
            f"{self.server_total:,} Redis commands in {self.round_trips:,} round trips "
            f"({self.top()}; {self.server_ms:.3f} ms in Redis), "
            f"{self.records_read:,} tenant records read" + self._shared_note()
        )

    def brief(self) -> str:
        """The counts alone (one line)."""
        return (
            f"{self.server_total:,} commands, {self.round_trips:,} round trips, "
            f"{self.records_read:,} records read" + self._shared_note()
        )


def _name(args: tuple[Any, ...]) -> str:
    first = args[0].decode() if isinstance(args[0], bytes) else str(args[0])
    return first.split()[0].lower()


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return value if isinstance(value, str) else None


class CommandTally:
    """Counts what one client sends, while `active`. Install before the client connects."""

    def __init__(self, keys: Keys) -> None:
        self._keys = keys
        self.active = False
        self.names: Counter[str] = Counter()
        self.round_trips = 0
        self.records_read = 0

    def install(self, redis: Redis) -> None:
        pool = redis.connection_pool
        base: Any = pool.connection_class
        tally = self

        class CountingConnection(base):  # type: ignore[misc,valid-type]
            def pack_command(self, *args: Any) -> list[bytes]:
                if tally.active:
                    tally.saw(args)
                packed: list[bytes] = super().pack_command(*args)
                return packed

            async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
                if tally.active:
                    tally.round_trips += 1
                await super().send_packed_command(command, check_health)

        pool.connection_class = CountingConnection

    def saw(self, args: tuple[Any, ...]) -> None:
        name = _name(args)
        self.names[name] += 1
        if name in ("get", "mget"):
            self.records_read += sum(
                1
                for key in args[1:]
                if (text := _text(key)) is not None
                and self._keys.tenant_of_record_key(text) is not None
            )

    def snapshot(self) -> tuple[int, int, int]:
        return sum(self.names.values()), self.round_trips, self.records_read


def _calls(stats: dict[str, Any], what: str = "calls") -> Counter[str]:
    return Counter(
        {
            name.removeprefix("cmdstat_"): int(value[what])
            for name, value in stats.items()
            if isinstance(value, dict) and what in value
        }
    )


class CommandMeter:
    """Counts one operation's commands, server side and client side (see the module)."""

    def __init__(self, probe: Redis, tally: CommandTally) -> None:
        self._probe = probe  # a client of its own: its INFO calls are not the operation's
        self.tally = tally

    async def count(self, fn: Callable[[], Awaitable[T]]) -> tuple[T, CommandCount, float]:
        """Run `fn` once: its result, its commands, and its time in seconds (the two INFO
        calls are outside the time)."""
        before_stats = await self._probe.info("commandstats")
        start_total, start_trips, start_reads = self.tally.snapshot()
        self.tally.active = True
        try:
            start = time.perf_counter()
            result = await fn()
            elapsed = time.perf_counter() - start
        finally:
            self.tally.active = False
        end_total, end_trips, end_reads = self.tally.snapshot()
        after_stats = await self._probe.info("commandstats")
        # Counter subtraction keeps the positive counts only. The probe's first INFO is in the
        # second one's figures: not the operation's.
        delta = _calls(after_stats) - _calls(before_stats)
        delta["info"] -= 1
        delta = +delta
        usec = _calls(after_stats, "usec") - _calls(before_stats, "usec")
        usec.pop("info", None)
        return (
            result,
            CommandCount(
                server_total=sum(delta.values()),
                client_total=end_total - start_total,
                round_trips=end_trips - start_trips,
                records_read=end_reads - start_reads,
                by_name=dict(delta.most_common()),
                server_ms=sum(usec.values()) / 1e3,
            ),
            elapsed,
        )
