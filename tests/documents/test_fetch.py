"""`inspect_file` against the fake Slack: what is downloaded, from where, with which token, and
that nothing of a document's bytes survives except its hash."""

from __future__ import annotations

import hashlib
import logging
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from slack_sdk.web.async_client import AsyncWebClient

import bot.documents
from bot.documents import FileFormat, InspectedFile, RejectReason, UploadRejected, inspect_file
from bot.i18n import Lang, load_catalog
from tests.documents import samples
from tests.documents.conftest import CHANNEL, CUSTOMER, PARTNER, FileServer
from tests.fakeslack.driver import file_stub
from tests.fakeslack.server import FakeSlack

MB = 1024 * 1024
_PACKAGE_DIR = str(Path(bot.documents.__file__).resolve().parent)


@pytest.fixture(autouse=True)
def _capture_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)


async def inspect(
    session: aiohttp.ClientSession,
    fake: FakeSlack,
    file: Mapping[str, Any],
    *,
    token: str | None = None,
    hosts: frozenset[str] | None = None,
    max_bytes: int = 20 * MB,
    slack: AsyncWebClient | None = None,
) -> InspectedFile:
    return await inspect_file(
        session,
        file,
        bot_token=fake.bot_token if token is None else token,
        allowed_hosts=frozenset({fake.file_host}) if hosts is None else hosts,
        max_bytes=max_bytes,
        slack=slack,
    )


async def refused(*args: Any, **kwargs: Any) -> UploadRejected:
    with pytest.raises(UploadRejected) as caught:
        await inspect(*args, **kwargs)
    render_both(caught.value)  # every refusal has a message the customer can read
    return caught.value


def assert_no_bytes_leaked(caplog: pytest.LogCaptureFixture, *things: object) -> None:
    """MARKER sits inside every sample file: it must not be in results, errors or logs."""
    marker = samples.MARKER.decode()
    for thing in things:
        assert marker not in repr(thing)
        if isinstance(thing, UploadRejected):
            assert marker not in str(thing)
            assert marker not in repr(thing.params) + repr(thing.labels) + thing.detail
            # Error reporters read the locals of every frame in a traceback: none of ours is
            # left there, and no chained exception keeps the HTTP response alive.
            ours = [
                frame
                for frame, _ in traceback.walk_tb(thing.__traceback__)
                if frame.f_code.co_filename.startswith(_PACKAGE_DIR)
            ]
            assert [frame.f_code.co_name for frame in ours] == ["inspect_file"]
            for frame in ours:
                for value in frame.f_locals.values():
                    if isinstance(value, bytes | bytearray):
                        assert samples.MARKER not in value
            assert thing.__context__ is None
            assert thing.__cause__ is None
    assert marker not in caplog.text
    for record in caplog.records:
        assert marker not in repr(record.args)


def render_both(rejected: UploadRejected) -> dict[Lang, str]:
    catalog = load_catalog()
    return {lang: rejected.message.render(catalog, lang) for lang in Lang}


# -- accepted files --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "name", "declared", "detected"),
    [
        (samples.pdf(), "营业执照-盖章.pdf", "application/pdf", "application/pdf"),
        (samples.jpeg(), "Legal_Rep_ID.jpg", "image/jpeg", "image/jpeg"),
        (samples.png(), "手持身份证.png", "image/png", "image/png"),
        # The type comes from the bytes only: a PNG named .jpg is a PNG; a scan without an
        # extension declared as octet-stream is still a PDF.
        (samples.png(), "photo.jpg", "image/jpeg", "image/png"),
        (samples.pdf(), "scan", "application/octet-stream", "application/pdf"),
    ],
)
async def test_a_document_is_described_by_its_real_type_size_and_hash(
    fake: FakeSlack,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
    content: bytes,
    name: str,
    declared: str,
    detected: str,
) -> None:
    file = fake.add_file(content, name, declared, uploader=CUSTOMER, channel=CHANNEL)

    inspected = await inspect(session, fake, file)

    assert inspected == InspectedFile(
        file_id=file["id"],
        name=name,
        mimetype=detected,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        uploader=CUSTOMER,  # who shared it, from the file's `user`
    )
    [download] = fake.downloads
    assert download.token_ok and download.http_status == 200
    assert_no_bytes_leaked(caplog, inspected)


async def test_a_file_bigger_than_one_read_is_hashed_whole(
    fake: FakeSlack, session: aiohttp.ClientSession
) -> None:
    content = samples.pdf(padding=300_000)
    file = fake.add_file(content, "licence.pdf", uploader=CUSTOMER, channel=CHANNEL)

    inspected = await inspect(session, fake, file)

    assert inspected.sha256 == hashlib.sha256(content).hexdigest()
    assert inspected.size == len(content)


async def test_a_slack_connect_stub_is_resolved_through_files_info(
    fake: FakeSlack,
    session: aiohttp.ClientSession,
    slack: AsyncWebClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    content = samples.jpeg()
    stored = fake.add_file(content, "holding-id.jpg", uploader=PARTNER, channel=CHANNEL)
    stub = file_stub(stored["id"], user_id=PARTNER)
    assert "url_private_download" not in stub

    inspected = await inspect(session, fake, stub, slack=slack)

    assert fake.last("files.info").args["file"] == stored["id"]
    assert inspected.name == "holding-id.jpg"
    assert inspected.mimetype == "image/jpeg"
    assert inspected.sha256 == hashlib.sha256(content).hexdigest()
    assert len(fake.downloads) == 1
    assert_no_bytes_leaked(caplog, inspected)


async def test_a_file_shared_event_id_alone_is_resolved_through_files_info(
    fake: FakeSlack, session: aiohttp.ClientSession, slack: AsyncWebClient
) -> None:
    stored = fake.add_file(samples.pdf(), "承诺书.pdf", uploader=CUSTOMER, channel=CHANNEL)

    inspected = await inspect(session, fake, {"id": stored["id"]}, slack=slack)

    assert inspected.file_id == stored["id"]
    assert len(fake.calls("files.info")) == 1


async def test_a_same_host_redirect_is_followed(
    files: FileServer, session: aiohttp.ClientSession, fake: FakeSlack
) -> None:
    file = {
        "id": "F0REDIRECT1",
        "name": "licence.pdf",
        "url_private": files.url("/redirect?to=/file.pdf"),
    }

    inspected = await inspect(session, fake, file)

    assert inspected.mimetype == "application/pdf"
    assert [seen.path for seen in files.seen] == ["/redirect", "/file.pdf"]
    assert all(seen.authorization == f"Bearer {fake.bot_token}" for seen in files.seen)


# -- refused before any byte is fetched ------------------------------------------------------


async def test_a_declared_size_over_the_limit_is_refused_without_downloading(
    fake: FakeSlack, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    file = fake.add_file(samples.pdf(padding=4096), "big.pdf", uploader=CUSTOMER)

    rejected = await refused(session, fake, file, max_bytes=2048)

    assert rejected.reason is RejectReason.TOO_LARGE
    assert rejected.params["limit"] == "2 KB"
    assert fake.downloads == []
    assert "2 KB" in render_both(rejected)[Lang.EN]
    assert_no_bytes_leaked(caplog, rejected)


@pytest.mark.parametrize(
    ("url", "hosts"),
    [
        # The fake's own file, but the settings allow only Slack's hosts.
        (None, frozenset({"files.slack.com"})),
        ("https://files.evil.example/files-pri/T1-F1/licence.pdf", frozenset({"files.slack.com"})),
        # A Slack host, but not over https.
        ("http://files.slack.com/files-pri/T1-F1/licence.pdf", frozenset({"files.slack.com"})),
        # Credentials in the URL would be sent along with the token.
        (
            "https://user:pw@files.slack.com/files-pri/T1-F1/licence.pdf",
            frozenset({"files.slack.com"}),
        ),
        ("ftp://files.slack.com/licence.pdf", frozenset({"files.slack.com"})),
        ("/files/F1/licence.pdf", frozenset({"files.slack.com"})),
    ],
)
async def test_the_token_is_never_sent_to_a_host_that_is_not_allowed(
    fake: FakeSlack,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
    url: str | None,
    hosts: frozenset[str],
) -> None:
    file = dict(fake.add_file(samples.pdf(), "licence.pdf", uploader=CUSTOMER))
    if url is not None:
        file["url_private_download"] = file["url_private"] = url

    rejected = await refused(session, fake, file, hosts=hosts)

    assert rejected.reason is RejectReason.NOT_ALLOWED_HOST
    assert fake.downloads == []
    assert fake.bot_token not in caplog.text + repr(rejected) + rejected.detail
    assert_no_bytes_leaked(caplog, rejected)


async def test_a_redirect_to_another_host_is_not_followed(
    files: FileServer, session: aiohttp.ClientSession, fake: FakeSlack
) -> None:
    away = files.url("/file.pdf", host="localhost")
    file = {
        "id": "F0REDIRECT2",
        "name": "licence.pdf",
        "url_private": files.url(f"/redirect?to={away}"),
    }

    rejected = await refused(session, fake, file, hosts=frozenset({"127.0.0.1"}))

    assert rejected.reason is RejectReason.NOT_ALLOWED_HOST
    assert [seen.path for seen in files.seen] == ["/redirect"]


async def test_endless_redirects_give_up(
    files: FileServer, session: aiohttp.ClientSession, fake: FakeSlack
) -> None:
    file = {"id": "F0LOOP00001", "name": "licence.pdf", "url_private": files.url("/loop")}

    rejected = await refused(session, fake, file)

    assert rejected.reason is RejectReason.DOWNLOAD_FAILED
    assert len(files.seen) == 4  # the first request and three redirects


# -- refused while or after downloading -------------------------------------------------------


async def test_a_wrong_token_gets_the_sign_in_page_which_is_not_a_document(
    fake: FakeSlack, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    file = fake.add_file(samples.pdf(), "营业执照.pdf", uploader=CUSTOMER, channel=CHANNEL)

    rejected = await refused(session, fake, file, token="xoxb-revoked-token")

    assert rejected.reason is RejectReason.DOWNLOAD_FAILED
    [download] = fake.downloads
    assert not download.token_ok and download.http_status == 200
    assert "xoxb-revoked-token" not in caplog.text + repr(rejected)
    assert "营业执照.pdf" in render_both(rejected)[Lang.ZH]


async def test_an_html_content_type_is_not_a_document_whatever_the_body(
    files: FileServer, session: aiohttp.ClientSession, fake: FakeSlack
) -> None:
    file = {"id": "F0SIGNIN001", "name": "licence.pdf", "url_private": files.url("/signin.pdf")}

    rejected = await refused(session, fake, file)

    assert rejected.reason is RejectReason.DOWNLOAD_FAILED


async def test_html_bytes_under_another_content_type_are_not_a_document(
    fake: FakeSlack, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    file = fake.add_file(samples.html_page(), "licence.pdf", "application/pdf", uploader=CUSTOMER)

    rejected = await refused(session, fake, file)

    assert rejected.reason is RejectReason.DOWNLOAD_FAILED
    assert_no_bytes_leaked(caplog, rejected)


async def test_an_uploaded_web_page_is_the_wrong_type(
    fake: FakeSlack, session: aiohttp.ClientSession
) -> None:
    file = fake.add_file(samples.html_page(), "licence.html", uploader=CUSTOMER)

    rejected = await refused(session, fake, file)

    assert rejected.reason is RejectReason.WRONG_TYPE
    assert rejected.labels["actual"] == "uploads.formats.html"


async def test_a_word_file_renamed_pdf_is_refused_as_disguised(
    fake: FakeSlack, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    file = fake.add_file(samples.docx(), "委托授权书.pdf", "application/pdf", uploader=CUSTOMER)

    rejected = await refused(session, fake, file)

    assert rejected.reason is RejectReason.WRONG_TYPE
    assert rejected.key == "uploads.rejected.wrong_type_disguised"
    assert rejected.labels == {
        "claimed": "uploads.formats.pdf",
        "actual": "uploads.formats.office_zip",
    }
    text = render_both(rejected)
    assert "委托授权书.pdf" in text[Lang.ZH] and "PDF" in text[Lang.ZH]
    assert "a PDF" in text[Lang.EN] and "Word" in text[Lang.EN]
    assert_no_bytes_leaked(caplog, rejected)


@pytest.mark.parametrize(
    ("content", "name", "actual"),
    [
        (samples.docx(), "授权书.docx", "uploads.formats.office_zip"),
        (samples.legacy_doc(), "授权书.doc", "uploads.formats.office_legacy"),
        (b"just some text, no scan", "notes.txt", "uploads.formats.unknown"),
    ],
)
async def test_other_types_are_refused_with_what_they_are(
    fake: FakeSlack, session: aiohttp.ClientSession, content: bytes, name: str, actual: str
) -> None:
    file = fake.add_file(content, name, uploader=CUSTOMER)

    rejected = await refused(session, fake, file)

    assert rejected.reason is RejectReason.WRONG_TYPE
    assert rejected.key == "uploads.rejected.wrong_type"
    assert rejected.labels["actual"] == actual
    assert "PDF, JPG or PNG" in render_both(rejected)[Lang.EN]


async def test_an_empty_file_is_refused(fake: FakeSlack, session: aiohttp.ClientSession) -> None:
    file = fake.add_file(b"", "licence.pdf", uploader=CUSTOMER)

    rejected = await refused(session, fake, file)

    assert rejected.reason is RejectReason.EMPTY


async def test_a_content_length_over_the_limit_is_refused_whatever_the_metadata_said(
    fake: FakeSlack, session: aiohttp.ClientSession
) -> None:
    file = dict(fake.add_file(samples.pdf(padding=8192), "licence.pdf", uploader=CUSTOMER))
    file["size"] = 100  # the event's metadata understates the size

    rejected = await refused(session, fake, file, max_bytes=4096)

    assert rejected.reason is RejectReason.TOO_LARGE


async def test_a_body_without_a_length_is_cut_at_the_limit(
    files: FileServer, session: aiohttp.ClientSession, fake: FakeSlack
) -> None:
    file = {"id": "F0CHUNKED01", "name": "licence.pdf", "url_private": files.url("/chunked/512")}

    rejected = await refused(session, fake, file, max_bytes=64 * 1024)

    assert rejected.reason is RejectReason.TOO_LARGE


async def test_a_compressed_answer_is_not_unpacked(
    files: FileServer, session: aiohttp.ClientSession, fake: FakeSlack
) -> None:
    file = {"id": "F0GZIPPED01", "name": "licence.pdf", "url_private": files.url("/gzip.pdf")}

    rejected = await refused(session, fake, file)

    assert rejected.reason is RejectReason.DOWNLOAD_FAILED
    assert files.seen[0].path == "/gzip.pdf"


async def test_an_error_status_is_a_failed_download(
    files: FileServer, session: aiohttp.ClientSession, fake: FakeSlack
) -> None:
    file = {"id": "F0MISSING01", "name": "licence.pdf", "url_private": files.url("/missing.pdf")}

    rejected = await refused(session, fake, file)

    assert rejected.reason is RejectReason.DOWNLOAD_FAILED
    assert "HTTP 404" in rejected.detail


async def test_an_unreachable_host_is_a_failed_download(
    fake: FakeSlack, session: aiohttp.ClientSession
) -> None:
    file = dict(fake.add_file(samples.pdf(), "licence.pdf", uploader=CUSTOMER))
    await fake.stop()  # nothing listens on its port any more

    rejected = await refused(session, fake, file)

    assert rejected.reason is RejectReason.DOWNLOAD_FAILED


# -- files.info ------------------------------------------------------------------------------


async def test_a_stub_without_a_client_cannot_be_fetched(
    fake: FakeSlack, session: aiohttp.ClientSession
) -> None:
    stored = fake.add_file(samples.pdf(), "licence.pdf", uploader=PARTNER)

    rejected = await refused(session, fake, file_stub(stored["id"], user_id=PARTNER))

    assert rejected.reason is RejectReason.DOWNLOAD_FAILED
    assert fake.downloads == []
    assert rejected.params["name"] == stored["id"]  # the stub has no name to show


async def test_files_info_failing_is_a_failed_download(
    fake: FakeSlack, session: aiohttp.ClientSession, slack: AsyncWebClient
) -> None:
    stub = file_stub("F0NOTTHERE1", user_id=PARTNER)

    rejected = await refused(session, fake, stub, slack=slack)

    assert rejected.reason is RejectReason.DOWNLOAD_FAILED
    assert "file_not_found" in rejected.detail
    assert fake.downloads == []


async def test_a_resolved_stub_over_the_limit_is_not_downloaded(
    fake: FakeSlack, session: aiohttp.ClientSession, slack: AsyncWebClient
) -> None:
    stored = fake.add_file(samples.pdf(padding=4096), "licence.pdf", uploader=PARTNER)

    rejected = await refused(
        session, fake, file_stub(stored["id"], user_id=PARTNER), slack=slack, max_bytes=1024
    )

    assert rejected.reason is RejectReason.TOO_LARGE
    assert rejected.params["name"] == "licence.pdf"
    assert fake.downloads == []


async def test_a_name_is_escaped_for_slack_markup(
    fake: FakeSlack, session: aiohttp.ClientSession
) -> None:
    file = fake.add_file(b"", "<!channel> & co.pdf", uploader=CUSTOMER)

    rejected = await refused(session, fake, file)

    from bot.i18n import Lang, load_catalog
    from bot.views.text import render

    shown = render(rejected.message, load_catalog(), Lang.EN)
    assert "&lt;!channel&gt; &amp; co.pdf" in shown
    assert "<!channel>" not in shown


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (samples.png_bomb(), "营业执照.png"),
        (samples.png_bomb(20_000, 5_000), "licence.png"),
        (samples.jpeg_declaring(60_000, 60_000), "身份证.jpg"),
        (samples.jpeg_declaring(12_000, 9_000), "id-card.jpg"),
    ],
)
async def test_an_image_declaring_more_pixels_than_any_scan_is_refused(
    fake: FakeSlack,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
    content: bytes,
    name: str,
) -> None:
    """A decompression bomb: a small file whose header declares billions of pixels."""
    file = fake.add_file(content, name, uploader=CUSTOMER)

    rejected = await refused(session, fake, file)

    assert rejected.reason is RejectReason.IMAGE_TOO_LARGE
    assert name in render_both(rejected)[Lang.EN]
    assert_no_bytes_leaked(caplog, rejected)


async def test_an_a4_scan_at_300_dpi_is_not_a_bomb(
    fake: FakeSlack, session: aiohttp.ClientSession
) -> None:
    file = fake.add_file(samples.jpeg_declaring(2480, 3508), "licence.jpg", uploader=CUSTOMER)

    inspected = await inspect(session, fake, file)

    assert inspected.mimetype == "image/jpeg"


async def test_the_pre_check_sees_the_whole_file_once_and_only_its_findings_are_kept(
    fake: FakeSlack, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    content = samples.pdf(padding=300_000)  # several reads
    file = fake.add_file(content, "licence.pdf", uploader=CUSTOMER, channel=CHANNEL)
    seen: list[tuple[str, FileFormat]] = []

    async def examine(data: bytes, fmt: FileFormat) -> tuple[str, ...]:
        seen.append((hashlib.sha256(data).hexdigest(), fmt))
        return ("pdf_empty",)

    inspected = await inspect_file(
        session,
        file,
        bot_token=fake.bot_token,
        allowed_hosts=frozenset({fake.file_host}),
        max_bytes=20 * MB,
        examine=examine,
    )

    assert seen == [(hashlib.sha256(content).hexdigest(), FileFormat.PDF)]
    assert inspected.findings == ("pdf_empty",)
    assert_no_bytes_leaked(caplog, inspected)


async def test_a_refused_file_is_never_examined(
    fake: FakeSlack, session: aiohttp.ClientSession
) -> None:
    file = fake.add_file(samples.docx(), "form.pdf", uploader=CUSTOMER, channel=CHANNEL)

    async def examine(data: bytes, fmt: FileFormat) -> tuple[str, ...]:
        raise AssertionError("a refused file was examined")

    with pytest.raises(UploadRejected):
        await inspect_file(
            session,
            file,
            bot_token=fake.bot_token,
            allowed_hosts=frozenset({fake.file_host}),
            max_bytes=20 * MB,
            examine=examine,
        )
