"""A TCP proxy in front of Redis that counts what its clients send: commands and round trips.

Round trips: per connection, a run of bytes from the client that follows an answer from the
server (or opens the connection) is one round trip, however many TCP reads it arrives in and
however many commands it holds. So a pipeline or a MULTI … EXEC sent at once is one; a WATCH,
a GET under it, then the MULTI … EXEC are three. redis-py sends one request at a time on a
connection and waits for its answer, so this counts what the client waited for.

Commands: the client's bytes are parsed as RESP (redis-py sends every command as an array of
bulk strings), so a pipeline of five is five commands; each is counted by name.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Tally:
    round_trips: int
    commands: int
    by_name: dict[str, int] = field(default_factory=dict)

    def __sub__(self, other: Tally) -> Tally:
        names = Counter(self.by_name)
        names.subtract(other.by_name)
        return Tally(
            self.round_trips - other.round_trips,
            self.commands - other.commands,
            {k: v for k, v in names.most_common() if v},
        )


class _Resp:
    """Counts the commands in a client's byte stream (arrays of bulk strings), incrementally."""

    def __init__(self, names: Counter[str]) -> None:
        self._buf = bytearray()
        self._names = names

    def feed(self, data: bytes) -> int:
        self._buf += data
        found = 0
        while True:
            parsed = self._one()
            if parsed is None:
                return found
            end, name = parsed
            del self._buf[:end]
            self._names[name] += 1
            found += 1

    def _line(self, at: int) -> tuple[int, bytes] | None:
        end = self._buf.find(b"\r\n", at)
        return None if end < 0 else (end + 2, bytes(self._buf[at:end]))

    def _one(self) -> tuple[int, str] | None:
        head = self._line(0)
        if head is None:
            return None
        at, line = head
        if not line.startswith(b"*"):  # an inline command (redis-cli style): one line
            return at, line.split(b" ", 1)[0].decode(errors="replace").lower()
        name = ""
        for index in range(int(line[1:])):
            size = self._line(at)
            if size is None:
                return None
            at, text = size
            length = int(text[1:])
            if len(self._buf) < at + length + 2:
                return None
            if index == 0:
                name = bytes(self._buf[at : at + length]).decode(errors="replace").lower()
            at += length + 2
        return at, name


class CountingProxy:
    """`127.0.0.1:<port>` forwards to `target_host:target_port`; `tally()` says what went by."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._server: asyncio.Server | None = None
        self._round_trips = 0
        self._names: Counter[str] = Counter()
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    def tally(self) -> Tally:
        return Tally(self._round_trips, sum(self._names.values()), dict(self._names))

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._tasks):
                task.cancel()
            for task in list(self._tasks):
                with contextlib.suppress(asyncio.CancelledError, OSError):
                    await task
            await self._server.wait_closed()

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            server_r, server_w = await asyncio.open_connection(*self._target)
        except OSError:
            client_w.close()
            self._tasks.discard(task)
            return
        answered = [True]  # the server spoke last (or nobody yet): the next request is new
        parser = _Resp(self._names)

        async def upstream() -> None:
            while data := await client_r.read(65536):
                if answered[0]:
                    self._round_trips += 1
                    answered[0] = False
                parser.feed(data)
                server_w.write(data)
                await server_w.drain()
            server_w.close()

        async def downstream() -> None:
            while data := await server_r.read(65536):
                answered[0] = True
                client_w.write(data)
                await client_w.drain()
            client_w.close()

        try:
            await asyncio.gather(upstream(), downstream())
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            for writer in (client_w, server_w):
                writer.close()
            self._tasks.discard(task)
