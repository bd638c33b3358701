"""What the compression level buys: one image's layers recompressed at several
levels of each compressor the rules have.

The layers are decompressed and compressed again, each level timed on one
core, with the rules' own compressors (ocilib.gzip_compressor: zlib-ng;
ocilib.zstd_compressor: zstandard, single-threaded, with a checksum), both
pinned in the lock; the rules' default levels are ocilib's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ocilib
from sizes import platform_images

LEVELS = (1, 6, 9)
DEFAULT_LEVEL = ocilib.DEFAULT_GZIP_LEVEL
ZSTD_LEVELS = (3, 9, 19)
ZSTD_DEFAULT_LEVEL = ocilib.DEFAULT_ZSTD_LEVEL
_CHUNK = 1 << 20


def _layer_tars(layout: Path, platform: str) -> list[bytes]:
    return [layer.read() for layer in platform_images(layout)[platform].layers]


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


def measure(
    layout: Path, platform: str, sample_bytes: int | None = None
) -> dict[str, Any]:
    """Every layer recompressed at each level; with sample_bytes, only the
    first sample_bytes of each (bench --quick), and uncompressed_bytes is what
    was compressed, so that the ratios stay ratios of the same bytes."""
    tars = _layer_tars(layout, platform)
    if sample_bytes is not None:
        tars = [tar[:sample_bytes] for tar in tars]
    return {
        "image": layout.name,
        "platform": platform,
        "sample_bytes_per_layer": sample_bytes,
        "uncompressed_bytes": sum(len(t) for t in tars),
        "default_level": DEFAULT_LEVEL,
        "levels": _levels(tars, LEVELS, ocilib.gzip_compressor),
        "zstd_default_level": ZSTD_DEFAULT_LEVEL,
        "zstd_levels": _levels(tars, ZSTD_LEVELS, ocilib.zstd_compressor),
    }
