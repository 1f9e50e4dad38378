"""Where pre-checks run: worker threads, a few at a time, off the event loop.

Decoding a 20 MB photo takes a CPU for a fraction of a second and holds the picture in memory;
on the event loop it would delay every other request's acknowledgement past Slack's 3 seconds.
"""

from __future__ import annotations

import asyncio

from bot.documents.fetch import Examine
from bot.documents.formats import FileFormat
from bot.documents.precheck import precheck

# Each running check holds a file (up to MAX_UPLOAD_BYTES) and a decoded picture: two at once
# keep memory bounded and leave the other cores to the event loop.
PRECHECK_WORKERS = 2


class PrecheckPool:
    """Runs `precheck` in threads, at most `workers` at once; uploads beyond that wait."""

    def __init__(self, workers: int = PRECHECK_WORKERS) -> None:
        self._slots = asyncio.Semaphore(workers)

    def for_document(self, *, stamped: bool) -> Examine:
        """The `examine` callback `inspect_file` takes, for a document that is (not) stamped."""

        async def examine(data: bytes, fmt: FileFormat) -> tuple[str, ...]:
            async with self._slots:
                findings = await asyncio.to_thread(precheck, data, fmt, stamped=stamped)
            return tuple(finding.value for finding in findings)

        return examine
