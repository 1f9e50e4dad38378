"""`python -m bot shell` walks a tenant from step 1 to live, as someone at the terminal would.

The test types lines into the real process and reads what it prints: a number clicks the
button shown with that number, forms are filled one field per line, files are uploaded from
disk. Both applicant roles, both languages, and all three number paths are covered.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.documents.scans import text_pdf

ROOT = Path(__file__).resolve().parents[2]
PROMPT = re.compile(r"(?:^|\n)(customer|se|manager)> $")
BUTTON = re.compile(r"^\s*\[(\d+)\] (.*)$", re.MULTILINE)
PDF = text_pdf("Qualification document")  # one the pre-check finds nothing wrong with


@dataclass
class ShellSession:
    proc: asyncio.subprocess.Process
    transcript: str = ""
    since: int = 0  # where the output of the last line typed starts
    sent: list[str] = field(default_factory=list)

    async def read_until_prompt(self) -> str:
        assert self.proc.stdout is not None
        start = len(self.transcript)
        while not PROMPT.search(self.transcript[start:]) or not self.transcript.endswith("> "):
            chunk = await asyncio.wait_for(self.proc.stdout.read(65536), timeout=20)
            if not chunk:
                raise AssertionError("the shell exited:\n" + self.transcript[-3000:])
            self.transcript += chunk.decode()
        return self.transcript[start:]

    async def type(self, line: str) -> str:
        """Type one line; return what the shell printed in answer."""
        assert self.proc.stdin is not None
        self.sent.append(line)
        self.since = len(self.transcript)
        self.proc.stdin.write(line.encode() + b"\n")
        await self.proc.stdin.drain()
        return await self.read_until_prompt()

    def button(self, label: str) -> str:
        """The number of the most recently shown button whose label contains `label`."""
        matches = [n for n, text in BUTTON.findall(self.transcript) if label in text]
        if not matches:
            raise AssertionError(f"no button {label!r}; last output:\n{self.transcript[-2500:]}")
        return matches[-1]

    async def click(self, label: str) -> str:
        return await self.type(self.button(label))

    async def fill(self, *values: str) -> str:
        out = ""
        for value in values:
            out = await self.type(value)
        return out


@pytest.fixture
async def shell() -> AsyncIterator[ShellSession]:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    env |= {"PYTHONPATH": str(ROOT), "OPS_LANG": "en"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "shell",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env=env,
        cwd=ROOT,
    )
    session = ShellSession(proc)
    try:
        await session.read_until_prompt()
        yield session
    finally:
        if proc.returncode is None:
            assert proc.stdin is not None
            proc.stdin.close()
            try:
                await asyncio.wait_for(proc.wait(), timeout=10)
            except TimeoutError:
                proc.kill()
                await proc.wait()


# What the customer sees, per language: the labels the test clicks and text it expects.
LABELS = {
    "zh": {
        "account": "我已注册腾讯云账号",
        "real_name": "我已完成企业实名认证",
        "instance": "填写实例信息",
        "agent": "经办人",
        "legal_rep": "公司法定代表人",
        "submit": "提交审核",
        "landline": "购买固话号码",
        "toll_free_400": "购买 400 号码",
        "sip_trunk": "对接企业自有号码",
        "confirm_400": "我已了解 400 号码仅支持呼入",
        "script": "提交话术",
        "purchase": "我已完成购买",
        "sip_form": "提交 SIP 对接工单",
        "console": "控制台已配置完成",
        "login": "已成功登录",
        "sdk": "SDK 已集成完成",
        "live": "恭喜",
        "checklist_done": "✅ 8. SDK 集成",
    },
    "en": {
        "account": "I have a Tencent Cloud account",
        "real_name": "Verification is done",
        "instance": "Enter instance details",
        "agent": "Authorised agent",
        "legal_rep": "Legal representative",
        "submit": "Submit for review",
        "landline": "Buy a landline number",
        "toll_free_400": "Buy a 400 number",
        "sip_trunk": "Connect my own number",
        "confirm_400": "I understand a 400 number is inbound only",
        "script": "Submit the call script",
        "purchase": "I have bought the number",
        "sip_form": "Submit the SIP trunk request",
        "console": "Console is set up",
        "login": "Login works",
        "sdk": "SDK is integrated",
        "live": "Congratulations",
        "checklist_done": "✅ 8. SDK integration",
    },
}
DOCUMENTS = {
    "agent": [
        ("licence.pdf", "营业执照"),
        ("legal-rep-id.pdf", "法定代表人身份证"),
        ("agent-id.pdf", "经办人身份证"),
        ("agent-holding.pdf", "经办人手持身份证照"),
        ("acceptance.pdf", "电话受理单"),
        ("commitment.pdf", "入网承诺书"),
        ("authorisation.pdf", "委托授权书"),
    ],
    "legal_rep": [
        ("licence.pdf", "business licence"),
        ("legal-rep-id.pdf", "legal representative ID card"),
        ("holding.pdf", "legal representative holding ID"),
        ("acceptance.pdf", "telephone acceptance form"),
        ("commitment.pdf", "network access commitment"),
    ],
}


async def walk(shell: ShellSession, lang: str, role: str, path: str, files: Path) -> None:
    t = LABELS[lang]
    await shell.type(f":lang {lang}")
    await shell.type(":as se")
    await shell.type(f":lang {lang}")
    out = await shell.type("/onboard start 示例科技 Example Tech")
    assert t["account"] in out
    await shell.type(":as customer")
    await shell.click(t["account"])
    await shell.click(t["real_name"])
    await shell.click(t["instance"])
    out = await shell.fill("示例呼叫中心", "张三", "admin@example.cn", "all")
    assert "tccc.qcloud.com" in out  # where to log in and where the password goes

    await shell.click(t[role])
    for index, (name, words) in enumerate(DOCUMENTS[role]):
        path_on_disk = files / name
        path_on_disk.write_bytes(PDF + f"% {index}\n".encode())
        await shell.type(f":upload {path_on_disk} {words}")
    out = await shell.click(t["submit"])
    assert "C0SHELLOPS" in out  # the review card went to the ops channel

    await shell.type(":as se")
    for _ in DOCUMENTS[role]:
        await shell.click("Approve")
    await shell.type(":as customer")

    await shell.click(t[path])
    if path == "toll_free_400":
        await shell.click(t["confirm_400"])
    if path == "sip_trunk":
        await shell.click(t["sip_form"])
        out = await shell.fill(
            "中国电信", "02088886666", "203.0.113.10:5060", "", "李四", "13800138000"
        )
        assert "139.199.233.98:5089" in out  # the ticket carries TCCC's SIP parameters
        await shell.type(":as se")
        for _ in range(3):
            await shell.click("Move to")
        await shell.click("Move to")
        await shell.fill("02088886666")
        await shell.type(":as customer")
    else:
        await shell.click(t["script"])
        await shell.fill("您好，这里是示例科技客服中心。")
        await shell.type(":as se")
        await shell.click("Approve")
        await shell.type(":as customer")
        await shell.click(t["purchase"])
        await shell.fill("02088886666")

    for step in ("console", "login", "sdk"):
        await shell.click(t[step])
        out = await shell.fill("all")
    assert t["live"] in out
    assert t["checklist_done"] in shell.transcript


@pytest.mark.parametrize(
    ("lang", "role", "path"),
    [
        ("zh", "legal_rep", "landline"),
        ("en", "agent", "sip_trunk"),
        ("zh", "agent", "toll_free_400"),
    ],
)
async def test_shell_walks_a_tenant_from_step_one_to_live(
    shell: ShellSession, tmp_path: Path, lang: str, role: str, path: str
) -> None:
    await walk(shell, lang, role, path, tmp_path)


async def test_shell_refuses_what_the_flow_refuses(shell: ShellSession, tmp_path: Path) -> None:
    await shell.type(":as se")
    await shell.type(":lang en")  # the tenant speaks the starter's language
    await shell.type("/onboard start Acme")
    await shell.type(":as customer")
    await shell.type(":lang en")  # forms and their errors speak the user's own language
    await shell.click("I have a Tencent Cloud account")
    await shell.click("Verification is done")
    await shell.click("Enter instance details")
    out = await shell.fill("Acme", "Han", "not-an-email", "all")
    assert "admin_email:" in out and "valid admin email" in out  # shown on the field
    out = await shell.type("admin@acme.cn")
    assert "Instance details recorded" in out
    # A button of a prompt the onboarding has moved past does nothing but explain.
    out = await shell.type("1")
    assert "out of date" in out
    # A wrong type of file is refused with a reason.
    bogus = tmp_path / "licence.pdf"
    bogus.write_bytes(b"PK\x03\x04" + b"\x00" * 64)
    await shell.click("Legal representative")
    out = await shell.type(f":upload {bogus} business licence")
    assert "PDF" in out and "Received" not in out


async def test_the_first_screen_shows_the_way_in_and_following_it_works(
    shell: ShellSession,
) -> None:
    first = shell.transcript
    # Who you are, in both languages, and how to become the one who can start an onboarding.
    assert "You are the customer (U0CUSTOMER)" in first
    assert "您现在是客户（U0CUSTOMER）" in first
    english = first[first.index("Onboarding bot shell") :]
    steps = re.findall(r"^\s+\d\. (\S.*?)\s{2,}", english, re.MULTILINE)
    assert steps[0] == ":as se" and steps[1].startswith("/onboard start ")
    assert steps[2] == ":as customer"

    await shell.type(steps[0])
    out = await shell.type(steps[1])
    assert "我已注册腾讯云账号" in out  # the first step's prompt: the onboarding runs
    out = await shell.type(steps[2])
    assert "您现在是客户" in out
    out = await shell.click("我已注册腾讯云账号")
    assert "实名认证" in out
