"""Timing helpers shared by the benchmarks: run something n times, median and p99, one row."""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable


def stats(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered), p99


def row_text(name: str, samples: list[float], base: list[float], base_name: str) -> str:
    med, p99 = stats(samples)
    bmed, bp99 = stats(base)
    return (
        f"{name:<28} median {med * 1e3:8.3f} ms  p99 {p99 * 1e3:8.3f} ms   |  "
        f"{base_name:<22} median {bmed * 1e3:8.3f} ms  p99 {bp99 * 1e3:8.3f} ms   |  "
        f"ratio {med / bmed:6.1f}x"
    )


def row(name: str, samples: list[float], base: list[float], base_name: str) -> None:
    print(row_text(name, samples, base, base_name))


def timed_sync(fn: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


async def timed(fn: Callable[[], Awaitable[object]], n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        await fn()
        out.append(time.perf_counter() - start)
    return out
