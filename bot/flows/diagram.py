"""Render the onboarding chart as the Markdown page `docs/flow.md`.

    python -m bot.flows.diagram > docs/flow.md

The diagram is generated from `OnboardingChart` itself, so it cannot disagree with the code;
`tests/flows/test_diagram.py` fails when the committed page is stale.
"""

from __future__ import annotations

from bot.flows.machine import OnboardingChart

REGENERATE = "python -m bot.flows.diagram > docs/flow.md"

_HEADER = f"""\
# The onboarding flow

<!-- Generated from bot/flows/machine.py; do not edit. Regenerate with: {REGENERATE} -->

The eight steps of onboarding onto Tencent Cloud Contact Center as the bot's statechart.
Steps 4 and 5 are compound states; the labels in square brackets are guard conditions. Arrows
without a label are taken by themselves once their condition holds (the document review ends when
every document has a verdict). Events that keep the tenant where it is (uploading a document, a
verdict on one document, a SIP stage before the last) are internal transitions and not drawn.

An SE may move a tenant to the start of any step (`override_step`, with a reason); that is done by
the engine, not drawn here, and never marks a gate as passed.
"""


def render() -> str:
    """The whole page, ending with a newline."""
    return f"{_HEADER}\n```mermaid\n{OnboardingChart:mermaid}```\n"


if __name__ == "__main__":
    print(render(), end="")
