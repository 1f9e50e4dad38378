"""The prompt of each step and stage: what to do, the links, and the buttons that do it."""

from __future__ import annotations

from collections.abc import Callable

from slack_sdk.models.blocks import ActionsBlock

from bot.flows.catalogue import (
    STAMPED_NOTE_KEY,
    document_spec,
    documents_for,
    number_path_keys,
    role_name_key,
    step_spec,
    tccc_sip_parameters,
)
from bot.flows.engine import missing_documents, next_action, rejected_documents
from bot.flows.model import DocKind, NumberPath, Role, Step, Verdict
from bot.i18n import Catalog, Lang
from bot.ids import ActionId
from bot.mrkdwn import escape
from bot.state import TenantRecord
from bot.views.kit import (
    Block,
    ButtonElement,
    Message,
    actions,
    button,
    context,
    section,
    sections,
)
from bot.views.refs import PromptRef
from bot.views.text import render

# Forms a prompt can open (the value of `PromptRef.f`).
FORM_ACCOUNT = "account"
FORM_INSTANCE = "instance"
FORM_SCRIPT = "script"
FORM_PURCHASE = "purchase"
FORM_SIP_TRUNK = "sip_trunk"
FORM_CHECKLIST = "checklist"

NEXT_BLOCK = "next"


class _Prompt:
    """Builds one prompt; keeps the tenant, stage and language every button needs."""

    def __init__(self, record: TenantRecord, stage: str, catalog: Catalog) -> None:
        self.record = record
        self.stage = stage
        self.catalog = catalog
        self.lang: Lang = record.lang
        self.blocks: list[Block] = []
        self.buttons: list[ButtonElement] = []

    def t(self, key: str, **params: object) -> str:
        return self.catalog.t(self.lang, key, **params)

    def text(self, body: str) -> None:
        self.blocks += sections(body)

    def note(self, body: str) -> None:
        self.blocks.append(context(body))

    def event_button(
        self,
        label: str,
        event: str,
        args: dict[str, str] | None = None,
        *,
        style: str | None = None,
    ) -> None:
        ref = PromptRef(t=self.record.tenant_id, s=self.stage, e=event, a=args or {})
        self.buttons.append(button(label, ActionId.STEP_EVENT, ref.encode(), style=style))

    def form_button(self, label: str, form: str, *, style: str | None = "primary") -> None:
        ref = PromptRef(t=self.record.tenant_id, s=self.stage, f=form)
        self.buttons.append(button(label, ActionId.OPEN_FORM, ref.encode(), style=style))

    def next_action(self) -> None:
        action = render(next_action(self.record.onboarding), self.catalog, self.lang)
        # Its block id marks the line true only while the prompt is current.
        self.blocks.append(section(self.t("conversation.next", action=action), block_id=NEXT_BLOCK))

    def step_header(self, step: Step) -> None:
        self.text(
            self.t(
                "conversation.prompt.step_header",
                number=step.number,
                title=self.t(step_spec(step).title_key),
            )
        )

    def finish(self) -> list[Block]:
        step = Step(self.stage.split(".", 1)[0])
        if step is not Step.LIVE:
            self.note(
                self.t("conversation.prompt.done_when", done=self.t(step_spec(step).done_key))
            )
        if self.buttons:
            self.blocks.append(actions(self.buttons, block_id=f"prompt:{self.stage}"))
        return self.blocks

    @property
    def fallback(self) -> str:
        return self.t(step_spec(Step(self.stage.split(".", 1)[0])).title_key)


def _account(p: _Prompt) -> None:
    p.text(p.t(step_spec(Step.ACCOUNT).prompt_key))
    p.event_button(p.t("flow.events.confirm_account"), "confirm_account", style="primary")
    p.form_button(p.t("conversation.buttons.add_uin"), FORM_ACCOUNT, style=None)


def _real_name(p: _Prompt) -> None:
    p.text(p.t(step_spec(Step.REAL_NAME).prompt_key))
    p.event_button(p.t("flow.events.confirm_real_name"), "confirm_real_name", style="primary")


def _instance(p: _Prompt) -> None:
    p.text(p.t(step_spec(Step.INSTANCE).prompt_key))
    p.form_button(p.t("flow.events.create_instance"), FORM_INSTANCE)


def _choose_role(p: _Prompt) -> None:
    p.text(p.t(step_spec(Step.QUALIFICATION).prompt_key))
    for role in Role:
        p.event_button(p.t(role_name_key(role)), "choose_role", {"role": role.value})


def document_line(catalog: Catalog, lang: Lang, role: Role, kind: DocKind) -> str:
    """A document's name with its seal note, example and template links."""
    spec = document_spec(kind)
    parts = [f"*{catalog.t(lang, spec.name_key)}*"]
    if spec.stamped:
        parts.append(catalog.t(lang, STAMPED_NOTE_KEY))
    parts.append(catalog.t(lang, spec.example_key(role)))
    if spec.template_key:
        parts.append(catalog.t(lang, spec.template_key))
    return "• " + " · ".join(parts)


def _documents(p: _Prompt) -> None:
    ob = p.record.onboarding
    role = ob.role
    if role is None:  # the machine never collects without a role; be safe anyway
        _choose_role(p)
        return
    p.step_header(Step.QUALIFICATION)
    p.text(p.t("conversation.prompt.role_current", role=p.t(role_name_key(role))))
    missing = missing_documents(ob)
    rejected = rejected_documents(ob)
    if rejected:
        lines = [
            p.t(
                "conversation.prompt.rejected_line",
                document=p.t(document_spec(kind).name_key),
                reason=escape(ob.documents[kind].reason or ""),
            )
            for kind in rejected
        ]
        p.text(p.t("conversation.prompt.rejected_title") + "\n" + "\n".join(lines))
    if missing:
        lines = [document_line(p.catalog, p.lang, role, k) for k in missing]
        p.text(p.t("conversation.prompt.documents_missing") + "\n" + "\n".join(lines))
    received = [k for k in documents_for(role) if k in ob.documents and k not in rejected]
    if received:
        marks = {Verdict.APPROVED: "✅", Verdict.PENDING: "📄", Verdict.REJECTED: "❌"}
        lines = [
            f"{marks[ob.documents[k].verdict]} {p.t(document_spec(k).name_key)}" for k in received
        ]
        p.text(p.t("conversation.prompt.documents_received") + "\n" + "\n".join(lines))
    if missing or rejected:
        p.note(p.t("conversation.prompt.upload_hint"))
    else:
        p.next_action()
        p.event_button(p.t("flow.events.submit_documents"), "submit_documents", style="primary")
    if p.stage == "qualification.collecting":
        other = Role.LEGAL_REP if role is Role.AGENT else Role.AGENT
        label = p.t("conversation.buttons.change_role", role=p.t(role_name_key(other)))
        p.event_button(label, "choose_role", {"role": other.value})


def _choose_path(p: _Prompt) -> None:
    p.text(p.t(step_spec(Step.NUMBERS).prompt_key))
    for path in NumberPath:
        p.event_button(
            p.t(f"conversation.buttons.path.{path.value}"),
            "choose_number_path",
            {"path": path.value},
        )


def _back(p: _Prompt) -> None:
    p.event_button(p.t("flow.events.back_to_number_choice"), "back_to_number_choice")


def _confirm_400(p: _Prompt) -> None:
    p.step_header(Step.NUMBERS)
    p.text(p.t(number_path_keys(NumberPath.TOLL_FREE_400)[1]))
    p.next_action()
    p.event_button(
        p.t("flow.events.confirm_toll_free_inbound_only"),
        "confirm_toll_free_inbound_only",
        style="primary",
    )
    _back(p)


def _script(p: _Prompt) -> None:
    p.step_header(Step.NUMBERS)
    p.next_action()
    p.note(p.t("conversation.prompt.script_hint"))
    p.form_button(p.t("flow.events.submit_script"), FORM_SCRIPT)
    _back(p)


def _purchase(p: _Prompt) -> None:
    p.step_header(Step.NUMBERS)
    p.next_action()
    if p.record.onboarding.qualification_approved:
        p.form_button(p.t("flow.events.confirm_purchase"), FORM_PURCHASE)
    _back(p)


def sip_parameters_text(catalog: Catalog, lang: Lang) -> str:
    params = tccc_sip_parameters(catalog)
    lines = [
        catalog.t(lang, "conversation.prompt.sip_params_title"),
        f"• {catalog.t(lang, 'sip.labels.inbound')}: `{params.inbound}`",
        f"• {catalog.t(lang, 'sip.labels.inbound_ips')}: "
        + ", ".join(f"`{ip}`" for ip in params.inbound_ips),
        f"• {catalog.t(lang, 'sip.labels.outbound')}: "
        + ", ".join(f"`{ip}`" for ip in params.outbound),
    ]
    return "\n".join(lines)


def _sip_request(p: _Prompt) -> None:
    p.step_header(Step.NUMBERS)
    p.text(p.t(number_path_keys(NumberPath.SIP_TRUNK)[1]))
    p.text(sip_parameters_text(p.catalog, p.lang))
    p.next_action()
    p.form_button(p.t("flow.events.submit_sip_request"), FORM_SIP_TRUNK)
    _back(p)


def _checklist_step(step: Step) -> Callable[[_Prompt], None]:
    def build(p: _Prompt) -> None:
        p.text(p.t(step_spec(step).prompt_key))
        p.form_button(p.t(f"flow.events.confirm_{step.value}"), FORM_CHECKLIST)

    return build


def _live(p: _Prompt) -> None:
    p.text(p.t(step_spec(Step.LIVE).prompt_key))


def _waiting(p: _Prompt) -> None:
    p.step_header(p.record.step)
    p.next_action()


_BUILDERS: dict[str, Callable[[_Prompt], None]] = {
    "account": _account,
    "real_name": _real_name,
    "instance": _instance,
    "qualification.role": _choose_role,
    "qualification.collecting": _documents,
    "qualification.rework": _documents,
    "numbers.choose": _choose_path,
    "numbers.confirm_400": _confirm_400,
    "numbers.script": _script,
    "numbers.purchase": _purchase,
    "numbers.sip_request": _sip_request,
    "console": _checklist_step(Step.CONSOLE),
    "login": _checklist_step(Step.LOGIN),
    "sdk": _checklist_step(Step.SDK),
    "live": _live,
}


def _build(record: TenantRecord, stage: str, catalog: Catalog) -> tuple[str, list[Block]]:
    p = _Prompt(record, stage, catalog)
    _BUILDERS.get(stage, _waiting)(p)
    return p.fallback, p.finish()


def prompt_message(record: TenantRecord, stage: str, catalog: Catalog) -> Message:
    """The prompt for `stage` (a leaf state value) in the tenant's language."""
    return Message.of(*_build(record, stage, catalog))


def closed_prompt_message(record: TenantRecord, stage: str, catalog: Catalog) -> Message:
    """An earlier prompt once a newer one is posted: the same guidance, no buttons to click."""
    fallback, built = _build(record, stage, catalog)
    blocks = [
        b
        for b in built
        if not isinstance(b, ActionsBlock) and getattr(b, "block_id", None) != NEXT_BLOCK
    ]
    blocks.append(context(catalog.t(record.lang, "conversation.prompt.superseded")))
    return Message.of(fallback, blocks)


def role_switch_confirmation(
    record: TenantRecord,
    stage: str,
    role: Role,
    removed: tuple[DocKind, ...],
    catalog: Catalog,
    lang: Lang,
) -> Message:
    """Asked of the clicker only, before a change of applicant removes uploaded documents:
    which go, which stay, and two buttons (switch, or keep everything as it is)."""
    role_name = catalog.t(lang, role_name_key(role))
    current = record.onboarding.role
    kept = [kind for kind in record.onboarding.documents if kind not in removed]

    def names(kinds: tuple[DocKind, ...] | list[DocKind]) -> str:
        return "\n".join(f"• {catalog.t(lang, document_spec(k).name_key)}" for k in kinds)

    text = catalog.t(lang, "conversation.prompt.switch_removes", role=role_name)
    body = text + "\n" + names(removed)
    if kept:
        body += "\n" + catalog.t(lang, "conversation.prompt.switch_keeps") + "\n" + names(kept)
    switch = PromptRef(
        t=record.tenant_id,
        s=stage,
        e="choose_role",
        a={"role": role.value, "drop": ",".join(k.value for k in removed)},
    )
    buttons = [
        button(
            catalog.t(lang, "conversation.buttons.switch_and_remove", count=len(removed)),
            ActionId.STEP_EVENT,
            switch.encode(),
            style="danger",
        )
    ]
    if current is not None:
        buttons.append(
            button(
                catalog.t(
                    lang,
                    "conversation.buttons.keep_role",
                    role=catalog.t(lang, role_name_key(current)),
                ),
                ActionId.DISMISS,
                "keep",
            )
        )
    return Message.of(text, [*sections(body), actions(buttons)])
