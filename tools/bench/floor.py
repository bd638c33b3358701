"""Cold start against its floor: each image's median as a multiple of the floor's.

The floor (//tools/bench:floor) is the smallest HTTP server there is, busybox's
httpd, started by the same harness in the same run (coldstart.py): what runc,
the namespaces and the first request cost before any Python runs. A ratio of
1.3 means the image takes 30 % longer than that, from `runc run` to the first
200.
"""

from __future__ import annotations

from typing import Any

FLOOR = "floor"


def ratios(cold_start: dict[str, Any]) -> dict[str, dict[str, float]]:
    """{variant: {arch: median / the floor's median on that arch}}, the floor included."""
    floor = cold_start[FLOOR]
    return {
        variant: {
            arch: stats["median"] / floor[arch]["median"]
            for arch, stats in arches.items()
            if arch in floor
        }
        for variant, arches in cold_start.items()
    }
