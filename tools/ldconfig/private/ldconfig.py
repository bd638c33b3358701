#!/usr/bin/env python3
"""Write the /etc/ld.so.cache that glibc's `ldconfig -r ROOT` would write for a root.

    ldconfig.py --arch arm64 --tar static.tar --tar libc6.tar [--tar ...]
                [--exclude GLOB]... --output ld.so.cache [--listing ld.so.cache.txt]

The tars (Debian data tars, or layers) are unpacked in order into one root,
in memory, and read as ldconfig reads a root, for the architecture's
libraries only (another architecture's, or 32-bit ones, are left out), less
what --exclude leaves out (the image's layers drop the same paths):

1. the directories: those /etc/ld.so.conf names (with `include` globs,
   relative to the including file, in sorted order; `hwcap` lines ignored),
   then Debian glibc's trusted ones (/lib/TRIPLET, /usr/lib/TRIPLET, /lib,
   /usr/lib); a directory that does not exist, or is one listed before
   through a symlink (/usr/lib/TRIPLET once /lib/TRIPLET is there on
   merged /usr), is skipped;
2. in each, the files named lib*.so*, ld-*.so*, ld.so.* or ld64.so.* that are
   ELF files of the architecture, or symlinks to such files: each gives its
   DT_SONAME (else its file name), or for a symlink that is the SONAME or the
   .so link of it (libz3.so -> libz3.so.4), its own name; one entry per name
   and directory, DIR/NAME.

Unlike ldconfig it needs no root privileges and no machine of the target
architecture, and its output depends on the tars alone (no timestamp, no
ldconfig version, sorted as ld.so expects): the same bytes on every machine.
ld_cache.py (//tools/elf) writes the format. --listing writes what
`ldconfig -p` prints for it, one line per entry.
"""

from __future__ import annotations

import argparse
import fnmatch
import posixpath
import sys
import tarfile
from pathlib import Path

import elf
import ld_cache
from image_platforms import PLATFORMS
from loader import system_dirs
from rootfs import FILE, SYMLINK, RootFs, RootFsError, normalize

LD_SO_CONF = "/etc/ld.so.conf"
# Configuration files nested deeper than this are a loop.
MAX_INCLUDE_DEPTH = 16


class LdconfigError(Exception):
    """Bad input; the message says what and where."""


def wanted(path: str, head: bytes) -> bool:
    """Contents kept in memory: ELF files and the loader's configuration."""
    return (
        elf.is_elf(head)
        or path == "etc/ld.so.conf"
        or path.startswith("etc/ld.so.conf.d/")
    )


def is_dso_name(name: str) -> bool:
    """elf/dl-is_dso.h: what ldconfig considers a shared library's file name."""
    return (
        (name.startswith("lib") or name.startswith("ld-")) and ".so" in name
    ) or name.startswith(("ld.so.", "ld64.so."))


def conf_directories(root: RootFs, path: str = LD_SO_CONF, depth: int = 0) -> list[str]:
    """The directories a configuration file names, includes followed, in order."""
    if depth > MAX_INCLUDE_DEPTH:
        raise LdconfigError(
            f"{path}: includes nested more than {MAX_INCLUDE_DEPTH} deep"
        )
    data = root.read(path)
    if data is None:
        return []
    directories = []
    for line in data.decode("utf-8", "surrogateescape").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        words = line.split()
        if words[0] == "include" and len(words) > 1:
            for pattern in words[1:]:
                if not pattern.startswith("/"):
                    pattern = posixpath.join(posixpath.dirname(path), pattern)
                for included in glob(root, pattern):
                    directories += conf_directories(root, included, depth + 1)
        elif words[0].lower() == "hwcap" and len(words) > 1:
            continue  # ldconfig ignores it too.
        else:
            directory = line.rstrip("/") or "/"
            directories.append(directory)
    return directories


def glob(root: RootFs, pattern: str) -> list[str]:
    """glob(3) over the root, one pattern component at a time, sorted."""
    matches = ["/"]
    for part in [p for p in pattern.split("/") if p]:
        following = []
        for base in matches:
            names = root.listdir(base) if any(c in part for c in "*?[") else [part]
            following += [
                posixpath.join(base, name)
                for name in names
                if fnmatch.fnmatchcase(name, part)
                and not (name.startswith(".") and not part.startswith("."))
                and root.resolve(posixpath.join(base, name)) is not None
            ]
        matches = following
    return sorted(m for m in matches if m != "/")


def directories(root: RootFs, multiarch: str) -> list[str]:
    """The directories searched, in order: configured, then trusted; each once."""
    result = []
    seen = set()
    for directory in conf_directories(root) + system_dirs(multiarch):
        if not root.is_dir(directory):
            continue
        identity = root.resolve(directory)
        if identity in seen:
            continue
        seen.add(identity)
        result.append(directory)
    return result


def library_entries(root: RootFs, directory: str, machine: int) -> list[str]:
    """The names the cache lists for one directory (SONAMEs and .so links)."""
    names: list[str] = []
    for name in root.listdir(directory):
        if not is_dso_name(name):
            continue
        path = posixpath.join(directory, name)
        node = root.node(path)
        if node is None or node.kind != FILE or node.data is None:
            continue  # A directory, a dangling link, or no ELF file.
        identity = elf.identify(node.data, path)
        if identity.machine != machine or identity.elf_class != elf.ELFCLASS64:
            continue
        try:
            soname = elf.parse(node.data, path).soname or name
        except elf.ElfError as error:
            raise LdconfigError(str(error)) from None
        own = root.lookup(path)
        if own is not None and own.kind == SYMLINK:
            # ldconfig: a link named after the SONAME, or the .so link to it
            # for ld(1), is listed under its own name; any other link is one
            # more file with that SONAME.
            if name == soname or (name.endswith(".so") and soname.startswith(name)):
                soname = name
        if soname not in names:
            names.append(soname)
    return names


def cache_entries(root: RootFs, arch: str) -> list[ld_cache.Entry]:
    platform = PLATFORMS[arch]
    machine, multiarch = platform["elf_machine"], platform["multiarch"]
    flags = ld_cache.flags_for(machine)
    entries = []
    for directory in directories(root, multiarch):
        for name in library_entries(root, directory, machine):
            entries.append(ld_cache.Entry(name, posixpath.join(directory, name), flags))
    return entries


def listing(entries: list[ld_cache.Entry]) -> str:
    """What `ldconfig -p` prints for the cache, without its header and footer."""
    lines = [
        f"\t{e.key} ({ld_cache.FLAG_NAMES.get(e.flags, hex(e.flags))}) => {e.value}"
        for e in ld_cache.sort_entries(entries)
    ]
    return "".join(line + "\n" for line in lines)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(
        prog="ldconfig.py", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--arch", required=True, choices=sorted(PLATFORMS))
    parser.add_argument("--tar", action="append", required=True, help="a tar, in order")
    parser.add_argument("--output", required=True, help="the ld.so.cache to write")
    parser.add_argument("--listing", help="also write `ldconfig -p`'s lines here")
    parser.add_argument(
        "--exclude",
        action="append",
        default=[],
        help="a glob of paths (and what is below them) the image leaves out of the tars",
    )
    args = parser.parse_args(argv)
    root = RootFs()
    for number, path in enumerate(args.tar):
        try:
            with tarfile.open(path, "r:*") as tar:
                root.apply(tar, number, wanted)
        except (OSError, tarfile.TarError) as error:
            raise LdconfigError(f"--tar {path}: {error}") from None
    root.exclude(args.exclude)
    try:
        entries = cache_entries(root, args.arch)
    except RootFsError as error:
        raise LdconfigError(str(error)) from None
    if not entries:
        raise LdconfigError(
            f"no {args.arch} shared library in any directory ld.so searches: "
            "give the tars of the packages holding them (libc6 at least)"
        )
    Path(args.output).write_bytes(ld_cache.write(entries))
    if args.listing:
        Path(args.listing).write_text(listing(entries), encoding="utf-8")


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except (LdconfigError, ld_cache.LdCacheError, elf.ElfError) as error:
        print(f"ldconfig.py: error: {error}", file=sys.stderr)
        sys.exit(1)
