"""Qualification documents sent as files: recognised, fetched, checked, confirmed in the thread."""

from __future__ import annotations

import asyncio

from bot.state.keys import Keys
from tests.e2e.conftest import CHANNEL, CUSTOMER_EN, CUSTOMER_ZH, OPS_CHANNEL, SE, stored_values
from tests.e2e.conversation import (
    checklists,
    has_button,
    prompt_posts,
    serve,
    thread_replies,
    updates_of,
    wait_refusal,
)
from tests.e2e.journey import DOCX, JPEG, PDF, PNG, Journey, buttons, message_text, texts
from tests.fakeslack.driver import SlackDriver, file_stub
from tests.fakeslack.server import FakeSlack, Message

STRANGER = "U0STRANGER1"  # in the workspace, not in the tenant's channel


def journey(slack: SlackDriver, fake: FakeSlack, customer: str = CUSTOMER_EN) -> Journey:
    return Journey(slack, fake, CHANNEL, customer, SE, OPS_CHANNEL)


async def at_documents(j: Journey, role: str) -> Message:
    await j.start("Acme Technology")
    await j.through_instance()
    return await j.choose_role(role)


def tagged(kind: bytes, tag: str) -> bytes:
    """Distinct bytes of a real type (the bot refuses the same bytes twice)."""
    return kind + f"-{tag}-".encode() * 2


async def test_documents_are_recognised_from_the_message_or_the_name_in_both_languages(
    slack: SlackDriver, fake: FakeSlack, keys: Keys
) -> None:
    j = journey(slack, fake)
    await at_documents(j, "agent")
    [checklist] = checklists(fake, CHANNEL)
    prompts_before = len(prompt_posts(fake, CHANNEL))

    cases = [
        # (file name, bytes, message text, the document the bot must call it)
        ("scan001.pdf", tagged(PDF, "licence"), "这是营业执照", "Business licence scan"),
        ("IMG_2024.jpg", tagged(JPEG, "agent-id"), "agent ID card", "Agent's ID card"),
        ("电话受理单.png", tagged(PNG, "form"), "", "Telephone service acceptance form"),
        ("LetterOfAuthorization.pdf", tagged(PDF, "auth"), "", "Letter of authorisation"),
    ]
    for count, (name, content, text, document) in enumerate(cases, start=1):
        ts = await j.upload(name, content, text)
        reply = await j.thread_reply(ts)
        assert f"Received *{document}" in message_text(reply), message_text(reply)
        assert f"Documents still needed: {7 - count}." in message_text(reply)
        await fake.wait_for(
            "chat.update",
            where=lambda c, n=7 - count: (
                c.args.get("ts") == checklist.ts
                and f"{n} qualification document(s) still to upload" in texts(checklist.blocks)
            ),
        )
    # Fetched from Slack's file host with the bot token, once each; no new prompt yet.
    assert len(fake.downloads) == 4 and all(t.token_ok for t in fake.downloads)
    assert len(prompt_posts(fake, CHANNEL)) == prompts_before
    # The bytes are not kept, only what describes them.
    stored = b"\n".join((await stored_values(keys)).values())
    assert b"-licence-" not in stored and b"-auth-" not in stored
    assert b"LetterOfAuthorization.pdf" in stored

    missing = await j.command("status", user=CUSTOMER_EN)
    assert "3 qualification document(s) still to upload" in texts(missing.json()["blocks"])


async def test_a_file_the_bot_cannot_place_is_asked_about_with_a_menu(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    j = journey(slack, fake, customer=CUSTOMER_ZH)
    await at_documents(j, "agent")
    [checklist] = checklists(fake, CHANNEL)
    updates = len(updates_of(fake, checklist))

    # "ID card" could be the legal representative's or the agent's; the name says nothing.
    ts = await j.upload("IMG_0001.jpg", tagged(JPEG, "which"), "身份证")
    question = await j.thread_reply(ts, "Which document is *IMG_0001.jpg*?")
    [menu] = [b for b in buttons(question) if b.get("type") == "static_select"]
    assert [o["text"]["text"] for o in menu["options"]] == [
        "Business licence scan",
        "Legal representative's ID card, both sides",
        "Agent's ID card, both sides",
        "Photo of the agent holding the ID card",
        "Telephone service acceptance form (电话受理单)",
        "Telecom network access commitment letter (电信入网承诺书)",
        "Letter of authorisation (委托授权书)",
    ]
    assert len(updates_of(fake, checklist)) == updates  # nothing taken yet

    await j.pick(question, "Agent's ID card")
    taken = await j.thread_reply(ts, "Received *Agent's ID card, both sides*")
    assert "Documents still needed: 6." in message_text(taken)
    await fake.wait_for(
        "chat.update",
        where=lambda c: (
            c.args.get("ts") == checklist.ts
            and "6 qualification document(s) still to upload" in texts(checklist.blocks)
        ),
    )


async def test_a_file_filed_from_the_menu_is_recorded_as_its_uploaders_not_the_pickers(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    j = journey(slack, fake)
    await at_documents(j, "legal_rep")
    # One colleague shares a file the bot cannot place; another files it from the menu.
    ts = await j.upload("IMG_0004.jpg", tagged(JPEG, "picked"), "", user=CUSTOMER_ZH)
    question = await j.thread_reply(ts, "Which document")
    await j.pick(question, "Business licence scan", user=CUSTOMER_EN)
    await j.thread_reply(ts, "Business licence scan")
    for name, words in [
        ("b.pdf", "legal representative ID card"),
        ("c.jpg", "legal representative holding the ID card"),
        ("d.pdf", "phone acceptance form"),
        ("e.pdf", "network access commitment letter"),
    ]:
        content = tagged(JPEG if name.endswith(".jpg") else PDF, name)
        await j.thread_reply(await j.upload(name, content, words), "Received")
    prompt = await j.wait_prompt("qualification.collecting", having="submit_documents")
    await j.click(prompt, "Submit for review")

    # The reviewer (the ops channel reads Chinese) sees who sent each file: the licence is
    # the first colleague's.
    card = await j.review_card()
    shown = texts(card.blocks)
    licence = shown[shown.index("IMG_0004.jpg") :].split("\n")[0]
    assert f"上传人 <@{CUSTOMER_ZH}>" in licence, licence
    assert f"<@{CUSTOMER_EN}>" not in licence
    others = shown[shown.index("b.pdf") :].split("\n")[0]
    assert f"上传人 <@{CUSTOMER_EN}>" in others, others


async def test_the_same_file_sent_twice_at_once_is_taken_once_and_the_other_called_a_duplicate(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    j = journey(slack, fake)
    await at_documents(j, "legal_rep")
    licence = tagged(PDF, "twice")
    # Slow downloads keep both uploads in flight together: each reads the record before
    # either is written, so only the write itself can tell the second is the same file.
    fake.set_latency(FakeSlack.DOWNLOAD, 0.3)

    sent = await asyncio.gather(
        j.upload("licence.pdf", licence, "business licence"),
        j.upload("licence-copy.pdf", licence, "business licence", user=CUSTOMER_ZH),
    )

    replies = [message_text(await j.thread_reply(ts)) for ts in sent]
    taken = [r for r in replies if "Received *Business licence scan*" in r]
    duplicate = [r for r in replies if "I already have this exact file as *Business licence" in r]
    assert len(taken) == 1 and len(duplicate) == 1, replies
    assert len(fake.downloads) == 2
    status = await j.command("status", user=CUSTOMER_EN)
    assert "4 qualification document(s) still to upload" in texts(status.json()["blocks"])


async def test_a_pick_by_someone_outside_the_channel_is_refused_only_to_them(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    fake.add_user(STRANGER, "stranger", locale="en-US")
    j = journey(slack, fake)
    await at_documents(j, "agent")
    [checklist] = checklists(fake, CHANNEL)
    ts = await j.upload("IMG_0002.jpg", tagged(JPEG, "stranger"), "")
    question = await j.thread_reply(ts, "Which document is")
    updates, in_thread = len(updates_of(fake, checklist)), len(thread_replies(fake, ts))

    click = await j.pick(question, "Business licence scan", user=STRANGER)

    await wait_refusal(fake, click, "is not an onboarding you take part in")
    assert len(thread_replies(fake, ts)) == in_thread  # nothing said in public
    assert len(updates_of(fake, checklist)) == updates
    status = await j.command("status", user=CUSTOMER_EN)
    assert "7 qualification document(s) still to upload" in texts(status.json()["blocks"])


async def test_refused_files_say_what_to_do_instead_and_record_nothing(
    fake: FakeSlack, keys: Keys
) -> None:
    async with serve(fake, keys, max_upload_bytes=1024) as slack:
        j = journey(slack, fake)
        await at_documents(j, "legal_rep")
        licence = tagged(PDF, "licence")
        ts = await j.upload("licence.pdf", licence, "business licence")
        await j.thread_reply(ts, "Received *Business licence scan*")
        [checklist] = checklists(fake, CHANNEL)
        await fake.wait_for(
            "chat.update",
            where=lambda c: (
                c.args.get("ts") == checklist.ts
                and "4 qualification document(s) still to upload" in texts(checklist.blocks)
            ),
        )
        updates = len(updates_of(fake, checklist))

        refused = [
            # (file name, bytes, message text, what the reply must say)
            (
                "commitment.docx",
                DOCX,
                "commitment letter",
                "*commitment.docx* is a Word or Excel document (or a ZIP archive), which cannot",
            ),
            (
                "form.pdf",
                DOCX,
                "phone acceptance form",
                "*form.pdf* is named like a PDF, but the file is really",
            ),
            (
                "big-scan.pdf",
                PDF + b"0" * 2048,
                "legal representative ID card",
                "*big-scan.pdf* is larger than the 1 KB limit",
            ),
            (
                "copy.pdf",
                licence,
                "legal representative ID card",
                "identical to the one already received as *Business licence scan*",
            ),
            (
                "licence-again.pdf",
                licence,
                "business licence",
                "I already have this exact file as *Business licence scan*",
            ),
            (
                "auth.pdf",
                tagged(PDF, "auth"),
                "letter of authorisation",
                "*Letter of authorisation (委托授权书)* is not needed for this application",
            ),
        ]
        replies: dict[str, str] = {}
        for name, content, text, said in refused:
            ts = await j.upload(name, content, text)
            replies[name] = message_text(await j.thread_reply(ts))
            assert said in replies[name], (name, replies[name])
            assert "Received" not in replies[name]
        # What to do instead.
        for name in ("commitment.docx", "form.pdf"):
            assert "PDF, JPG or PNG scan" in replies[name]
        assert "Please upload a smaller scan" in replies["big-scan.pdf"]
        assert "upload the right file for *Legal representative's ID card" in replies["copy.pdf"]
        assert "Please upload only the documents on the checklist" in replies["auth.pdf"]
        # Nothing was recorded: the checklist still counts four missing documents.
        assert len(updates_of(fake, checklist)) == updates
        status = await j.command("status", user=CUSTOMER_EN)
        assert "4 qualification document(s) still to upload" in texts(status.json()["blocks"])
        # The oversized file was not read past the limit.
        assert all(t.size == 0 for t in fake.downloads if t.name == "big-scan.pdf")


async def test_a_file_sent_in_a_direct_message_counts_for_the_senders_tenant(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    j = journey(slack, fake)
    await at_documents(j, "legal_rep")
    [checklist] = checklists(fake, CHANNEL)
    im = fake.open_im(CUSTOMER_EN).id

    ts = await j.upload("营业执照.pdf", tagged(PDF, "dm"), "", channel=im)

    reply = await j.thread_reply(ts, "Received *Business licence scan*")
    assert reply.channel == im
    await fake.wait_for(
        "chat.update",
        where=lambda c: (
            c.args.get("ts") == checklist.ts
            and "4 qualification document(s) still to upload" in texts(checklist.blocks)
        ),
    )


async def test_a_slack_connect_file_stub_is_looked_up_and_fetched_with_the_bot_token(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    j = journey(slack, fake)
    await at_documents(j, "legal_rep")
    file = fake.add_file(tagged(PNG, "stub"), "holding.png", uploader=CUSTOMER_EN, channel=CHANNEL)
    reply = await slack.message(
        "legal representative holding the ID card",
        user_id=CUSTOMER_EN,
        channel_id=CHANNEL,
        files=[file_stub(file["id"], user_id=CUSTOMER_EN)],
    )
    assert reply.payload is not None
    ts = str(reply.payload["event"]["ts"])
    await j.thread_reply(ts, "Received *Photo of the legal representative holding the ID card*")
    assert any(c.args.get("file") == file["id"] for c in fake.calls("files.info"))
    [download] = fake.downloads
    assert download.token_ok


async def test_files_before_documents_are_due_are_not_taken(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    j = journey(slack, fake)
    await j.start("Acme Technology")
    ts = await j.upload("licence.pdf", tagged(PDF, "early"), "business licence")
    reply = await j.thread_reply(ts)
    assert "No documents are needed right now" in message_text(reply)

    await j.through_instance()
    ts = await j.upload("licence.pdf", tagged(PDF, "early2"), "business licence")
    reply = await j.thread_reply(ts)
    assert "please choose who is applying" in message_text(reply)
    assert "I have not saved the file" in message_text(reply)
    status = await j.command("status", user=CUSTOMER_EN)
    assert "*Next:* Choose who applies" in texts(status.json()["blocks"])


async def test_the_last_document_brings_the_submit_for_review_button(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    j = journey(slack, fake, customer=CUSTOMER_ZH)
    first = await at_documents(j, "legal_rep")
    assert not has_button(first, "submit_documents")
    for name, words in [
        ("a.pdf", "营业执照"),
        ("b.pdf", "法定代表人身份证"),
        ("c.jpg", "法人手持身份证"),
        ("d.pdf", "电话受理单"),
    ]:
        content = tagged(JPEG if name.endswith(".jpg") else PDF, name)
        await j.thread_reply(await j.upload(name, content, words), "Received")
    ts = await j.upload("e.pdf", tagged(PDF, "e"), "入网承诺书")
    await j.thread_reply(ts, "That was the last one")
    prompt = await j.wait_prompt("qualification.collecting", having="submit_documents")
    assert "All documents are here" in message_text(prompt)
    assert buttons(prompt)[0]["text"]["text"] == "Submit for review"


async def test_several_files_in_one_message_are_each_recognised_by_name(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    j = journey(slack, fake)
    await at_documents(j, "legal_rep")
    files = [
        fake.add_file(tagged(PDF, "one"), "营业执照.pdf", uploader=CUSTOMER_EN, channel=CHANNEL),
        fake.add_file(tagged(PNG, "two"), "承诺书.png", uploader=CUSTOMER_EN, channel=CHANNEL),
    ]
    reply = await slack.message(
        "here are two of them", user_id=CUSTOMER_EN, channel_id=CHANNEL, files=files
    )
    assert reply.payload is not None
    ts = str(reply.payload["event"]["ts"])
    await j.thread_reply(ts, "Received *Business licence scan*")
    await j.thread_reply(ts, "Received *Telecom network access commitment letter")
    status = await j.command("status", user=CUSTOMER_EN)
    assert "3 qualification document(s) still to upload" in texts(status.json()["blocks"])


async def click_ephemeral(slack: SlackDriver, message: Message, button: dict[str, str]) -> None:
    """Click a button of a message only the customer sees (Slack sends no copy of it back)."""
    reply = await slack.block_action(
        button["action_id"],
        button["value"],
        user_id=CUSTOMER_EN,
        channel_id=message.channel,
        message_ts=message.ts,
        ephemeral=True,
    )
    assert reply.status == 200


AGENT_UPLOADS = (
    # Six of the agent's seven documents (the letter of authorisation is still to come).
    ("licence.pdf", "business licence"),
    ("legal-id.pdf", "legal representative ID card"),
    ("agent-id.pdf", "agent ID card"),
    ("agent-holding.jpg", "agent holding the ID card"),
    ("acceptance.pdf", "phone acceptance form"),
    ("commitment.pdf", "network access commitment letter"),
)


async def test_switching_applicant_asks_before_removing_documents_and_keeps_shared_ones(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    j = journey(slack, fake)
    await at_documents(j, "agent")
    for name, words in AGENT_UPLOADS:
        content = tagged(JPEG if name.endswith(".jpg") else PDF, name)
        await j.thread_reply(await j.upload(name, content, words), "Received")
    prompt = await j.wait_prompt("qualification.collecting")
    posts = len(prompt_posts(fake, CHANNEL))

    # Switching to the legal representative would remove the agent's two ID documents: asked
    # first, of the clicker only, and nothing changes yet.
    switch = lambda b: '"role":"legal_rep"' in str(b.get("value"))  # noqa: E731
    await j.click(prompt, switch)
    question = await j.wait_ephemeral(CUSTOMER_EN, "switching removes them")
    shown = message_text(question)
    assert "Agent's ID card" in shown and "Photo of the agent holding the ID card" in shown
    assert "Business licence scan" in shown  # kept: both applicants need it
    assert [b["text"]["text"] for b in buttons(question)] == [
        "Switch and remove 2 document(s)",
        "Keep: Authorised agent (acting for the legal representative)",
    ]
    assert len(prompt_posts(fake, CHANNEL)) == posts

    # "Keep" closes the question; everything stays.
    keep = next(b for b in buttons(question) if b["action_id"].startswith("reply.dismiss"))
    await click_ephemeral(slack, question, keep)
    closed = await fake.wait_for("response_url", where=lambda c: "Nothing changed" in str(c.args))
    assert closed and len(prompt_posts(fake, CHANNEL)) == posts
    status = await j.command("status")
    assert "1 qualification document(s) still to upload" in texts(status.json()["blocks"])

    # Confirmed: the role changes, the four shared documents stay, the two ID documents go.
    await j.click(prompt, switch)
    question = await j.wait_ephemeral(CUSTOMER_EN, "switching removes them")
    await click_ephemeral(slack, question, buttons(question)[0])
    legal = await j.wait_prompt("qualification.collecting", having='"role":"agent"')
    shown = message_text(legal)
    assert "Applicant: *Legal representative*" in shown
    received = shown.split("Documents received:")[1]
    for kept in ("Business licence scan", "Legal representative's ID card", "acceptance form"):
        assert kept in received
    assert "Agent's ID card" not in shown
    await fake.wait_for("response_url", where=lambda c: "applicant is switched" in str(c.args))
