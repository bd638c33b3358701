"""What the compression level buys: one image's layers recompressed at several
levels of each compressor the rules have.

The layers are decompressed and compressed again, each level timed on one
core, with the compressors and settings the rules use: zlib-ng for gzip
(level 6 is the rules' default, ocilib.DEFAULT_GZIP_LEVEL) and zstandard for
zstd (single-threaded, with a checksum; level 19 is ocilib.DEFAULT_ZSTD_LEVEL),
both pinned in the lock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import zstandard
from sizes import platform_images
from zlib_ng import zlib_ng

LEVELS = (1, 6, 9)
DEFAULT_LEVEL = 6
ZSTD_LEVELS = (3, 9, 19)
ZSTD_DEFAULT_LEVEL = 19
_CHUNK = 1 << 20


def _layer_tars(layout: Path, platform: str) -> list[bytes]:
    return [layer.read() for layer in platform_images(layout)[platform].layers]


def _gzip(level: int) -> Any:
    return zlib_ng.compressobj(level, zlib_ng.DEFLATED, 31)


def _zstd(level: int) -> Any:
    return zstandard.ZstdCompressor(
        level=level, threads=0, write_checksum=True, write_content_size=False
    ).compressobj()


def _compressed_size(tars: list[bytes], new: Callable[[], Any]) -> int:
    size = 0
    for tar in tars:
        compressor = new()
        for start in range(0, len(tar), _CHUNK):
            size += len(compressor.compress(tar[start : start + _CHUNK]))
        size += len(compressor.flush())
    return size


def _levels(
    tars: list[bytes], levels: tuple[int, ...], new: Callable[[int], Any]
) -> list[dict[str, Any]]:
    measured = []
    for level in levels:
        started = time.process_time()
        size = _compressed_size(tars, lambda: new(level))
        measured.append(
            {
                "level": level,
                "compressed_bytes": size,
                "cpu_seconds": time.process_time() - started,
            }
        )
    return measured


def measure(layout: Path, platform: str) -> dict[str, Any]:
    tars = _layer_tars(layout, platform)
    return {
        "image": layout.name,
        "platform": platform,
        "uncompressed_bytes": sum(len(t) for t in tars),
        "default_level": DEFAULT_LEVEL,
        "levels": _levels(tars, LEVELS, _gzip),
        "zstd_default_level": ZSTD_DEFAULT_LEVEL,
        "zstd_levels": _levels(tars, ZSTD_LEVELS, _zstd),
    }
