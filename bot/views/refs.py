"""What buttons and forms carry back to us: which tenant, which prompt, what to do.

Button values and `private_metadata` come back from Slack as strings we once wrote; they are
parsed into these models at the boundary and anything else is refused (a tenant id that is
not one never reaches the store).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.ids import TENANT_ID_PATTERN


class PromptRef(BaseModel):
    """A button of a step prompt: the tenant, the stage the prompt was for, and the action."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    t: str = Field(pattern=TENANT_ID_PATTERN)  # tenant id
    s: str = Field(min_length=1, max_length=64)  # the stage (leaf state value) of the prompt
    e: str | None = Field(default=None, max_length=64)  # flow event to send
    f: str | None = Field(default=None, max_length=64)  # form to open
    a: dict[str, str] = Field(default_factory=dict)  # event arguments

    def encode(self) -> str:
        return self.model_dump_json(exclude_defaults=True)


class FormMeta(BaseModel):
    """A form's `private_metadata`: the tenant, the prompt's stage, the channel to answer in."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    t: str = Field(pattern=TENANT_ID_PATTERN)
    s: str = Field(min_length=1, max_length=64)
    c: str = Field(min_length=1, max_length=64)
    x: dict[str, str] = Field(default_factory=dict)  # form-specific context

    def encode(self) -> str:
        return self.model_dump_json(exclude_defaults=True)


def parse_prompt(value: str | None) -> PromptRef | None:
    try:
        return PromptRef.model_validate_json(value or "")
    except ValidationError:
        return None


def parse_form(value: str | None) -> FormMeta | None:
    try:
        return FormMeta.model_validate_json(value or "")
    except ValidationError:
        return None
