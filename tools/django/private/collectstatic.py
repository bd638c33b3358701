#!/usr/bin/env python3
"""Run a Django project's collectstatic at build time, into a directory and a tar.

    collectstatic.py --settings notes.settings --out-dir DIR --tar static.tar
                     --prefix app/static [--env KEY=VALUE]...

Django is set up with the project's settings (DJANGO_SETTINGS_MODULE; --env
gives the variables its settings require, build-time values only: the
static files never contain them), STATIC_ROOT is pointed at --out-dir, and
`collectstatic --no-input` runs with the project's own storage (hashed names
and compressed copies, for a ManifestStaticFilesStorage such as
WhiteNoise's). The manifest (staticfiles.json) is rewritten with sorted
keys, so its bytes do not depend on the order the file system lists files
in. The tar holds the same files below --prefix: sorted, mtime 0, owner
0:0, files 0644 and directories 0755, for an oci_layer's `tars`.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import sys
import tarfile
from pathlib import Path

MANIFEST = "staticfiles.json"


class CollectError(Exception):
    """What the action reports: one line, then exit 1."""


def normalise_manifest(root: Path) -> None:
    manifest = root / MANIFEST
    if manifest.exists():
        data = json.loads(manifest.read_text(encoding="utf-8"))
        manifest.write_text(json.dumps(data, sort_keys=True), encoding="utf-8")


def check_gzip_files(root: Path) -> None:
    """A .gz file stamped with a time would change the layer at every build."""
    for path in sorted(root.rglob("*.gz")):
        with path.open("rb") as stream:
            header = stream.read(10)
        if header[:2] == b"\x1f\x8b" and header[4:8] != b"\0\0\0\0":
            raise CollectError(
                f"{path.relative_to(root)}: gzip header carries a time stamp"
                " (the storage's compressor is not reproducible)"
            )


def write_tar(root: Path, prefix: str, out: Path) -> None:
    prefix = prefix.strip("/")
    entries = sorted(root.rglob("*"))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        parts = prefix.split("/")
        for depth in range(1, len(parts) + 1):
            tar.addfile(_info("/".join(parts[:depth]), tarfile.DIRTYPE, 0o755))
        for path in entries:
            name = f"{prefix}/{path.relative_to(root).as_posix()}"
            if path.is_symlink():
                raise CollectError(f"{name}: a symlink; expected files only")
            if path.is_dir():
                tar.addfile(_info(name, tarfile.DIRTYPE, 0o755))
            else:
                data = path.read_bytes()
                info = _info(name, tarfile.REGTYPE, 0o644)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    out.write_bytes(buffer.getvalue())


def _info(name: str, kind: bytes, mode: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def collect(settings_module: str, out_dir: Path) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    import django
    from django.conf import settings
    from django.core.management import call_command

    django.setup()
    settings.STATIC_ROOT = str(out_dir)
    call_command("collectstatic", interactive=False, verbosity=0)
    if not any(out_dir.iterdir()):
        raise CollectError(f"{settings_module}: collectstatic collected no file")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", required=True, help="the settings module")
    parser.add_argument("--out-dir", required=True, type=Path)
    parser.add_argument("--tar", required=True, type=Path)
    parser.add_argument(
        "--prefix", required=True, help="the files' directory in the image"
    )
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE")
    args = parser.parse_args(argv)
    for item in args.env:
        key, sep, value = item.partition("=")
        if not sep or not key:
            print(f"collectstatic: --env {item!r}: expected KEY=VALUE", file=sys.stderr)
            return 2
        os.environ[key] = value
    try:
        args.out_dir.mkdir(parents=True, exist_ok=True)
        collect(args.settings, args.out_dir)
        normalise_manifest(args.out_dir)
        check_gzip_files(args.out_dir)
        write_tar(args.out_dir, args.prefix, args.tar)
    except CollectError as err:
        print(f"collectstatic: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
