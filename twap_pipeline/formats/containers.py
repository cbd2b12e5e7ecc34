"""What a file holds, told by its content rather than its name: parquet, or JSON lines that may
be LZ4-frame or gzip compressed (the node writes ``.lz4`` files, some mirrors drop the suffix)."""

from __future__ import annotations

import gzip
import zlib
from typing import Literal

import lz4.frame

from twap_pipeline.formats.base import ParseError

PARQUET_MAGIC = b"PAR1"
LZ4_FRAME_MAGIC = b"\x04\x22\x4d\x18"
GZIP_MAGIC = b"\x1f\x8b"

Kind = Literal["parquet", "json_lines"]


def unwrap(data: bytes, key: str) -> tuple[Kind, bytes]:
    """(kind, payload): compression removed, the format recognised. An empty file is JSON
    lines with no line (a quiet hour)."""
    if data.startswith(LZ4_FRAME_MAGIC):
        try:
            return unwrap(lz4.frame.decompress(data), key)
        except RuntimeError as exc:
            raise ParseError(key, None, f"not a readable LZ4 frame ({exc})") from None
    if data.startswith(GZIP_MAGIC):
        try:
            return unwrap(gzip.decompress(data), key)
        except (OSError, EOFError, zlib.error) as exc:
            raise ParseError(key, None, f"not a readable gzip file ({exc})") from None
    if data.startswith(PARQUET_MAGIC):
        return "parquet", data
    if not data.strip() or data.lstrip()[:1] == b"{":
        return "json_lines", data
    raise ParseError(
        key, None, f"not parquet, JSON lines, LZ4 or gzip (the file starts with {data[:8]!r})"
    )
