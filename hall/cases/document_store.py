"""Evidence files on disk (证据材料): typed from their content, size-limited and hashed while they
stream in, written as `.part`, fsynced, and renamed into place only once the upload is accepted.

The directory is outside the web root and files get random names; the row in `case_documents`
(`hall.cases.documents`) is the only way to reach one.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import secrets
import time
from collections.abc import AsyncIterable
from pathlib import Path
from typing import IO

import filetype

from hall.errors import FileTooLarge, InvalidInput, UnsupportedType

logger = logging.getLogger(__name__)

# Media types accepted, sniffed from the content, with the extension of the stored file.
ACCEPTED: dict[str, str] = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "application/pdf": "pdf",
}
# `filetype` decides from at most this many leading bytes.
SNIFF_BYTES = 8192
STORAGE_NAME = re.compile(r"[0-9a-f]{32}\.(?:jpg|png|webp|pdf)")
PART = ".part"
UNSUPPORTED = "文件类型不支持：仅接受 JPEG、PNG、WebP 图片和 PDF 文件"


def sniff(head: bytes) -> str | None:
    """The accepted media type of a file starting with `head`, or None for anything else."""
    kind = filetype.guess(head)
    mime = str(kind.mime) if kind is not None else None
    return mime if mime in ACCEPTED else None


def too_large_message(max_bytes: int) -> str:
    """The people's message of a file over `max_bytes`."""
    return f"文件过大：单个文件不能超过 {max_bytes / 1048576:g} MB"


class StagedFile:
    """A received file: complete, fsynced, hashed, still named `.part` until `keep()`."""

    def __init__(
        self, directory: Path, storage_name: str, media_type: str, size_bytes: int, sha256: str
    ) -> None:
        self.storage_name = storage_name
        self.media_type = media_type
        self.size_bytes = size_bytes
        self.sha256 = sha256
        self._final = directory / storage_name
        self._part = directory / (storage_name + PART)
        self._kept = False

    async def keep(self) -> None:
        """Move the file into place (call it inside the transaction that adds its row)."""
        await asyncio.to_thread(_rename_durably, self._part, self._final)
        self._kept = True

    async def discard(self) -> None:
        """Remove the file, staged or kept (the row's transaction failed); idempotent."""
        target = self._final if self._kept else self._part
        await asyncio.to_thread(target.unlink, missing_ok=True)


def _rename_durably(part: Path, final: Path) -> None:
    os.replace(part, final)
    # The rename itself must survive a power cut, not only the file's bytes.
    fd = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _open_part(path: Path) -> IO[bytes]:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    return os.fdopen(fd, "wb")


def _write(out: IO[bytes], digest: hashlib._Hash, data: bytes) -> None:
    out.write(data)
    digest.update(data)


def _finish(out: IO[bytes]) -> None:
    out.flush()
    os.fsync(out.fileno())
    out.close()


class DocumentStore:
    """The documents directory: receives uploads and resolves stored names to paths."""

    def __init__(self, directory: Path, *, max_bytes: int) -> None:
        self.directory = directory
        self.max_bytes = max_bytes

    def path(self, storage_name: str) -> Path:
        """The file of a stored name; `ValueError` for anything that is not one of ours."""
        if not STORAGE_NAME.fullmatch(storage_name):
            raise ValueError(f"not a document storage name: {storage_name!r}")
        return self.directory / storage_name

    async def receive(self, chunks: AsyncIterable[bytes]) -> StagedFile:
        """Stream `chunks` into a new `.part` file, typing it from its first bytes and hashing it.

        `unsupported_type` (nothing written) if the content is not an accepted type,
        `file_too_large` as soon as more than `max_bytes` arrived, `invalid_input` for an empty
        file. On any error or cancellation the `.part` file is removed.
        """
        head = bytearray()
        size = 0
        digest = hashlib.sha256()
        out: IO[bytes] | None = None
        part: Path | None = None
        name = ""
        media_type = ""
        try:
            async for chunk in chunks:
                size += len(chunk)
                if size > self.max_bytes:
                    raise FileTooLarge(too_large_message(self.max_bytes))
                if out is not None:
                    await asyncio.to_thread(_write, out, digest, chunk)
                    continue
                head += chunk
                if len(head) < SNIFF_BYTES:
                    continue
                media_type, name = self._accept(bytes(head))
                part = self.directory / (name + PART)
                out = await asyncio.to_thread(_open_part, part)
                await asyncio.to_thread(_write, out, digest, bytes(head))
            if out is None:
                if not head:
                    raise InvalidInput("文件为空", fields={"file": "文件为空"})
                media_type, name = self._accept(bytes(head))
                part = self.directory / (name + PART)
                out = await asyncio.to_thread(_open_part, part)
                await asyncio.to_thread(_write, out, digest, bytes(head))
            await asyncio.to_thread(_finish, out)
        except BaseException:
            if out is not None:
                await asyncio.to_thread(out.close)
            if part is not None:
                await asyncio.to_thread(part.unlink, missing_ok=True)
            raise
        return StagedFile(self.directory, name, media_type, size, digest.hexdigest())

    def _accept(self, head: bytes) -> tuple[str, str]:
        media_type = sniff(head)
        if media_type is None:
            raise UnsupportedType(UNSUPPORTED, fields={"file": UNSUPPORTED})
        return media_type, f"{secrets.token_hex(16)}.{ACCEPTED[media_type]}"

    async def recover(self, known: set[str], *, older_than_s: float = 3600.0) -> list[str]:
        """Remove leftovers of interrupted uploads: `.part` files, and stored files without a
        row (a crash between the rename and the commit), older than `older_than_s` so that an
        upload in flight in another process is left alone. Returns the names removed."""
        return await asyncio.to_thread(self._recover, known, older_than_s)

    def _recover(self, known: set[str], older_than_s: float) -> list[str]:
        removed: list[str] = []
        cutoff = time.time() - older_than_s
        for entry in sorted(self.directory.iterdir()):
            name = entry.name
            stem = name.removesuffix(PART)
            ours = STORAGE_NAME.fullmatch(stem) is not None
            leftover = name.endswith(PART) or name not in known
            if ours and leftover and entry.stat().st_mtime <= cutoff:
                entry.unlink(missing_ok=True)
                removed.append(name)
        if removed:
            logger.warning("removed %d leftover document file(s): %s", len(removed), removed)
        return removed
