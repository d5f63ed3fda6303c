"""Evidence documents over HTTP: streamed multipart uploads past the JSON body limit, every bad
input refused with a code and nothing left behind, the access rules, and audited downloads that
a browser never runs."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select

from hall.accounts.tables import Department
from hall.audit import AuditEntry
from hall.cases.tables import Case, CaseDocument, CaseEvent
from tests.conftest import ClientFactory
from tests.document_fixtures import HTML, exe, padded_png, pdf, png, sha256, upload, upload_form
from tests.support import Client, registration, valid_id_number
from web import keys
from web.config import Config

MIB = 1024 * 1024
LIMIT = 3 * MIB  # above web.max_body_bytes (1 MiB): aiohttp's client_max_size must not bite


@pytest.fixture
def config(config: Config) -> Config:
    """The shared app (`server`) with a small document limit and cap."""
    return replace(config, documents=replace(config.documents, max_bytes=LIMIT, max_per_case=4))


async def remote_case(terminal: Client, n: int = 1) -> int:
    """A case registered from the terminal's station."""
    body = registration(id_number=valid_id_number(f"41010219800101{n:03d}"))
    created = await terminal.post("/api/visit-requests", body, status=201)
    assert isinstance(created, dict)
    return int(created["case_id"])


async def count(server: TestServer, model: type[object]) -> int:
    async with server.app[keys.DB].reader() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


def stored(config: Config) -> list[str]:
    return sorted(p.name for p in config.documents.directory.iterdir())


async def test_upload_list_and_download_the_same_bytes(
    server: TestServer, client_as: ClientFactory, config: Config
) -> None:
    terminal = await client_as("village-zhangzhuang")
    case_id = await remote_case(terminal)
    photo = png(64, 64) + b"\x00" * (2 * MIB)  # larger than any JSON body may be
    made = await upload(
        terminal,
        case_id,
        upload_form(photo, "C:\\照片\\现场 1.jpg", content_type="image/jpeg", note="院墙裂缝"),
    )
    assert made["media_type"] == "image/png"  # from the content, not the name or the header
    assert made["name"] == "现场 1.jpg"
    assert (made["size_bytes"], made["sha256"]) == (len(photo), sha256(photo))
    assert (made["visibility"], made["note"]) == ("staff", "院墙裂缝")
    [name] = stored(config)  # a random name, not the uploader's
    assert name.endswith(".png") and "现场" not in name

    officer = await client_as("officer-urban")
    listed = await officer.get(f"/api/cases/{case_id}/documents")
    assert isinstance(listed, dict)
    assert [d["id"] for d in listed["documents"]] == [made["id"]]
    assert await count(server, AuditEntry) == 0  # a list is not a read of the file

    resp = await officer.http.get(str(made["url"]))
    assert resp.status == 200
    assert sha256(await resp.read()) == sha256(photo)
    assert resp.headers["Content-Type"] == "image/png"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Content-Security-Policy"].startswith("sandbox")
    disposition = resp.headers["Content-Disposition"]
    assert disposition.startswith(f'attachment; filename="document-{made["id"]}.png"')
    assert "filename*=UTF-8''%E7%8E%B0%E5%9C%BA%201.jpg" in disposition
    inline = await officer.http.get(f"{made['url']}?inline=1")
    assert inline.headers["Content-Disposition"].startswith("inline;")
    async with server.app[keys.DB].reader() as session:
        entries = list(await session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
        event = await session.scalar(select(CaseEvent).where(CaseEvent.kind == "document_added"))
    me = await officer.get("/api/me")
    assert isinstance(me, dict)
    assert [(e.user_id, e.action, e.target_type, e.target_id) for e in entries] == [
        (me["id"], "download", "document", str(made["id"])),
        (me["id"], "view", "document", str(made["id"])),
    ]
    assert event is not None and event.data["sha256"] == sha256(photo)


async def test_every_bad_upload_is_refused_with_a_code_and_leaves_nothing(
    server: TestServer, client_as: ClientFactory, config: Config
) -> None:
    terminal = await client_as("village-zhangzhuang")
    case_id = await remote_case(terminal)
    walk_in = await remote_case(await client_as("desk"), 2)

    async def refused(client: Client, target: int, form: FormData, status: int, code: str) -> None:
        body = await upload(client, target, form, status=status)
        assert body["error"]["code"] == code, body  # type: ignore[index]

    await refused(
        terminal,
        case_id,
        upload_form(exe(), "照片.jpg", content_type="image/jpeg"),
        415,
        "unsupported_type",
    )
    await refused(
        terminal,
        case_id,
        upload_form(HTML, "收据.png", content_type="image/png"),
        415,
        "unsupported_type",
    )
    # Over the limit while streaming (the declared length fits the envelope), and declared.
    await refused(
        terminal, case_id, upload_form(padded_png(LIMIT + 1), "大.png"), 413, "file_too_large"
    )
    await refused(
        terminal, case_id, upload_form(padded_png(LIMIT + MIB), "大.png"), 413, "file_too_large"
    )
    await refused(terminal, 9999, upload_form(png(), "a.png"), 404, "not_found")
    await refused(terminal, walk_in, upload_form(png(), "a.png"), 403, "forbidden")
    other_terminal = await client_as("village-lijiawan")
    await refused(other_terminal, case_id, upload_form(png(), "a.png"), 403, "forbidden")
    await refused(
        await client_as("officer-legal"), case_id, upload_form(png(), "a.png"), 403, "forbidden"
    )
    await refused(
        await client_as("dept-zhujian"), case_id, upload_form(png(), "a.png"), 403, "forbidden"
    )

    no_file = FormData(quote_fields=False, default_to_multipart=True)
    no_file.add_field("visibility", "staff")
    no_file.add_field("note", "忘了选文件")
    body = await upload(terminal, case_id, no_file, status=422)
    assert body["error"]["fields"] == {"file": "请选择要上传的文件"}  # type: ignore[index]
    await refused(
        terminal, case_id, upload_form(png(), "a.png", visibility="public"), 422, "invalid_input"
    )
    await refused(
        terminal, case_id, upload_form(png(), "a.png", note="长" * 201), 422, "invalid_input"
    )
    extra = upload_form(png(), "a.png")
    extra.add_field("owner", "admin")
    await refused(terminal, case_id, extra, 422, "invalid_input")
    await refused(terminal, case_id, upload_form(b"", "empty.png"), 422, "invalid_input")
    as_json = await terminal.post(f"/api/cases/{case_id}/documents", {"file": "x"}, status=422)
    assert isinstance(as_json, dict) and as_json["error"]["code"] == "invalid_input"
    resp = await terminal.http.post(
        f"/api/cases/{case_id}/documents", data=upload_form(png(), "a.png")
    )
    assert resp.status == 403 and (await resp.json())["error"]["code"] == "csrf_failed"

    assert await count(server, CaseDocument) == 0
    async with server.app[keys.DB].reader() as session:
        kinds = set(await session.scalars(select(CaseEvent.kind)))
    assert "document_added" not in kinds
    assert stored(config) == []


async def test_a_case_holds_at_most_max_per_case_documents(
    server: TestServer, client_as: ClientFactory, config: Config
) -> None:
    officer = await client_as("officer-urban")
    case_id = await remote_case(await client_as("desk"))
    for n in range(4):
        await upload(officer, case_id, upload_form(pdf(f"page {n}"), f"{n}.pdf"))
    body = await upload(officer, case_id, upload_form(pdf(), "5.pdf"), status=409)
    assert body["error"]["code"] == "conflict"  # type: ignore[index]
    assert len(stored(config)) == 4


async def test_who_reads_which_documents(server: TestServer, client_as: ClientFactory) -> None:
    terminal = await client_as("village-zhangzhuang")
    case_id = await remote_case(terminal)
    officer = await client_as("officer-urban")
    own = await upload(terminal, case_id, upload_form(png(), "村里拍的.png"))
    internal = await upload(officer, case_id, upload_form(pdf(), "研判.pdf"))
    shared = await upload(officer, case_id, upload_form(pdf(), "答复.pdf", visibility="petitioner"))

    async def ids(client: Client, status: int = 200) -> list[object]:
        data = await client.get(f"/api/cases/{case_id}/documents", status=status)
        assert isinstance(data, dict)
        return [d["id"] for d in data["documents"]] if status == 200 else [data["error"]["code"]]

    everything = [own["id"], internal["id"], shared["id"]]
    for username in ("officer-urban", "desk", "leader", "supervisor", "admin"):
        assert await ids(await client_as(username)) == everything, username
    assert await ids(terminal) == [own["id"], shared["id"]]
    assert await ids(await client_as("village-lijiawan"), 403) == ["forbidden"]
    assert await ids(await client_as("officer-legal"), 403) == ["forbidden"]
    department = await client_as("dept-zhujian")
    assert await ids(department, 403) == ["forbidden"]
    resp = await terminal.http.get(str(internal["url"]))
    assert resp.status == 403
    assert (await terminal.http.get(str(shared["url"]))).status == 200
    assert (await department.http.get(str(own["url"]))).status == 403
    assert (await officer.http.get("/documents/9999/file")).status == 404

    async with server.app[keys.DB].transaction() as session:  # assigned to the department
        case = await session.get_one(Case, case_id)
        case.department_id = await session.scalar(
            select(Department.id).where(Department.code == "zhujian")
        )
    # The department reads what its timeline shows: the shared document, not staff-only ones.
    assert await ids(department) == [shared["id"]]
    assert (await department.http.get(str(internal["url"]))).status == 403
    assert (await department.http.get(str(shared["url"]))).status == 200


async def test_an_interrupted_upload_leaves_no_file_and_no_row(
    server: TestServer, client_as: ClientFactory, config: Config
) -> None:
    terminal = await client_as("village-zhangzhuang")
    case_id = await remote_case(terminal)
    cookie = terminal.http.session.cookie_jar.filter_cookies(server.make_url("/"))["jf_session"]
    boundary = "----interrupted"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode()
    sent = head + padded_png(256 * 1024)
    request = (
        f"POST /api/cases/{case_id}/documents HTTP/1.1\r\nHost: {server.host}:{server.port}\r\n"
        f"Cookie: jf_session={cookie.value}\r\nX-CSRF-Token: {terminal.csrf}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {len(sent) + MIB}\r\n\r\n"
    ).encode()
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(request + sent)
    await writer.drain()
    await until(lambda: any(p.endswith(".part") for p in stored(config)))  # it was being written
    writer.close()
    await writer.wait_closed()
    await until(lambda: stored(config) == [])
    assert await count(server, CaseDocument) == 0
    del reader


async def until(condition: object, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    assert callable(condition)
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


def test_documents_live_under_the_data_folder(config: Config, tmp_path: Path) -> None:
    assert config.documents.directory == (tmp_path / "data" / "documents").resolve()
    assert config.recording.directory.parent == config.documents.directory.parent


async def test_a_missing_file_is_410_file_missing_and_not_audited(
    server: TestServer, client_as: ClientFactory, config: Config
) -> None:
    terminal = await client_as("village-zhangzhuang")
    made = await upload(terminal, await remote_case(terminal), upload_form(png(), "照片.png"))
    for name in stored(config):  # lost outside the hall
        (config.documents.directory / name).unlink()
    officer = await client_as("officer-urban")
    resp = await officer.http.get(str(made["url"]), headers={"Accept": "application/json"})
    assert resp.status == 410
    assert (await resp.json())["error"]["code"] == "file_missing"
    assert await count(server, AuditEntry) == 0  # nothing was read


async def test_a_terminal_uploads_to_its_ticket_after_a_split(
    server: TestServer, client_as: ClientFactory
) -> None:
    terminal = await client_as("village-zhangzhuang")
    created = await terminal.post("/api/visit-requests", registration(), status=201)
    assert isinstance(created, dict)
    officer = await client_as("officer-urban")
    split = await officer.post(
        f"/api/cases/{created['case_id']}/split",
        {"ticket_id": created["ticket"]["id"], "summary": "另一事项", "reason": "不同事项"},
        status=201,
    )
    assert isinstance(split, dict)
    # The new case was opened by the officer; the ticket the station issued is on it now.
    await upload(terminal, int(split["id"]), upload_form(png(), "照片.png"))
    other = await client_as("village-lijiawan")
    await upload(other, int(split["id"]), upload_form(png(), "照片.png"), status=403)


async def test_a_merged_cases_documents_show_on_the_case_it_went_into(
    server: TestServer, client_as: ClientFactory
) -> None:
    terminal = await client_as("village-zhangzhuang")
    b = await remote_case(terminal, 2)
    desk = await client_as("desk")
    a = await desk.post(
        "/api/visit-requests",
        registration(id_number=valid_id_number("11010519900307001"), summary="电梯故障"),
        status=201,
    )
    assert isinstance(a, dict)
    officer = await client_as("officer-urban")
    await officer.post(f"/api/cases/{b}/merge", {"into": a["case_id"], "reason": "同一事项"})
    late = await upload(terminal, b, upload_form(png(), "补充.png", visibility="petitioner"))
    listed = await officer.get(f"/api/cases/{a['case_id']}/documents")
    assert isinstance(listed, dict)
    assert [(d["id"], d["case_id"]) for d in listed["documents"]] == [(late["id"], b)]
    page = await officer.http.get(f"/cases/{a['case_id']}")
    assert "补充.png" in await page.text() and "（来自 JF" in await page.text()
    # The department handling A reads B's shared document from A too.
    async with server.app[keys.DB].transaction() as session:
        case = await session.get_one(Case, a["case_id"])
        case.department_id = await session.scalar(
            select(Department.id).where(Department.code == "zhujian")
        )
    department = await client_as("dept-zhujian")
    assert (await department.http.get(str(late["url"]))).status == 200
