from __future__ import annotations

from pathlib import Path

from bot.flows.diagram import REGENERATE, render

DOC = Path(__file__).resolve().parents[2] / "docs" / "flow.md"


def test_docs_flow_md_is_current() -> None:
    assert DOC.read_text(encoding="utf-8") == render(), (
        f"docs/flow.md is stale; regenerate it with: {REGENERATE}"
    )


def test_diagram_shows_every_step_and_the_gates() -> None:
    page = render()
    for name in ("account", "real_name", "instance", "qualification", "numbers", "console"):
        assert f" as {name}" in page
    assert "in_review --> numbers : [all_documents_approved]" in page
    assert "sdk --> live" in page
