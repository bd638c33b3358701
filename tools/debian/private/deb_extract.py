"""Split a .deb into its uncompressed data tar and its control paragraph.

    deb_extract.py --deb X.deb --data-out data.tar --control-out control
                   [--md5sums-out md5sums] [--zstd PATH]

A .deb is an `ar` archive of debian-binary, control.tar.* and data.tar.*.
The data tar is written uncompressed, byte for byte as the package has it,
so the layer builder decides how to compress; the control file is the
package's control paragraph. md5sums (the package's file checksums, empty
when it has none) lets scanners tell which files a package owns.

xz, gzip and bzip2 are decompressed with the standard library; zstd (used
by Ubuntu, not Debian) needs the `zstd` program, from --zstd or PATH.
"""

from __future__ import annotations

import argparse
import bz2
import gzip
import io
import lzma
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path

AR_MAGIC = b"!<arch>\n"
AR_HEADER_SIZE = 60


class DebError(Exception):
    """A .deb that cannot be read; the message names the file."""


def read_ar(deb: Path) -> dict[str, bytes]:
    """Members of an ar archive by name (the GNU trailing '/' removed)."""
    data = deb.read_bytes()
    if not data.startswith(AR_MAGIC):
        raise DebError(f"{deb}: not a .deb (no ar archive header)")
    members: dict[str, bytes] = {}
    offset = len(AR_MAGIC)
    while offset < len(data):
        header = data[offset : offset + AR_HEADER_SIZE]
        if len(header) < AR_HEADER_SIZE or header[58:60] != b"`\n":
            raise DebError(f"{deb}: corrupt ar member header at byte {offset}")
        name = header[0:16].decode("ascii").rstrip(" ").rstrip("/")
        size = int(header[48:58].decode("ascii").strip())
        start = offset + AR_HEADER_SIZE
        if start + size > len(data):
            raise DebError(f"{deb}: ar member {name} is truncated")
        members[name] = data[start : start + size]
        # Members start on even offsets: odd sizes are followed by a newline.
        offset = start + size + (size % 2)
    return members


def find_member(members: dict[str, bytes], prefix: str, deb: Path) -> tuple[str, str]:
    """The name and compression ("" when none) of the one member called
    prefix or prefix.<compression>."""
    found = [
        name for name in members if name == prefix or name.startswith(prefix + ".")
    ]
    if len(found) != 1:
        raise DebError(
            f"{deb}: expected one {prefix}[.xz|.zst|.gz|.bz2], found {found or 'none'}"
        )
    return found[0], found[0].removeprefix(prefix).removeprefix(".")


# How to read each compression with the standard library.
OPENERS: dict[str, Callable[[io.BytesIO], io.BufferedIOBase]] = {
    "": lambda raw: raw,
    "xz": lzma.LZMAFile,
    "gz": lambda raw: gzip.GzipFile(fileobj=raw),
    "bz2": bz2.BZ2File,
}


def open_member(
    raw: bytes, compression: str, zstd: str | None, what: str
) -> io.BufferedIOBase:
    """The member's content as an uncompressed stream."""
    if compression == "zst":
        return io.BytesIO(unzstd(raw, zstd, what))
    if compression not in OPENERS:
        raise DebError(f"{what}: unknown compression {compression!r}")
    return OPENERS[compression](io.BytesIO(raw))


def unzstd(raw: bytes, zstd: str | None, what: str) -> bytes:
    program = zstd or shutil.which("zstd")
    if not program:
        raise DebError(
            f"{what} is zstd-compressed and no zstd program was found (--zstd or PATH)"
        )
    result = subprocess.run(
        [program, "-d", "-c", "-q"], input=raw, capture_output=True, check=False
    )
    if result.returncode != 0:
        raise DebError(
            f"{what}: zstd failed: {result.stderr.decode(errors='replace').strip()}"
        )
    return result.stdout


def control_files(
    control_tar: io.BufferedIOBase, deb: Path, wanted: tuple[str, ...]
) -> dict[str, bytes]:
    """Files of the control tar by name ('./control' and 'control' alike)."""
    found: dict[str, bytes] = {}
    with tarfile.open(fileobj=control_tar, mode="r|") as archive:
        for member in archive:
            name = member.name.removeprefix("./")
            if name in wanted and member.isfile():
                extracted = archive.extractfile(member)
                if extracted is not None:
                    found[name] = extracted.read()
    if "control" not in found:
        raise DebError(f"{deb}: control.tar has no control file")
    return found


def extract(
    deb: Path,
    data_out: Path,
    control_out: Path,
    md5sums_out: Path | None,
    zstd: str | None,
) -> None:
    members = read_ar(deb)
    if members.get("debian-binary", b"").split(b".")[0] != b"2":
        raise DebError(f"{deb}: not a format 2.x .deb (debian-binary missing or wrong)")
    data_name, data_compression = find_member(members, "data.tar", deb)
    control_name, control_compression = find_member(members, "control.tar", deb)
    try:
        data = open_member(
            members[data_name], data_compression, zstd, f"{deb}: {data_name}"
        )
        with data, data_out.open("wb") as out:
            shutil.copyfileobj(data, out)
        control = open_member(
            members[control_name], control_compression, zstd, f"{deb}: {control_name}"
        )
        with control:
            files = control_files(control, deb, ("control", "md5sums"))
    except (EOFError, lzma.LZMAError, gzip.BadGzipFile, tarfile.TarError) as error:
        raise DebError(f"{deb}: cannot decompress: {error}") from None
    control_out.write_bytes(files["control"])
    if md5sums_out is not None:
        md5sums_out.write_bytes(files.get("md5sums", b""))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deb", required=True, type=Path, help="the .deb to read")
    parser.add_argument(
        "--data-out", required=True, type=Path, help="uncompressed data tar to write"
    )
    parser.add_argument(
        "--control-out", required=True, type=Path, help="control paragraph to write"
    )
    parser.add_argument(
        "--md5sums-out", type=Path, help="md5sums file to write (empty if none)"
    )
    parser.add_argument(
        "--zstd", help="zstd program for zstd-compressed members (default: PATH)"
    )
    args = parser.parse_args(argv)
    try:
        extract(args.deb, args.data_out, args.control_out, args.md5sums_out, args.zstd)
    except DebError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"error: {args.deb}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
