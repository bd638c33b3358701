"""abi_check.py on small hand-made images: what loads, and the message for what does not.

Each image is an OCI layout written here (plain tar layers), with tiny ELF
files (//tools/elf:testing), dpkg status files and a wheel's dist-info, so
every message names its origin as in a real image. The real wrong inputs
(an x86_64 wheel in an arm64 image, ...) are in //tools/abi_check/tests.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import ld_cache
import ocilib
import pytest
from image_platforms import PLATFORMS
from testing import make_elf, make_tar

X86 = 62
LIBC_VERSIONS = ["GLIBC_2.2.5", "GLIBC_2.17", "GLIBC_2.34", "GLIBC_2.41"]


def libc_layer(arch: str = "amd64") -> list[tuple[str, object]]:
    platform = PLATFORMS[arch]
    triplet, machine = platform["multiarch"], platform["elf_machine"]
    loader = {"amd64": "ld-linux-x86-64.so.2", "arm64": "ld-linux-aarch64.so.1"}[arch]
    lib = f"usr/lib/{triplet}"
    return [
        ("lib", "->usr/lib"),
        ("lib64", "->usr/lib64"),
        (
            f"{lib}/libc.so.6",
            make_elf(soname="libc.so.6", machine=machine, version_defs=LIBC_VERSIONS),
        ),
        (f"{lib}/{loader}", make_elf(soname=loader, machine=machine)),
        (f"usr/lib64/{loader}", f"->../lib/{triplet}/{loader}"),
        ("usr/lib/ld-linux-aarch64.so.1", f"->{triplet}/{loader}"),
        ("var/lib/dpkg/status.d/libc6", b"Package: libc6\nVersion: 2.41-12\n"),
        (
            "var/lib/dpkg/status.d/libc6.md5sums",
            f"00  {lib}/libc.so.6\n00  {lib}/{loader}\n".encode(),
        ),
    ]


def wheel_layer(
    files: dict[str, bytes], name: str = "fastjson", version: str = "1.0"
) -> list[tuple[str, object]]:
    site = "app/site-packages"
    info = f"{site}/{name}-{version}.dist-info"
    record = (
        "".join(f"{path},sha256=x,1\n" for path in files)
        + f"{name}-{version}.dist-info/RECORD,,\n"
    )
    return [
        *((f"{site}/{path}", data) for path, data in files.items()),
        (
            f"{info}/METADATA",
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\nabout\n".encode(),
        ),
        (f"{info}/RECORD", record.encode()),
    ]


def write_image(
    path: Path,
    arch: str,
    layers: list[list[tuple[str, object]]],
    env: list[str] | None = None,
) -> Path:
    ocilib.init_layout(path)
    descriptors, diff_ids = [], []
    for entries in layers:
        data = make_tar(entries)
        digest = ocilib.write_blob(path, data)
        descriptors.append(
            ocilib.descriptor(ocilib.MEDIA_TYPE_LAYER_TAR, digest, len(data))
        )
        diff_ids.append("sha256:" + hashlib.sha256(data).hexdigest())
    config = {
        "architecture": arch,
        "os": "linux",
        "config": {"Env": env or []},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [
            {"created_by": f"bazel build @@//test:layer_{n}"}
            for n in range(len(layers))
        ],
    }
    config_descriptor = ocilib.write_json_blob(path, ocilib.MEDIA_TYPE_CONFIG, config)
    manifest = {
        "schemaVersion": 2,
        "mediaType": ocilib.MEDIA_TYPE_MANIFEST,
        "config": config_descriptor,
        "layers": descriptors,
    }
    ocilib.finish_layout(
        path, [ocilib.write_json_blob(path, ocilib.MEDIA_TYPE_MANIFEST, manifest)]
    )
    return path


def run_check(
    layout: Path, *extra: str, ok: bool = True
) -> subprocess.CompletedProcess[str]:
    program = os.environ.get("ABI_CHECK")
    argv = (
        [program]
        if program
        else [sys.executable, str(Path(__file__).parents[1] / "abi_check.py")]
    )
    argv += [
        "--layout",
        str(layout),
        "--image",
        "//test:image",
        "--output",
        str(layout.parent / "report.txt"),
        *extra,
    ]
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if ok:
        assert result.returncode == 0, result.stderr
    else:
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr, result.stderr
    return result


LOADER = "/lib64/ld-linux-x86-64.so.2"


def test_an_image_whose_files_load_passes_with_a_report(tmp_path: Path) -> None:
    extension = make_elf(("libc.so.6",), version_needs=[("libc.so.6", "GLIBC_2.34")])
    layout = write_image(
        tmp_path / "image",
        "amd64",
        [
            libc_layer(),
            [("usr/bin/tool", make_elf(("libc.so.6",), interp=LOADER))],
            wheel_layer(
                {"fastjson/_speedups.cpython-313-x86_64-linux-gnu.so": extension}
            ),
        ],
    )
    run_check(layout)
    report = (tmp_path / "report.txt").read_text().splitlines()
    assert (
        report[0]
        == "# ABI check of //test:image (linux/amd64): 4 ELF files, 4 checked, 0 ignored"
    )
    assert (
        "/app/site-packages/fastjson/_speedups.cpython-313-x86_64-linux-gnu.so\t"
        "fastjson 1.0 (Python distribution), layer 3 (bazel build //test:layer_2)\t"
        "libc.so.6=/lib/x86_64-linux-gnu/libc.so.6"
    ) in report


def test_a_file_of_another_architecture_is_named_with_its_origin(
    tmp_path: Path,
) -> None:
    x86_extension = make_elf(("libc.so.6",))
    layout = write_image(
        tmp_path / "image",
        "arm64",
        [
            libc_layer("arm64"),
            wheel_layer(
                {"fastjson/_speedups.cpython-313-x86_64-linux-gnu.so": x86_extension}
            ),
        ],
    )
    result = run_check(layout, ok=False)
    assert result.stderr == (
        "ABI check of //test:image (linux/arm64/v8): 1 file would not load\n"
        "- /app/site-packages/fastjson/_speedups.cpython-313-x86_64-linux-gnu.so\n"
        "  from fastjson 1.0 (Python distribution), layer 2 (bazel build //test:layer_1)\n"
        "  * it is built for ELF 64-bit LSB x86-64, the image is linux/arm64/v8 (AArch64).\n"
        "    Fix: take the build for the image's platform: for a wheel, third-party code "
        "from @pypi in the image's configuration (py_image_layers does); for a Debian "
        "package, the image architecture's.\n"
    )


def test_a_missing_library_lists_where_it_was_looked_for(tmp_path: Path) -> None:
    needing = make_elf(("libyaml-0.so.2", "libc.so.6"), runpath="$ORIGIN/../yaml.libs")
    layout = write_image(
        tmp_path / "image",
        "amd64",
        [libc_layer(), wheel_layer({"yaml/_yaml.so": needing}, "PyYAML", "6.0")],
    )
    result = run_check(layout, ok=False)
    assert (
        "- /app/site-packages/yaml/_yaml.so\n  from PyYAML 6.0 (Python distribution)"
        in result.stderr
    )
    assert (
        "* it needs libyaml-0.so.2 (DT_NEEDED), which is nowhere ld.so looks: "
        "/app/site-packages/yaml/../yaml.libs/libyaml-0.so.2 (DT_RUNPATH), ld.so.cache (none), "
        "/lib/x86_64-linux-gnu/libyaml-0.so.2, /usr/lib/x86_64-linux-gnu/libyaml-0.so.2, "
        "/lib/libyaml-0.so.2, /usr/lib/libyaml-0.so.2.\n"
        "    Fix: add the Debian package that provides it to the image"
    ) in result.stderr
    # Bundled where its RUNPATH says (as auditwheel does it), it loads.
    bundled = write_image(
        tmp_path / "bundled",
        "amd64",
        [
            libc_layer(),
            wheel_layer(
                {
                    "yaml/_yaml.so": needing,
                    "yaml.libs/libyaml-0.so.2": make_elf(("libc.so.6",)),
                },
                "PyYAML",
                "6.0",
            ),
        ],
    )
    run_check(bundled)


def test_a_newer_glibc_symbol_version_is_named_with_the_newest_there_is(
    tmp_path: Path,
) -> None:
    too_new = make_elf(
        ("libc.so.6",),
        version_needs=[("libc.so.6", "GLIBC_2.17"), ("libc.so.6", "GLIBC_2.43")],
    )
    layout = write_image(
        tmp_path / "image",
        "amd64",
        [libc_layer(), wheel_layer({"fastjson/_x.so": too_new})],
    )
    result = run_check(layout, ok=False)
    assert (
        "* it needs symbol version GLIBC_2.43 from libc.so.6, which "
        "/lib/x86_64-linux-gnu/libc.so.6 (Debian package libc6 2.41-12, layer 1 "
        "(bazel build //test:layer_0)) does not define; the newest GLIBC version it "
        "defines is GLIBC_2.41.\n"
        "    Fix: it was built against a newer glibc than the image's (2.41): use a wheel "
        "or package built for glibc 2.41 or older (for a wheel, manylinux_2_41 or "
        "lower: pin an older release of the distribution), or a base image with a newer glibc."
    ) in result.stderr
    # A weak need only warns at run time.
    weak = make_elf(("libc.so.6",), version_needs=[("libc.so.6", "GLIBC_2.43", True)])
    run_check(
        write_image(
            tmp_path / "weak",
            "amd64",
            [libc_layer(), wheel_layer({"fastjson/_x.so": weak})],
        )
    )


def test_a_missing_loader_is_named(tmp_path: Path) -> None:
    layout = write_image(
        tmp_path / "image", "amd64", [[("usr/bin/tool", make_elf(interp=LOADER))]]
    )
    result = run_check(layout, ok=False)
    assert (
        "* its loader /lib64/ld-linux-x86-64.so.2 (PT_INTERP) is not in the image."
        in result.stderr
    )
    assert "from layer 1 (bazel build //test:layer_0)" in result.stderr


def test_ld_library_path_and_the_cache_are_searched(tmp_path: Path) -> None:
    needing = make_elf(("libfoo.so.1",))
    flags = ld_cache.flags_for(X86)
    layers = [
        libc_layer(),
        [("opt/foo/libfoo.so.1", make_elf()), ("usr/bin/tool", needing)],
    ]
    run_check(
        write_image(tmp_path / "env", "amd64", layers, env=["LD_LIBRARY_PATH=/opt/foo"])
    )
    cache = ld_cache.write(
        [ld_cache.Entry("libfoo.so.1", "/opt/foo/libfoo.so.1", flags)]
    )
    run_check(
        write_image(
            tmp_path / "cache", "amd64", layers + [[("etc/ld.so.cache", cache)]]
        )
    )
    # An entry naming a file the image lacks: the cache is stale.
    stale = ld_cache.write(
        [ld_cache.Entry("libgone.so.1", "/opt/gone/libgone.so.1", flags)]
    )
    result = run_check(
        write_image(
            tmp_path / "stale", "amd64", [libc_layer(), [("etc/ld.so.cache", stale)]]
        ),
        ok=False,
    )
    assert (
        "* it lists libgone.so.1 => /opt/gone/libgone.so.1, which is no loadable file of the image."
        in result.stderr
    )


def test_ignored_files_are_reported_and_must_still_fail(tmp_path: Path) -> None:
    broken = make_elf(("libsqlite3.so.0",))
    layers = [
        libc_layer(),
        [
            (
                "usr/lib/python3.13/lib-dynload/_sqlite3.cpython-313-x86_64-linux-gnu.so",
                broken,
            )
        ],
    ]
    layout = write_image(tmp_path / "image", "amd64", layers)
    reason = "libsqlite3-0 is left out"
    run_check(
        layout, f"--ignore=/usr/lib/python3.13/lib-dynload/_sqlite3.*.so={reason}"
    )
    report = (tmp_path / "report.txt").read_text()
    assert f"\tignored: {reason}" in report
    fixed = write_image(
        tmp_path / "fixed",
        "amd64",
        layers + [[("usr/lib/x86_64-linux-gnu/libsqlite3.so.0", make_elf())]],
    )
    result = run_check(
        fixed,
        f"--ignore=/usr/lib/python3.13/lib-dynload/_sqlite3.*.so={reason}",
        ok=False,
    )
    assert (
        f"* it is ignored ({reason}), yet it would load.\n    Fix: remove it from the ignore list."
        in result.stderr
    )


@pytest.mark.parametrize("bad", ["relative/*.so=why", "/x.so=", "/x.so"])
def test_bad_ignore_arguments_are_refused(tmp_path: Path, bad: str) -> None:
    layout = write_image(tmp_path / "image", "amd64", [libc_layer()])
    result = run_check(layout, f"--ignore={bad}", ok=False)
    assert "expected /GLOB=REASON" in result.stderr


def test_an_unknown_architecture_and_a_bad_layout_are_named(tmp_path: Path) -> None:
    result = run_check(
        write_image(tmp_path / "image", "riscv64", [libc_layer()]), ok=False
    )
    assert "the image is for architecture 'riscv64'" in result.stderr
    (tmp_path / "empty").mkdir()
    result = run_check(tmp_path / "empty", ok=False)
    assert str(tmp_path / "empty") in result.stderr
