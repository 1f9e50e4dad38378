"""`python -m bench --quick --json` runs end to end and prints one JSON object with every
figure the issue asks for, each a number (no time is asserted: the machine is shared)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent

REQUIRED = (
    "click_ack_p50_ms",
    "click_ack_p99_ms",
    "click_throughput_rps",
    "bare_bolt_throughput_rps",
    "throughput_ratio",
    "apply_p50_ms",
    "contention_50_ms",
    "contention_50_retries",
    "redis_roundtrips_per_click",
    "redis_roundtrips_per_effect",
    "redis_bytes_per_tenant",
    "redis_bytes_per_tenant_with_audit",
    "summary_100k_ms",
    "sweep_100k_ms",
    "cold_start_ms",
    # the baselines the ratios use
    "bare_bolt_ack_p50_ms",
    "apply_baseline_deep_copy_p50_ms",
    "summary_baseline_scard_ms",
    "cold_start_baseline_ms",
)


def test_quick_json_run_has_every_figure_as_a_number() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout)  # exactly one JSON object on stdout
    assert isinstance(figures, dict)
    missing = [k for k in REQUIRED if k not in figures]
    assert missing == []
    not_numbers = {
        k: figures[k]
        for k in REQUIRED
        if not isinstance(figures[k], int | float)
        or isinstance(figures[k], bool)
        or not math.isfinite(figures[k])
    }
    assert not_numbers == {}
    # What the clicks did is checked, not how fast: every click was answered and moved its
    # onboarding on, and the summary agreed with the population it was timed on.
    assert figures["click_open_loop_failed"] == 0
    assert figures["clicks_moved_on"] == figures["clicks_sent"]
    assert figures["summary_matches"] is True
    assert "click ack" in done.stderr  # the readable figures went to stderr
