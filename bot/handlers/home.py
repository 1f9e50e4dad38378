"""App Home, rendered fresh each time it is opened."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.flows.model import Actor, ActorRole
from bot.handlers.access import tenant_of_user
from bot.handlers.inbox import settles
from bot.i18n import Lang
from bot.services import Services
from bot.views.cloudkey import home_key_blocks
from bot.views.home import customer_home, se_home
from bot.views.kit import Block
from bot.views.summary import manager_home


async def build_home(services: Services, actor: Actor) -> dict[str, Any]:
    store = services.store
    lang = await services.locales.lang_of(actor.user_id, services.settings.ops_lang)
    now = services.clock()
    if actor.role is ActorRole.MANAGER:
        reporting = services.reporting
        summary = await reporting.summary()
        chart = await reporting.home_chart(summary, lang)
        return manager_home(summary, services.catalog, lang, services.policy, chart)
    if actor.role is ActorRole.SE:
        records = await store.get_many(await store.all_tenant_ids(), skip_corrupt=True)
        mine = [r for r in records.values() if r.se_user in (None, actor.user_id)]
        return se_home(mine, services.catalog, lang, now, services.policy)
    record = await tenant_of_user(store, services.memberships, actor.user_id)
    lang = await services.locales.lang_of(actor.user_id, record.lang if record else Lang.ZH)
    extra: list[Block] = []
    if record is not None and services.vault.enabled:
        given = await services.vault.info(record.tenant_id)
        extra = home_key_blocks(services.catalog, lang, record.tenant_id, given)
    return customer_home(record, services.catalog, lang, extra)


async def on_home_opened(
    event: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
) -> None:
    if event.get("tab") not in (None, "home"):
        return
    services: Services = context["services"]
    actor: Actor = context["actor"]
    await client.views_publish(user_id=actor.user_id, view=await build_home(services, actor))


def register(app: AsyncApp) -> None:
    app.event("app_home_opened")(settles(on_home_opened))
