"""Evidence files made in the tests (no binary fixtures): a tiny PNG, a minimal PDF, a JPEG
header, and impostors (a Windows executable, an HTML page); plus a multipart upload helper."""

from __future__ import annotations

import hashlib
import struct
import zlib

from aiohttp import FormData

from tests.support import Client

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png(width: int = 4, height: int = 3, rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A valid RGB PNG of one colour."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (
        PNG_SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(rows))
        + _chunk(b"IEND", b"")
    )


def padded_png(size: int) -> bytes:
    """`size` bytes that start like a PNG (enough for a size-limit test)."""
    head = png()
    return head + b"\x00" * (size - len(head))


def pdf(text: str = "evidence") -> bytes:
    """A minimal valid one-page PDF with a correct cross-reference table."""
    stream = f"BT /F1 12 Tf 20 50 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def jpeg_head() -> bytes:
    """The start of a JFIF JPEG (SOI + APP0), enough to be typed as one."""
    app0 = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    return b"\xff\xd8\xff\xe0" + struct.pack(">H", len(app0) + 2) + app0 + b"\x00" * 64


def webp_head() -> bytes:
    """The start of a RIFF WebP file."""
    return b"RIFF" + struct.pack("<I", 64) + b"WEBPVP8 " + b"\x00" * 64


def exe() -> bytes:
    """A DOS/Windows executable header (MZ ... PE)."""
    head = bytearray(b"MZ" + b"\x90\x00" * 29 + b"\x00" * 2)
    head += struct.pack("<I", 64)
    return bytes(head) + b"PE\x00\x00" + b"\x00" * 200


HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def upload_form(
    data: bytes,
    filename: str,
    *,
    content_type: str = "application/octet-stream",
    visibility: str | None = None,
    note: str | None = None,
) -> FormData:
    """A multipart body as a browser's FormData sends it."""
    form = FormData(quote_fields=False)  # as browsers send names: raw UTF-8
    if visibility is not None:
        form.add_field("visibility", visibility)
    if note is not None:
        form.add_field("note", note)
    form.add_field("file", data, filename=filename, content_type=content_type)
    return form


async def upload(
    client: Client, case_id: int, form: FormData, *, status: int = 201
) -> dict[str, object]:
    """POST `form` to the case's documents as `client`; asserts the status, returns the JSON."""
    resp = await client.http.post(
        f"/api/cases/{case_id}/documents", data=form, headers={"X-CSRF-Token": client.csrf}
    )
    body = await resp.json()
    assert resp.status == status, (resp.status, body)
    assert isinstance(body, dict)
    return body
