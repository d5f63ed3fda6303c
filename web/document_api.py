"""HTTP edge of evidence documents (证据材料): streamed multipart uploads, the list of a case's
documents, and audited downloads served so that a browser never runs them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

from aiohttp import BodyPartReader, web

from hall.cases import documents
from hall.cases.document_store import StagedFile, too_large_message
from hall.cases.tables import CaseDocument
from hall.errors import FileMissing, FileTooLarge, InvalidInput
from web import keys
from web.auth import STAFF, add_route, principal

UPLOADERS = STAFF | {"terminal"}
READERS = STAFF | {"terminal", "department"}
CHUNK = 65536
# Room for the multipart envelope (boundaries, part headers, the small text fields) on top of
# the file itself when a declared Content-Length is checked before reading.
ENVELOPE = 64 * 1024
BROKEN_FORM = "multipart 表单不完整或格式有误，请重新上传"
TEXT_FIELDS = {"visibility": 32, "note": documents.NOTE_MAX * 4}
# A downloaded file is data, never a page: no type guessing, no scripts, no plugins.
SAFE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "sandbox; default-src 'none'; img-src 'self'",
    "Cache-Control": "private, no-store",
    "Referrer-Policy": "no-referrer",
}


def _document_json(row: CaseDocument) -> dict[str, Any]:
    return {
        "id": row.id,
        "case_id": row.case_id,
        "name": row.name,
        "media_type": row.media_type,
        "size_bytes": row.size_bytes,
        "sha256": row.sha256,
        "visibility": row.visibility,
        "note": row.note,
        "created_at": row.created_at.isoformat(),
        "url": f"/documents/{row.id}/file",
    }


async def _chunks(part: BodyPartReader) -> AsyncIterator[bytes]:
    while chunk := await part.read_chunk(CHUNK):
        yield chunk


async def _text(part: BodyPartReader, name: str) -> str:
    limit = TEXT_FIELDS[name]
    data = bytearray()
    async for chunk in _chunks(part):
        data += chunk
        if len(data) > limit:
            raise InvalidInput("字段过长", fields={name: "内容过长"})
    try:
        return data.decode()
    except UnicodeDecodeError:
        raise InvalidInput("字段不是UTF-8文本", fields={name: "不是UTF-8文本"}) from None


async def _receive(request: web.Request) -> tuple[StagedFile | None, str, dict[str, str]]:
    """The staged file, its sanitised name and the text fields of the multipart body."""
    store = request.app[keys.DOCUMENTS]
    staged: StagedFile | None = None
    name = ""
    fields: dict[str, str] = {}
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                raise InvalidInput("不支持嵌套的multipart", fields={"file": "格式有误"})
            if part.name == "file" and staged is None:
                name = documents.sanitise_name(part.filename)
                staged = await store.receive(_chunks(part))
            elif part.name in TEXT_FIELDS and part.name not in fields:
                fields[part.name] = await _text(part, part.name)
            else:
                raise InvalidInput("表单字段有误", fields={str(part.name): "未知或重复的字段"})
    except BaseException as exc:
        if staged is not None:
            await staged.discard()
        if isinstance(exc, ValueError):
            # aiohttp's multipart reader: no boundary, a missing part header, a body cut short.
            raise InvalidInput("上传的表单格式有误", fields={"file": BROKEN_FORM}) from None
        raise
    return staged, name, fields


async def upload(request: web.Request) -> web.StreamResponse:
    """POST multipart/form-data: `file` (JPEG, PNG, WebP or PDF), `visibility`, `note`."""
    app = request.app
    who = principal(request)
    case_id = int(request.match_info["case_id"])
    settings = app[keys.CONFIG].documents
    # Refuse before a byte of the body is read: an unknown or foreign case, a full one, a body
    # declared larger than any accepted file.
    async with app[keys.DB].reader() as session:
        await documents.case_for_upload(session, who, case_id, max_per_case=settings.max_per_case)
    if request.content_type != "multipart/form-data":
        raise InvalidInput(
            "请以 multipart/form-data 上传文件", fields={"file": "缺少文件（multipart/form-data）"}
        )
    if request.content_length and request.content_length > settings.max_bytes + ENVELOPE:
        raise FileTooLarge(too_large_message(settings.max_bytes))
    staged, name, fields = await _receive(request)
    if staged is None:
        raise InvalidInput("缺少文件", fields={"file": "请选择要上传的文件"})
    try:
        visibility = documents.parse_visibility(fields.get("visibility", ""))
        note = documents.parse_note(fields.get("note", ""))
        async with app[keys.DB].transaction() as session:
            row = await documents.add(
                session,
                who,
                case_id,
                staged,
                name=name,
                visibility=visibility,
                note=note,
                now=app[keys.CLOCK].now(),
                max_per_case=settings.max_per_case,
            )
            # Renamed into place inside the transaction: no row without its file; a failed
            # commit removes the file again below.
            await staged.keep()
            result = _document_json(row)
    except BaseException:
        await staged.discard()
        raise
    return web.json_response(result, status=201)


async def list_documents(request: web.Request) -> web.StreamResponse:
    async with request.app[keys.DB].reader() as session:
        rows = await documents.list_documents(
            session, principal(request), int(request.match_info["case_id"])
        )
        return web.json_response({"documents": [_document_json(row) for row in rows]})


def _disposition(kind: str, row: CaseDocument, extension: str) -> str:
    # An ASCII fallback for old clients, the real (sanitised) name as RFC 5987 for the others.
    return f"{kind}; filename=\"document-{row.id}{extension}\"; filename*=UTF-8''{quote(row.name)}"


async def document_file(request: web.Request) -> web.StreamResponse:
    """The stored bytes with the sniffed type; `?inline=1` shows an image in place (thumbnails)."""
    app = request.app
    document_id = int(request.match_info["document_id"])
    inline = request.query.get("inline") == "1"
    async with app[keys.DB].transaction() as session:
        row = await documents.open_for_reading(
            session,
            principal(request),
            document_id,
            now=app[keys.CLOCK].now(),
            action="view" if inline else "download",
        )
        path = app[keys.DOCUMENTS].path(row.storage_name)
        # Checked before the audit entry commits: a read that serves nothing is not recorded.
        if not await asyncio.to_thread(path.is_file):
            raise FileMissing(f"材料 {row.id} 的文件缺失，请联系管理员")
    kind = "inline" if inline and row.media_type.startswith("image/") else "attachment"
    headers = SAFE_HEADERS | {
        "Content-Type": row.media_type,
        "Content-Disposition": _disposition(kind, row, path.suffix),
    }
    return web.FileResponse(path, headers=headers)


def setup(app: web.Application) -> None:
    path = "/api/cases/{case_id:\\d+}/documents"
    add_route(app, "POST", path, upload, UPLOADERS)
    add_route(app, "GET", path, list_documents, READERS)
    add_route(app, "GET", "/documents/{document_id:\\d+}/file", document_file, READERS)
