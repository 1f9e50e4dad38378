"""Stable identifiers Slack sends back to us: the command, action ids, view callback ids.

They are stored in messages that live for months, so values never change once shipped.
"""

from __future__ import annotations

from enum import StrEnum


class Command(StrEnum):
    ONBOARD = "/onboard"
