"""SHA-256 of recording files, computed off the event loop."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

CHUNK_BYTES = 1 << 20


def sha256_file_blocking(path: Path) -> str:
    """Hex SHA-256 of ``path``, read in 1 MiB chunks (blocking; for threads and scripts)."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


async def sha256_file(path: Path) -> str:
    """Hex SHA-256 of ``path``, hashed in a worker thread so the loop keeps serving calls."""
    return await asyncio.to_thread(sha256_file_blocking, path)
