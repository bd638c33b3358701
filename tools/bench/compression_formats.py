"""tar+gzip and tar+zstd layers side by side: size, copy from a registry, unpack.

Each image is measured twice, for linux/amd64: as //images builds it
(tar+gzip) and as its twin here, `NAME_zstd`, the same images with
`compression = "zstd"` (tools/bench/BUILD.bazel). For each:

- size: compressed (layers, config and manifest: what a registry stores and
  a client pulls) and uncompressed (the layer tars a runtime writes);
- copy: the image is pushed once to a docker-registry on 127.0.0.1, then
  copied from it into a fresh OCI layout by skopeo, as a pull does;
- unpack: `umoci unpack` of the layout into a fresh bundle: every layer
  decompressed and written out as the root filesystem, as a runtime does;
- decompress: every layer blob through `gzip -dc` or `zstd -dc` into
  /dev/null, the decompression alone (unpacking also writes every file).

Copy and unpack are wall-clock times over `runs` runs. Loopback has no
bandwidth limit, so a copy time is the client's own work; the time a real
network takes is the compressed size over its bandwidth, given at 100 Mbit/s.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from image_platforms import ref
from ocireader import Layout
from registry import registry
from sizes import image_sizes
from stats import summary

PLATFORM = "linux/amd64"
COMPRESSIONS = ("gzip", "zstd")
NETWORK_BITS_PER_SECOND = 100e6  # The link the transfer time is computed for.
_TIMEOUT = 600


class CompressionBenchError(Exception):
    """A tool failed; the message names it and says what it printed."""


def _run(argv: list[str], env: dict[str, str]) -> float:
    """Run a tool; its wall-clock seconds."""
    started = time.monotonic()
    result = subprocess.run(
        argv, capture_output=True, text=True, timeout=_TIMEOUT, env=env, check=False
    )
    elapsed = time.monotonic() - started
    if result.returncode != 0:
        raise CompressionBenchError(
            f"{' '.join(argv)} failed ({result.returncode}): {result.stderr.strip()}"
        )
    return elapsed


def _decompress(layout: Path, platform_ref: str, tools: dict[str, str]) -> float:
    """Seconds to decompress every layer of the image into /dev/null."""
    reader = Layout(layout)
    seconds = 0.0
    for layer in reader.image(reader.named(platform_ref)).layers:
        with open(os.devnull, "wb") as sink:
            started = time.monotonic()
            subprocess.run(
                [tools[layer.compression], "-d", "-c", str(layer.path)],
                stdout=sink, timeout=_TIMEOUT, check=True,
            )  # fmt: skip
            seconds += time.monotonic() - started
    return seconds


def _version(tool: str) -> str:
    result = subprocess.run(
        [tool, "--version"], capture_output=True, text=True, timeout=30, check=False
    )
    return (result.stdout or result.stderr).strip().splitlines()[0].strip("* ")


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise CompressionBenchError(f"{name} is not installed; the build root has it")
    return path


def measure(
    layouts: dict[str, dict[str, Path]],
    work: Path,
    runs: int,
    log: Callable[[str], None],
) -> dict[str, Any]:
    """{"method", "images": {NAME: {"gzip": figures, "zstd": figures}}} for
    layouts {NAME: {"gzip": LAYOUT, "zstd": LAYOUT}}."""
    skopeo, umoci = _tool("skopeo"), _tool("umoci")
    decompressors = {"gzip": _tool("gzip"), "zstd": _tool("zstd")}
    work.mkdir(parents=True, exist_ok=True)
    # skopeo keeps its settings and temporary blobs under HOME and TMPDIR.
    env = {**os.environ, "HOME": str(work), "TMPDIR": str(work)}
    platform_ref = ref(PLATFORM.split("/")[1])
    images: dict[str, Any] = {}
    with registry() as address:
        for name, by_compression in layouts.items():
            images[name] = {}
            for compression in COMPRESSIONS:
                layout = Path(by_compression[compression]).resolve()
                log(f"{name} ({compression}): copy and unpack, {runs} runs")
                sizes = image_sizes(layout)[PLATFORM]
                remote = f"docker://{address}/{name}-{compression}:bench"
                _run(
                    [skopeo, "--insecure-policy", "copy", "--quiet",
                     "--preserve-digests", "--dest-tls-verify=false",
                     f"oci:{layout}:{platform_ref}", remote],
                    env,
                )  # fmt: skip
                copies, unpacks, decompressions = [], [], []
                for run in range(runs):
                    copy, bundle = work / f"copy-{run}", work / f"bundle-{run}"
                    copies.append(
                        _run(
                            [skopeo, "--insecure-policy", "copy", "--quiet",
                             "--src-tls-verify=false", remote, f"oci:{copy}:bench"],
                            env,
                        )  # fmt: skip
                    )
                    unpacks.append(
                        _run(
                            [umoci, "unpack", "--image", f"{layout}:{platform_ref}",
                             str(bundle)],
                            env,
                        )  # fmt: skip
                    )
                    shutil.rmtree(copy)
                    shutil.rmtree(bundle)
                    decompressions.append(
                        _decompress(layout, platform_ref, decompressors)
                    )
                compressed = sizes["compressed_bytes"]
                images[name][compression] = {
                    "manifest_digest": sizes["manifest_digest"],
                    "compressed_bytes": compressed,
                    "uncompressed_bytes": sizes["uncompressed_bytes"],
                    "transfer_seconds_at_100_mbit": compressed
                    * 8
                    / NETWORK_BITS_PER_SECOND,
                    "copy_seconds": summary(copies),
                    "unpack_seconds": summary(unpacks),
                    "decompress_seconds": summary(decompressions),
                }
    return {
        "platform": PLATFORM,
        "method": (
            f"{PLATFORM}; copy: `skopeo copy` from a docker-registry on 127.0.0.1"
            f" into a fresh OCI layout ({_version(skopeo)}); unpack: `umoci unpack`"
            f" into a fresh bundle ({_version(umoci)}); decompress: each layer"
            f" through `gzip -dc` ({_version(decompressors['gzip'])}) or `zstd -dc`"
            f" ({_version(decompressors['zstd'])}) into /dev/null; {runs} run(s) each,"
            " wall-clock; transfer: compressed size at 100 Mbit/s (computed)"
        ),
        "images": images,
    }


def markdown(section: dict[str, Any]) -> list[str]:
    """The report's lines for this section."""
    out = [
        "\n## tar+gzip and tar+zstd layers\n",
        f"Method: {section['method']}. The zstd images are the same images built"
        ' with `compression = "zstd"` (`--//tools/oci:compression=zstd` gives the'
        " same bytes): the same files, other layer blobs.\n",
        "| image | layers | compressed MB | uncompressed MB | transfer at 100 Mbit/s s"
        " | copy from registry s | unpack s | decompress s |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, by_compression in section["images"].items():
        for compression, f in by_compression.items():
            out.append(
                f"| {name} | tar+{compression} | {f['compressed_bytes'] / 1e6:.2f} |"
                f" {f['uncompressed_bytes'] / 1e6:.2f} |"
                f" {f['transfer_seconds_at_100_mbit']:.2f} |"
                f" {_range(f['copy_seconds'])} | {_range(f['unpack_seconds'])} |"
                f" {_range(f['decompress_seconds'])} |"
            )
    out.append("\nzstd against gzip (zstd ÷ gzip, medians):\n")
    out.append("| image | compressed size | copy | unpack | decompress |")
    out.append("| --- | ---: | ---: | ---: | ---: |")
    for name, f in section["images"].items():
        gzip, zstd = f["gzip"], f["zstd"]
        out.append(
            f"| {name} | {zstd['compressed_bytes'] / gzip['compressed_bytes']:.3f} |"
            f" {_ratio(zstd, gzip, 'copy_seconds')} |"
            f" {_ratio(zstd, gzip, 'unpack_seconds')} |"
            f" {_ratio(zstd, gzip, 'decompress_seconds')} |"
        )
    out.append("")
    return out


def _range(s: dict[str, Any]) -> str:
    return f"{s['median']:.2f} ({s['min']:.2f}–{s['max']:.2f})"


def _ratio(a: dict[str, Any], b: dict[str, Any], key: str) -> str:
    return f"{a[key]['median'] / b[key]['median']:.2f}"
