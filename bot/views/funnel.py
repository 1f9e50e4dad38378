"""A bar of the funnel chart: what `bot.views.chart` draws, without matplotlib to import (the
chart is drawn rarely; this is built with every summary)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FunnelRow:
    """One onboarding step of the funnel."""

    label: str
    """The step's name in the reader's language, e.g. "4. 完成企业资质审核"."""
    total: int
    """Tenants at this step."""
    stalled: int
    """Of them, how many are stalled (0 <= stalled <= total)."""

    def __post_init__(self) -> None:
        if self.total < 0:
            raise ValueError(f"a step cannot have {self.total} tenants")
        if not 0 <= self.stalled <= self.total:
            raise ValueError(f"{self.stalled} stalled out of {self.total} tenants")
