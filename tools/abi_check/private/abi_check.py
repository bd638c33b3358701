#!/usr/bin/env python3
"""Check that every ELF file of an image would load on the image's platform.

    abi_check.py --layout IMAGE_LAYOUT --image //images:hello_image
                 [--ignore 'GLOB=REASON']... --output report.txt

The layout holds one image (oci_image's output). Its layers are unpacked in
order, in memory (whiteouts honoured), and every ELF file is checked as ld.so
would load it on the image's platform (abi.py): its machine, its loader, each
DT_NEEDED library (searched with the image's LD_LIBRARY_PATH, its
/etc/ld.so.cache and the system directories, loader.py) and each symbol
version it needs. Files are named with the Debian package or Python
distribution they came from and the layer that wrote them (origins.py).

Every problem found fails the program (exit 1) with one paragraph per
problem: the file, where it came from, what is missing, how to fix it. An
ld.so.cache entry naming a file the image lacks is a problem too. Without
problems it writes the report: every ELF file, its origin and where each
library it needs was found.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import abi
import elf
import ld_cache
import origins as origins_module
from image_platforms import PLATFORMS
from loader import Loader
from ocilib import OciError
from ocireader import Layout
from rootfs import RootFs, RootFsError

CACHE = "etc/ld.so.cache"


class AbiCheckError(Exception):
    """The check failed, or its input is unusable; the message says which."""


def wanted(path: str, head: bytes) -> bool:
    return elf.is_elf(head) or path == CACHE or origins_module.wanted(path)


def read_image(layout_path: str) -> tuple[RootFs, dict, list[str]]:
    """The image's root filesystem, its config and the name of each layer."""
    layout = Layout(layout_path, strict=True)
    refs = layout.images()
    if len(refs) != 1:
        raise AbiCheckError(f"{layout_path}: expected one image, found {len(refs)}")
    image = layout.image(refs[0])
    root = RootFs()
    for layer in image.layers:
        with layer.archive() as tar:
            root.apply(tar, layer.number, wanted)
    history = [h for h in image.config.get("history") or [] if not h.get("empty_layer")]
    names = [str(h.get("created_by", "")) for h in history]
    if len(names) != len(image.layers):
        names = [""] * len(image.layers)
    return root, image.config, names


def platform_of(config: dict) -> dict:
    architecture = config.get("architecture", "")
    if architecture not in PLATFORMS:
        raise AbiCheckError(
            f"the image is for architecture {architecture!r}; the check knows "
            f"{', '.join(sorted(PLATFORMS))} (//platforms:platforms.bzl)"
        )
    return PLATFORMS[architecture]


def cache_entries(root: RootFs) -> list[ld_cache.Entry]:
    data = root.read(CACHE)
    if data is None:
        return []
    try:
        return ld_cache.read(data)
    except ld_cache.LdCacheError as error:
        raise AbiCheckError(f"/{CACHE}: {error}") from None


def stale_cache_problems(
    root: RootFs, loader: Loader, entries: list[ld_cache.Entry]
) -> list[abi.Problem]:
    flags = ld_cache.FLAGS.get(loader.machine)
    return [
        abi.Problem(
            "/" + CACHE,
            "the image's loader cache",
            f"it lists {e.key} => {e.value}, which is no loadable file of the image",
            "generate the cache from the libraries the image holds (//tools/ldconfig)",
        )
        for e in entries
        if e.flags == flags and loader.loadable(e.value) is None
    ]


def failure(image: str, platform: str, problems: list[abi.Problem]) -> str:
    files = len({p.path for p in problems})
    lines = [
        f"ABI check of {image} ({platform}): {files} file{'s' if files != 1 else ''} "
        "would not load"
    ]
    by_file: dict[tuple[str, str], list[abi.Problem]] = {}
    for p in problems:
        by_file.setdefault((p.path, p.origin), []).append(p)
    for (path, origin), found in by_file.items():
        lines.append(f"- {path}\n  from {origin}")
        for p in found:
            lines.append(f"  * {p.what}.\n    Fix: {p.fix}.")
    return "\n".join(lines)


def report(image: str, platform: str, result: abi.Result) -> str:
    ignored = [c for c in result.checked if c.ignored]
    lines = [
        f"# ABI check of {image} ({platform}): {len(result.checked)} ELF files, "
        f"{len(result.checked) - len(ignored)} checked, {len(ignored)} ignored",
        "# path\torigin\tlibraries (DT_NEEDED=found)",
    ]
    for c in result.checked:
        libraries = " ".join(f"{name}={path}" for name, path in c.libraries)
        note = f"\tignored: {c.ignored}" if c.ignored else ""
        lines.append(f"{c.path}\t{c.origin}\t{libraries or '-'}{note}")
    return "\n".join(lines) + "\n"


def parse_ignore(values: list[str]) -> dict[str, str]:
    ignore = {}
    for value in values:
        pattern, sep, reason = value.partition("=")
        if not sep or not pattern.startswith("/") or not reason.strip():
            raise AbiCheckError(
                f"--ignore {value!r}: expected /GLOB=REASON, e.g. "
                "'/usr/lib/python3.13/lib-dynload/_sqlite3.*.so=libsqlite3 is left out'"
            )
        ignore[pattern] = reason.strip()
    return ignore


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(
        prog="abi_check.py", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--layout", required=True, help="an OCI layout of one image")
    parser.add_argument("--image", required=True, help="the image's name in messages")
    parser.add_argument("--ignore", action="append", default=[], help="/GLOB=REASON")
    parser.add_argument("--output", required=True, help="the report to write")
    args = parser.parse_args(argv)
    ignore = parse_ignore(args.ignore)
    try:
        root, config, names = read_image(args.layout)
    except (OciError, RootFsError) as error:
        raise AbiCheckError(f"{args.layout}: {error}") from None
    platform = platform_of(config)
    platform_name = platform["platform"]
    env = dict(
        item.partition("=")[::2]
        for item in (config.get("config") or {}).get("Env") or []
    )
    entries = cache_entries(root)
    loader = Loader(
        root,
        machine=platform["elf_machine"],
        multiarch=platform["multiarch"],
        library_path=env.get("LD_LIBRARY_PATH", ""),
        cache=entries,
    )
    origins = origins_module.Origins.of(root, names)
    try:
        result = abi.check(root, loader, origins, platform_name, ignore)
    except RootFsError as error:
        raise AbiCheckError(str(error)) from None
    problems = result.problems + stale_cache_problems(root, loader, entries)
    if problems:
        raise AbiCheckError(failure(args.image, platform_name, problems))
    Path(args.output).write_text(
        report(args.image, platform_name, result), encoding="utf-8"
    )


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except AbiCheckError as error:
        print(f"{error}", file=sys.stderr)
        sys.exit(1)
