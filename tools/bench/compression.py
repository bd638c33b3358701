"""What the gzip level buys: one image's layers recompressed at several zlib-ng levels.

The layers are decompressed and compressed again, each level timed on one
core, with the compressor the rules use (zlib-ng, pinned in the lock; level 6
is the rules' default, ocilib.DEFAULT_GZIP_LEVEL).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sizes import platform_images
from zlib_ng import zlib_ng

LEVELS = (1, 6, 9)
DEFAULT_LEVEL = 6
_CHUNK = 1 << 20


def _layer_tars(layout: Path, platform: str) -> list[bytes]:
    return [layer.read() for layer in platform_images(layout)[platform].layers]


def _gzip_size(tars: list[bytes], level: int) -> int:
    size = 0
    for tar in tars:
        compressor = zlib_ng.compressobj(level, zlib_ng.DEFLATED, 31)
        for start in range(0, len(tar), _CHUNK):
            size += len(compressor.compress(tar[start : start + _CHUNK]))
        size += len(compressor.flush())
    return size


def measure(layout: Path, platform: str) -> dict[str, Any]:
    tars = _layer_tars(layout, platform)
    levels = []
    for level in LEVELS:
        started = time.process_time()
        size = _gzip_size(tars, level)
        levels.append(
            {
                "level": level,
                "compressed_bytes": size,
                "cpu_seconds": time.process_time() - started,
            }
        )
    return {
        "image": layout.name,
        "platform": platform,
        "uncompressed_bytes": sum(len(t) for t in tars),
        "default_level": DEFAULT_LEVEL,
        "levels": levels,
    }
