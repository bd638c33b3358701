"""layer.py: deterministic layers from specs and tars."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import json
import lzma
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import layer as layer_module
import ocilib
import pytest
from testlib import (
    build_layer,
    require_tool,
    run_tool,
    sha256_file,
    tool_env,
    write_json,
)

LONG_DIR = "app/" + "/".join(f"a_rather_long_directory_name_{i}" for i in range(5))


def _raw_headers(tar_bytes: bytes) -> list[bytes]:
    """Every 512-byte header block of a tar, PAX headers included, read independently."""
    headers, offset = [], 0
    while offset + 512 <= len(tar_bytes):
        block = tar_bytes[offset : offset + 512]
        if block == b"\0" * 512:
            break
        headers.append(block)
        size = int(block[124:136].rstrip(b"\0 ") or b"0", 8)
        offset += 512 + (size + 511) // 512 * 512
    return headers


def _sample_entries() -> list[dict[str, Any]]:
    return [
        {"path": "app/hello/app.py", "content": "print('hello')\n"},
        {"path": "app/bin/run", "content": "#!/bin/sh\n", "executable": True},
        {"path": "app/data.txt", "content": "data\n", "uid": 65532, "gid": 65532},
        {"path": "tmp", "type": "dir", "mode": "1777"},
        {
            "path": "home/nonroot",
            "type": "dir",
            "mode": "0700",
            "uid": 65532,
            "gid": 65532,
        },
        {"path": "app/current", "type": "symlink", "target": "hello"},
        {"path": f"{LONG_DIR}/deep.txt", "content": "deep\n"},
    ]


def test_tar_headers_are_normalized(tmp_path: Path) -> None:
    built = build_layer(tmp_path, _sample_entries())
    tar_bytes = built.tar.read_bytes()
    with tarfile.open(built.tar) as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert names == sorted(names, key=lambda n: n.encode())
    for member in members:
        assert member.mtime == 0
        assert member.uname == "" and member.gname == ""
        assert set(member.pax_headers) <= {"path", "linkpath"}
        parent = os.path.dirname(member.name)
        assert parent == "" or parent in names, f"{member.name} has no parent entry"
    by_name = {m.name: m for m in members}
    assert by_name["app/bin/run"].mode == 0o755
    assert by_name["app/hello/app.py"].mode == 0o644
    assert by_name["app"].mode == 0o755 and by_name["app"].isdir()
    assert by_name["tmp"].mode == 0o1777
    assert (by_name["home/nonroot"].uid, by_name["home/nonroot"].mode) == (65532, 0o700)
    assert by_name["app/current"].issym() and by_name["app/current"].linkname == "hello"
    assert by_name[f"{LONG_DIR}/deep.txt"].pax_headers == {
        "path": f"{LONG_DIR}/deep.txt"
    }
    after_pax = False
    for block in _raw_headers(tar_bytes):
        assert block[257:265] == b"ustar\x0000"  # POSIX ustar, not GNU.
        assert block[136:148] == b"00000000000\0"  # mtime 0, also in PAX headers.
        assert block[265:329] == b"\0" * 64  # Empty uname/gname.
        assert block[156:157] != b"g", "no global PAX headers"
        if block[156:157] == b"5" and not after_pax:  # (PAX "path" has the full name.)
            assert block[:100].rstrip(b"\0").endswith(b"/"), "directories end with /"
        after_pax = block[156:157] == b"x"


def test_descriptor_matches_blobs(tmp_path: Path) -> None:
    built = build_layer(tmp_path, _sample_entries())
    desc = built.descriptor
    gz = built.blob.read_bytes()
    assert desc["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip"
    assert desc["digest"] == sha256_file(built.blob)
    assert desc["size"] == len(gz)
    assert desc["diff_id"] == sha256_file(built.tar)
    assert gzip.decompress(gz) == built.tar.read_bytes()
    assert gz[4:8] == b"\0\0\0\0", "gzip header mtime is 0"
    assert built.descriptor_path.read_bytes() == ocilib.canonical_json(desc)


def _split(data: bytes, sizes: list[int]) -> list[bytes]:
    """Cut data into pieces of the given sizes, cycling through them."""
    pieces, offset, i = [], 0, 0
    while offset < len(data):
        pieces.append(data[offset : offset + sizes[i % len(sizes)]])
        offset += sizes[i % len(sizes)]
        i += 1
    return pieces


# A fixed input of a few MB: deflate and zstd both see several 1 MiB chunks of it.
SAMPLE = b"".join(
    f"line {i} {hashlib.sha256(str(i).encode()).hexdigest()}\n".encode()
    for i in range(60000)
)


def _decompress(compression: str, blob: bytes) -> bytes:
    """The compressed stream read back by the other implementation: the zstd tool."""
    if compression == "gzip":
        return gzip.decompress(blob)
    zstd = require_tool("zstd")
    return subprocess.run(
        [zstd, "-d", "-c", "-q"], input=blob, capture_output=True, check=True
    ).stdout


@pytest.mark.parametrize("compression", ["gzip", "zstd"])
def test_compression_is_a_function_of_the_tar_bytes(compression: str) -> None:
    # deflate and zstd output can depend on how their input is split into calls, so
    # the sink feeds the compressor fixed-size chunks: however the tar writer splits
    # its writes, the compressed bytes must come out the same.
    outputs = []
    for sizes in ([len(SAMPLE)], [1, 2, 3, 4096], [511], [1 << 20], [3_000_001, 7]):
        out = io.BytesIO()
        sink = layer_module.LayerSink(out, None, compression)
        for piece in _split(SAMPLE, sizes):
            sink.write(piece)
        sink.close()
        outputs.append(out.getvalue())
        assert sink.tar.digest == ocilib.sha256_digest(SAMPLE)
    assert len(set(outputs)) == 1
    assert _decompress(compression, outputs[0]) == SAMPLE


# The compressors are pinned (zlib-ng and zstandard in the lock): the same tar gives
# these bytes on every machine. A change here changes the digest of every layer.
PINNED = {
    "gzip": "sha256:8061dea0c08eecaae5f2a7c332b5fe06fc713960bf72a4836953dc011041145b",
    "zstd": "sha256:da05249ff5f5c5fc9ca7421f46538f96d1a5938fe7c5d3222182c66e01b01b0f",
}


@pytest.mark.parametrize("compression", ["gzip", "zstd"])
def test_the_pinned_compressors_give_the_pinned_bytes(compression: str) -> None:
    out = io.BytesIO()
    sink = layer_module.LayerSink(out, None, compression)  # The default level.
    sink.write(SAMPLE)
    sink.close()
    assert ocilib.sha256_digest(out.getvalue()) == PINNED[compression]


def test_zstd_layers(tmp_path: Path) -> None:
    gzip_layer = build_layer(tmp_path / "gzip", _sample_entries())
    built = build_layer(tmp_path / "zstd", _sample_entries(), "--compression", "zstd")
    desc, blob = built.descriptor, built.blob.read_bytes()
    assert desc["mediaType"] == "application/vnd.oci.image.layer.v1.tar+zstd"
    assert desc["digest"] == sha256_file(built.blob) and desc["size"] == len(blob)
    # The same tar as the gzip layer's, so the same diff_id: only the blob differs.
    assert built.tar.read_bytes() == gzip_layer.tar.read_bytes()
    assert desc["diff_id"] == gzip_layer.descriptor["diff_id"]
    assert _decompress("zstd", blob) == built.tar.read_bytes()
    # One frame whose header says: no content size, no dictionary, single-threaded
    # (not single-segment), and a content checksum at the end.
    assert blob[:4] == b"\x28\xb5\x2f\xfd"
    assert blob[4] == 0b0000_0100, f"frame header descriptor {blob[4]:08b}"
    assert built.listing.read_bytes() == gzip_layer.listing.read_bytes()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--compression", "zstd", "--compression-level", "20"], "zstd compression level must be 1..19, got 20"),
        (["--compression-level", "10"], "gzip compression level must be 0..9, got 10"),
        (["--compression", "lz4"], "invalid choice: 'lz4'"),
    ],
)  # fmt: skip
def test_bad_compression_arguments(
    tmp_path: Path, args: list[str], message: str
) -> None:
    spec = write_json(tmp_path / "spec.json", {"entries": []})
    result = subprocess.run(
        [sys.executable, str(layer_module.__file__), "--spec", spec, "--output",
         tmp_path / "l", "--descriptor", tmp_path / "l.json", *args],
        capture_output=True, text=True, check=False, env=tool_env(),
    )  # fmt: skip
    assert result.returncode != 0 and message in result.stderr, result.stderr
    assert not (tmp_path / "l").exists(), "nothing is written before the check"


def test_another_libzstd_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import zstandard

    monkeypatch.setattr(zstandard, "ZSTD_VERSION", (1, 5, 6))
    with pytest.raises(ocilib.OciError, match="bundles libzstd 1.5.6; layer digests are pinned to libzstd 1.5.7"):  # fmt: skip
        ocilib.layer_compressor("zstd")


def _make_tree(
    root: Path, reverse: bool, mtime: int, exec_mode: int
) -> list[dict[str, object]]:
    """The same files as another call, created in another order with other times."""
    files = [("a.py", b"print(1)\n", 0o644), ("sub/b.sh", b"#!/bin/sh\n", exec_mode)]
    entries: list[dict[str, object]] = []
    for name, data, mode in reversed(files) if reverse else files:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        path.chmod(mode)
        os.utime(path, (mtime, mtime))
        entries.append({"path": f"app/{name}", "source": str(path)})
    entries.append({"path": "app/empty", "type": "dir"})
    return list(reversed(entries)) if reverse else entries


def test_deterministic_across_order_times_umask_and_cwd(tmp_path: Path) -> None:
    outputs = []
    for n, (reverse, mtime, exec_mode, umask) in enumerate(
        [(False, 1000, 0o755, 0o022), (True, 1700000000, 0o700, 0o077)]
    ):
        work = tmp_path / f"work{n}"
        entries = _make_tree(work / "src", reverse, mtime, exec_mode)
        if n == 1:  # Relative sources, resolved from another working directory.
            for entry in entries:
                if "source" in entry:
                    entry["source"] = os.path.relpath(str(entry["source"]), work)
        spec = write_json(work / "spec.json", {"entries": entries})
        out = tmp_path / f"out{n}"
        out.mkdir()
        run_tool(
            "layer",
            "--spec",
            spec,
            "--output",
            out / "l.tar.gz",
            "--descriptor",
            out / "l.json",
            "--listing",
            out / "l.txt",
            cwd=work,
            umask=umask,
        )
        outputs.append(
            {
                name: (out / name).read_bytes()
                for name in ("l.tar.gz", "l.json", "l.txt")
            }
        )
        for name in ("l.tar.gz", "l.json", "l.txt"):
            assert (out / name).stat().st_mode & 0o777 == 0o644
    assert outputs[0] == outputs[1]
    plain = gzip.decompress(outputs[0]["l.tar.gz"])
    for leak in (str(tmp_path).encode(), b"root", b"work0"):
        assert leak not in plain + outputs[0]["l.json"] + outputs[0]["l.txt"]


def test_listing(tmp_path: Path) -> None:
    built = build_layer(tmp_path, _sample_entries())
    lines = built.listing.read_text().splitlines()
    assert lines[0].startswith("# path\ttype\tmode")
    rows = [line.split("\t") for line in lines[1:]]
    assert [r[0] for r in rows] == sorted((r[0] for r in rows), key=str.encode)
    by_path = {r[0]: r for r in rows}
    content = b"data\n"
    assert by_path["app/data.txt"] == [
        "app/data.txt",
        "file",
        "0644",
        "65532",
        "65532",
        str(len(content)),
        hashlib.sha256(content).hexdigest(),
        "-",
    ]
    assert by_path["app/current"][1:] == [
        "symlink",
        "0777",
        "0",
        "0",
        "0",
        "-",
        "hello",
    ]
    assert by_path["tmp"][1:3] == ["dir", "1777"]


def test_conflicting_entries_name_both_origins(tmp_path: Path) -> None:
    one = tmp_path / "one.txt"
    two = tmp_path / "two.txt"
    one.write_text("one")
    two.write_text("two")
    spec_a = write_json(
        tmp_path / "a.json", {"entries": [{"path": "etc/x", "source": str(one)}]}
    )
    spec_b = write_json(
        tmp_path / "b.json", {"entries": [{"path": "etc/x", "source": str(two)}]}
    )
    result = run_tool(
        "layer",
        "--spec",
        spec_a,
        "--spec",
        spec_b,
        "--output",
        tmp_path / "l.tgz",
        "--descriptor",
        tmp_path / "l.json",
        ok=False,
    )
    assert "conflicting entries for path 'etc/x'" in result.stderr
    assert "a.json entry 0" in result.stderr and "b.json entry 0" in result.stderr
    assert hashlib.sha256(b"one").hexdigest() in result.stderr


def test_mode_and_owner_conflicts_are_errors(tmp_path: Path) -> None:
    entries = [
        {"path": "srv", "type": "dir", "mode": "0755"},
        {"path": "srv", "type": "dir", "mode": "0700"},
    ]
    spec = write_json(tmp_path / "s.json", {"entries": entries})
    result = run_tool(
        "layer",
        "--spec",
        spec,
        "--output",
        tmp_path / "l",
        "--descriptor",
        tmp_path / "d",
        ok=False,
    )
    assert "conflicting entries for path 'srv'" in result.stderr
    assert "mode 0755" in result.stderr and "mode 0700" in result.stderr


def test_identical_duplicates_merge(tmp_path: Path) -> None:
    entry = {"path": "etc/motd", "content": "hi\n"}
    built = build_layer(tmp_path, [entry, entry, {"path": "etc", "type": "dir"}])
    with tarfile.open(built.tar) as tar:
        assert tar.getnames() == ["etc", "etc/motd"]


def test_file_where_a_directory_is_needed(tmp_path: Path) -> None:
    src = tmp_path / "f"
    src.write_text("x")
    entries = [
        {"path": "opt", "source": str(src)},
        {"path": "opt/tool", "source": str(src)},
    ]
    spec = write_json(tmp_path / "s.json", {"entries": entries})
    result = run_tool(
        "layer",
        "--spec",
        spec,
        "--output",
        tmp_path / "l",
        "--descriptor",
        tmp_path / "d",
        ok=False,
    )
    assert "needs the directory 'opt', but 'opt' is a file" in result.stderr


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"path": "/abs", "type": "dir"}, "must be relative and normalized"),
        ({"path": "a/../b", "type": "dir"}, "must be relative and normalized"),
        ({"path": "a//b", "type": "dir"}, "must be relative and normalized"),
        ({"path": "a/", "type": "dir"}, "must be relative and normalized"),
        ({"path": "./a", "type": "dir"}, "must be relative and normalized"),
        ({"path": "a\nb", "type": "dir"}, "control characters"),
        ({"path": "a", "type": "dir", "mode": 420}, "octal string"),
        ({"path": "a", "type": "dir", "mode": "0999"}, "octal string"),
        ({"path": "a", "type": "dir", "uid": -1}, "uid must be an integer"),
        ({"path": "a", "type": "fifo"}, "type must be one of"),
        ({"path": "a", "type": "dir", "owner": "root"}, "unknown keys ['owner']"),
        ({"path": "a"}, "a file entry needs ['source']"),
        ({"path": "a", "source": "/nonexistent/file"}, "cannot read source"),
        ({"path": "a", "type": "symlink"}, "a symlink entry needs ['target']"),
        (
            {"path": "a", "type": "dir", "source": "x"},
            "a dir entry cannot have ['source']",
        ),
        (
            {"path": "a", "type": "hardlink", "target": "b", "mode": "0644"},
            "cannot have ['mode']",
        ),
        (
            {"path": "a", "type": "hardlink", "target": "missing"},
            "which is not in the layer",
        ),
    ],
)
def test_bad_spec_entries(
    tmp_path: Path, entry: dict[str, object], message: str
) -> None:
    spec = write_json(tmp_path / "s.json", {"entries": [entry]})
    result = run_tool(
        "layer",
        "--spec",
        spec,
        "--output",
        tmp_path / "l",
        "--descriptor",
        tmp_path / "d",
        ok=False,
    )
    assert message in result.stderr
    assert "s.json entry 0" in result.stderr or "hardlink" in result.stderr


def test_spec_hardlink_and_mtime_option(tmp_path: Path) -> None:
    entries: list[dict[str, Any]] = [
        {"path": "usr/bin/zz-python3.13", "content": "ELF", "executable": True},
        {
            "path": "usr/bin/aa-python3",
            "type": "hardlink",
            "target": "usr/bin/zz-python3.13",
        },
    ]
    built = build_layer(tmp_path, entries, "--mtime", "1700000000")
    with tarfile.open(built.tar) as tar:
        members = {m.name: m for m in tar.getmembers()}
        # The bytewise-first path of the group holds the content: readers need the
        # link target before the link.
        assert members["usr/bin/aa-python3"].isreg()
        assert members["usr/bin/aa-python3"].mode == 0o755
        assert members["usr/bin/zz-python3.13"].islnk()
        assert members["usr/bin/zz-python3.13"].linkname == "usr/bin/aa-python3"
        assert {m.mtime for m in members.values()} == {1700000000}


# --- tar inputs ------------------------------------------------------------------------


def _deb_like_tar(fmt: int = tarfile.GNU_FORMAT) -> bytes:
    """A data.tar as Debian builds them: './' names, root owners, GNU long names."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:

        def add(
            name: str,
            kind: bytes,
            data: bytes = b"",
            mode: int | None = None,
            linkname: str = "",
        ) -> None:
            info = tarfile.TarInfo(name)
            info.type = kind
            info.mode = (
                mode
                if mode is not None
                else 0o755 if kind == tarfile.DIRTYPE else 0o644
            )
            info.linkname = linkname
            info.mtime = 1234567890
            info.uname = info.gname = "root"
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)

        add("./", tarfile.DIRTYPE)
        add("./usr/", tarfile.DIRTYPE)
        add("./usr/bin/", tarfile.DIRTYPE)
        add("./usr/bin/tool", tarfile.REGTYPE, b"\x7fELF tool", mode=0o755)
        add("./usr/bin/tool-alias", tarfile.SYMTYPE, linkname="tool")
        add("./usr/bin/a-hardlink", tarfile.LNKTYPE, linkname="./usr/bin/tool")
        add("./usr/share/", tarfile.DIRTYPE)
        add("./usr/share/doc/", tarfile.DIRTYPE)
        add("./usr/share/doc/tool/", tarfile.DIRTYPE)
        add("./usr/share/doc/tool/copyright", tarfile.REGTYPE, b"GPL")
        add("./usr/share/tool/" + "x" * 120 + ".txt", tarfile.REGTYPE, b"long")
        add("./etc/.wh.old.conf", tarfile.REGTYPE, b"")
        add("./var/lib/.wh..wh..opq", tarfile.REGTYPE, b"")
    return buf.getvalue()


def _compressed_variants(tmp_path: Path) -> dict[str, Path]:
    plain = _deb_like_tar()
    variants = {
        "tar": plain,
        "tar.gz": gzip.compress(plain, mtime=99),
        "tar.xz": lzma.compress(plain),
        "tar.bz2": bz2.compress(plain),
    }
    paths = {}
    for ext, data in variants.items():
        paths[ext] = tmp_path / f"data.{ext}"
        paths[ext].write_bytes(data)
    return paths


def _layer_from_tars(tmp_path: Path, name: str, tars: list[Path], *extra: str) -> Path:
    out = tmp_path / name
    out.mkdir()
    tar_args = [a for t in tars for a in ("--tar", str(t))]
    run_tool(
        "layer",
        *tar_args,
        *extra,
        "--output",
        out / "l.tar.gz",
        "--descriptor",
        out / "l.json",
        "--uncompressed-output",
        out / "l.tar",
        "--listing",
        out / "l.txt",
    )
    return out


def test_merge_tars_with_every_compression(tmp_path: Path) -> None:
    paths = _compressed_variants(tmp_path)
    if zstd := shutil.which("zstd"):
        subprocess.run(
            [
                zstd,
                "-q",
                "-19",
                str(paths["tar"]),
                "-o",
                str(tmp_path / "data.tar.zst"),
            ],
            check=True,
        )
        paths["tar.zst"] = tmp_path / "data.tar.zst"
    layers = {
        ext: _layer_from_tars(tmp_path, ext, [path], "--exclude", "usr/share/doc/*")
        for ext, path in paths.items()
    }
    reference = (layers["tar"] / "l.tar.gz").read_bytes()
    for ext, out in layers.items():
        assert (out / "l.tar.gz").read_bytes() == reference, f"{ext} differs"
    with tarfile.open(layers["tar"] / "l.tar") as tar:
        members = {m.name: m for m in tar.getmembers()}
    long_name = "usr/share/tool/" + "x" * 120 + ".txt"
    assert set(members) == {
        "etc",
        "etc/.wh.old.conf",
        "usr",
        "usr/bin",
        "usr/bin/a-hardlink",
        "usr/bin/tool",
        "usr/bin/tool-alias",
        "usr/share",
        "usr/share/doc",
        "usr/share/tool",
        long_name,
        "var",
        "var/lib",
        "var/lib/.wh..wh..opq",
    }
    assert members[
        "usr/bin/a-hardlink"
    ].isreg(), "first path of a hardlink group holds content"
    assert (
        members["usr/bin/tool"].islnk()
        and members["usr/bin/tool"].linkname == "usr/bin/a-hardlink"
    )
    assert members["usr/bin/tool-alias"].linkname == "tool"
    assert {(m.uid, m.gid, m.mtime, m.uname) for m in members.values()} == {
        (0, 0, 0, "")
    }
    assert members[long_name].pax_headers == {"path": long_name}


def test_zstd_input(tmp_path: Path) -> None:
    zstd = require_tool("zstd")
    plain = tmp_path / "data.tar"
    plain.write_bytes(_deb_like_tar())
    packed = tmp_path / "data.tar.zst"
    subprocess.run([zstd, "-q", str(plain), "-o", str(packed)], check=True)
    # Read in-process (the pinned zstandard): no zstd program on PATH needed.
    out = _layer_from_tars(tmp_path, "out", [packed])
    ref = _layer_from_tars(tmp_path, "ref", [plain])
    assert (out / "l.tar.gz").read_bytes() == (ref / "l.tar.gz").read_bytes()
    # A cut-off zstd input is an error naming it, never a shorter layer.
    cut = tmp_path / "cut.tar.zst"
    cut.write_bytes(packed.read_bytes()[: packed.stat().st_size // 2])
    result = run_tool(
        "layer",
        "--tar",
        cut,
        "--output",
        tmp_path / "x",
        "--descriptor",
        tmp_path / "y",
        ok=False,
    )
    assert "cannot read tar" in result.stderr and "cut.tar.zst" in result.stderr
    assert "truncated zstd data" in result.stderr, result.stderr
    assert not (tmp_path / "x").exists()


def test_exclude_directory_drops_subtree_and_keeps_hardlinked_content(
    tmp_path: Path,
) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        info = tarfile.TarInfo("./usr/share/doc/x/file")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"data"))
        link = tarfile.TarInfo("./usr/lib/kept")
        link.type = tarfile.LNKTYPE
        link.linkname = "./usr/share/doc/x/file"
        tar.addfile(link)
    src = tmp_path / "in.tar"
    src.write_bytes(buf.getvalue())
    out = _layer_from_tars(tmp_path, "out", [src], "--exclude", "usr/share/doc")
    with tarfile.open(out / "l.tar") as tar:
        assert tar.getnames() == ["usr", "usr/lib", "usr/lib/kept"]
        assert tar.extractfile("usr/lib/kept").read() == b"data"  # type: ignore[union-attr]


def test_strip_prefix(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name in ("package/", "package/lib/", "package/lib/index.js"):
            info = tarfile.TarInfo(name)
            info.type = tarfile.DIRTYPE if name.endswith("/") else tarfile.REGTYPE
            tar.addfile(info, io.BytesIO(b""))
    src = tmp_path / "pkg.tgz"
    src.write_bytes(gzip.compress(buf.getvalue()))
    out = _layer_from_tars(tmp_path, "out", [src], "--strip-prefix", "./package/")
    with tarfile.open(out / "l.tar") as tar:
        assert tar.getnames() == ["lib", "lib/index.js"]
    result = run_tool(
        "layer", "--tar", src, "--strip-prefix", "other", "--output", tmp_path / "x",
        "--descriptor", tmp_path / "y", ok=False,
    )  # fmt: skip
    assert "is not under --strip-prefix" in result.stderr


def test_tar_merged_with_spec_and_conflict_names_tar_member(tmp_path: Path) -> None:
    src = tmp_path / "data.tar.xz"
    src.write_bytes(lzma.compress(_deb_like_tar()))
    other = tmp_path / "other"
    other.write_text("not the tool")
    spec = write_json(
        tmp_path / "s.json",
        {"entries": [{"path": "usr/bin/tool", "source": str(other)}]},
    )
    result = run_tool(
        "layer", "--tar", src, "--spec", spec, "--output", tmp_path / "x",
        "--descriptor", tmp_path / "y", ok=False,
    )  # fmt: skip
    assert "conflicting entries for path 'usr/bin/tool'" in result.stderr
    assert "s.json entry 0" in result.stderr
    assert "data.tar.xz member './usr/bin/tool'" in result.stderr


@pytest.mark.parametrize("kind", [tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE])
def test_device_files_are_rejected(tmp_path: Path, kind: bytes) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("dev/null")
        info.type = kind
        tar.addfile(info)
    src = tmp_path / "dev.tar"
    src.write_bytes(buf.getvalue())
    result = run_tool(
        "layer",
        "--tar",
        src,
        "--output",
        tmp_path / "x",
        "--descriptor",
        tmp_path / "y",
        ok=False,
    )
    assert "device files and FIFOs cannot be put in a layer" in result.stderr
    assert "dev/null" in result.stderr


def test_unsafe_member_names_are_rejected(tmp_path: Path) -> None:
    for name in ("../escape", "/etc/passwd", "a/../../b"):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            tar.addfile(tarfile.TarInfo(name), io.BytesIO(b""))
        src = tmp_path / "bad.tar"
        src.write_bytes(buf.getvalue())
        result = run_tool(
            "layer",
            "--tar",
            src,
            "--output",
            tmp_path / "x",
            "--descriptor",
            tmp_path / "y",
            ok=False,
        )
        assert "is absolute or contains '..'" in result.stderr


def test_corrupt_tar_is_a_clean_error(tmp_path: Path) -> None:
    src = tmp_path / "bad.tar.gz"
    src.write_bytes(gzip.compress(b"not a tar at all" * 10)[:-8])
    result = run_tool(
        "layer",
        "--tar",
        src,
        "--output",
        tmp_path / "x",
        "--descriptor",
        tmp_path / "y",
        ok=False,
    )
    assert "cannot read tar" in result.stderr


# --- unit tests of the tar writer ------------------------------------------------------


def test_pax_record_lengths_are_self_consistent() -> None:
    for size in (1, 80, 93, 94, 95, 990, 995, 996, 1000):
        record = layer_module._pax_record("path", b"p" * size)
        length, _, _ = record.partition(b" ")
        assert int(length) == len(record)


def test_large_ids_go_to_pax_not_times() -> None:
    header = layer_module.tar_header(b"f", b"0", 0o644, 2**31, 5, 0, 0)
    info = tarfile.TarInfo.frombuf(header[-512:], "utf-8", "strict")
    assert info.gid == 5
    with tarfile.open(fileobj=io.BytesIO(header + b"\0" * 1024)) as tar:
        member = tar.getmembers()[0]
    assert member.uid == 2**31 and member.pax_headers == {"uid": str(2**31)}


def test_descriptor_json_is_canonical(tmp_path: Path) -> None:
    built = build_layer(tmp_path, [{"path": "x", "type": "dir"}])
    data = built.descriptor_path.read_bytes()
    assert (
        data
        == json.dumps(json.loads(data), sort_keys=True, separators=(",", ":")).encode()
    )
