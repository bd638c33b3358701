"""ldconfig.py against glibc's own ldconfig, on Debian packages of both architectures.

For amd64 (the build root's architecture), glibc's ldconfig writes a cache
for the same root (`ldconfig -r ROOT`, which chroots: root only), and both
caches are listed by glibc's reader (`ldconfig -p -C FILE`): the lists must
be the same, in the same order. glibc's x86-64 ldconfig skips arm64
libraries, so for arm64 its reader lists our cache and the entries are
checked by name.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import ld_cache
import pytest
from testing import make_elf, make_tar

# libc-bin's /etc/ld.so.conf; libc6 ships /etc/ld.so.conf.d/TRIPLET.conf.
LD_SO_CONF = b"include /etc/ld.so.conf.d/*.conf\n"


def conf_tar(tmp_path: Path, *extra: tuple[str, object]) -> Path:
    path = tmp_path / "conf.tar"
    path.write_bytes(make_tar([("etc/ld.so.conf", LD_SO_CONF), *extra]))
    return path


def package_tars(variable: str) -> list[Path]:
    tars = [Path(p) for p in os.environ.get(variable, "").split()]
    if not tars:
        pytest.skip(f"{variable} names no package data tar (run under Bazel)")
    return tars


def run_ldconfig(
    arch: str, tars: list[Path], output: Path, *extra: str, ok: bool = True
):
    program = os.environ.get("LDCONFIG")
    argv = (
        [program]
        if program
        else [sys.executable, str(Path(__file__).parents[1] / "ldconfig.py")]
    )
    argv += ["--arch", arch, "--output", str(output), *extra]
    argv += [f"--tar={t}" for t in tars]
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if ok:
        assert result.returncode == 0, result.stderr
    else:
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr, result.stderr
    return result


def glibc_ldconfig() -> str:
    tool = shutil.which("ldconfig") or "/usr/sbin/ldconfig"
    if not os.path.exists(tool):
        pytest.skip("glibc's ldconfig is not installed")
    return tool


def listed(cache: Path) -> list[str]:
    """glibc's reading of a cache: its entry lines, without header and footer."""
    text = subprocess.run(
        [glibc_ldconfig(), "-p", "-C", str(cache)],
        capture_output=True,
        text=True,
        check=True,
        env={"LC_ALL": "C"},
    ).stdout
    return [line for line in text.splitlines() if line.startswith("\t")]


def test_amd64_cache_is_the_one_glibcs_ldconfig_writes(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("glibc's ldconfig -r chroots, which needs root")
    tars = package_tars("AMD64_TARS") + [conf_tar(tmp_path)]
    ours = tmp_path / "ours.cache"
    run_ldconfig("amd64", tars, ours, "--listing", str(tmp_path / "ours.txt"))
    root = tmp_path / "root"
    root.mkdir()
    for tar in tars:
        with tarfile.open(tar) as archive:
            archive.extractall(root, filter="fully_trusted")
    subprocess.run(
        [glibc_ldconfig(), "-r", str(root), "-C", "/etc/ld.so.cache", "-X"],
        capture_output=True,
        check=True,
    )
    theirs = listed(root / "etc/ld.so.cache")
    assert listed(ours) == theirs
    assert len(theirs) > 20  # libc6, libstdc++6 and zlib1g's libraries.
    assert "\tlibz.so.1 (libc6,x86-64) => /lib/x86_64-linux-gnu/libz.so.1" in theirs
    # --listing is what glibc prints.
    assert (tmp_path / "ours.txt").read_text().splitlines() == theirs


def test_arm64_cache_is_read_by_glibc(tmp_path: Path) -> None:
    tars = package_tars("ARM64_TARS") + [conf_tar(tmp_path)]
    ours = tmp_path / "arm64.cache"
    run_ldconfig("arm64", tars, ours)
    entries = listed(ours)
    assert "\tlibc.so.6 (libc6,AArch64) => /lib/aarch64-linux-gnu/libc.so.6" in entries
    assert "\tlibm.so.6 (libc6,AArch64) => /lib/aarch64-linux-gnu/libm.so.6" in entries
    assert not [e for e in entries if "x86-64" in e]


def test_the_same_tars_give_the_same_bytes(tmp_path: Path) -> None:
    tars = package_tars("ARM64_TARS") + [conf_tar(tmp_path)]
    first, second = tmp_path / "a" / "cache", tmp_path / "b" / "cache"
    for output in (first, second):
        output.parent.mkdir()
        run_ldconfig("arm64", tars, output)
    assert first.read_bytes() == second.read_bytes()


def test_configuration_links_and_other_architectures(tmp_path: Path) -> None:
    lib = "usr/lib/x86_64-linux-gnu"
    tar = tmp_path / "root.tar"
    tar.write_bytes(
        make_tar(
            [
                ("lib", "->usr/lib"),
                (
                    "etc/ld.so.conf",
                    b"# comment\ninclude ld.so.conf.d/*.conf\nhwcap 0 x\n",
                ),
                ("etc/ld.so.conf.d/b.conf", b"/opt/b/\n"),
                (
                    "etc/ld.so.conf.d/a.conf",
                    b"/opt/a  # trailing comment\n/opt/missing\n",
                ),
                ("opt/a/libfoo.so.1.2", make_elf(soname="libfoo.so.1")),
                ("opt/a/libfoo.so.1", "->libfoo.so.1.2"),
                ("opt/a/libfoo.so", "->libfoo.so.1"),  # The .so link for ld(1).
                ("opt/a/libbar.so.2", make_elf()),  # No SONAME: its file name.
                ("opt/a/README.so.txt", b"not a library name"),
                ("opt/b/libfoo.so.1", make_elf(soname="libfoo.so.1")),
                ("opt/b/libarm.so.1", make_elf(soname="libarm.so.1", machine=183)),
                ("opt/b/libdangling.so.1", "->gone"),
                (f"{lib}/libc.so.6", make_elf(soname="libc.so.6")),
            ]
        )
    )
    cache = tmp_path / "cache"
    run_ldconfig("amd64", [tar], cache)
    flags = ld_cache.flags_for(62)
    assert ld_cache.read(cache.read_bytes()) == [
        ld_cache.Entry("libfoo.so.1", "/opt/a/libfoo.so.1", flags),
        ld_cache.Entry("libfoo.so.1", "/opt/b/libfoo.so.1", flags),  # a.conf first.
        ld_cache.Entry("libfoo.so", "/opt/a/libfoo.so", flags),
        ld_cache.Entry("libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6", flags),
        ld_cache.Entry("libbar.so.2", "/opt/a/libbar.so.2", flags),
    ]


def test_what_the_layers_leave_out_is_not_listed(tmp_path: Path) -> None:
    # images/distroless.bzl gives the cache the layers' --exclude globs: a
    # library they drop must not be in the cache (ld.so would find nothing).
    lib = "usr/lib/x86_64-linux-gnu"
    tar = tmp_path / "root.tar"
    tar.write_bytes(
        make_tar(
            [
                ("lib", "->usr/lib"),
                (f"{lib}/libc.so.6", make_elf(soname="libc.so.6")),
                (f"{lib}/libtic.so.6.5", make_elf(soname="libtic.so.6")),
                (f"{lib}/libtic.so.6", "->libtic.so.6.5"),
                (f"{lib}/plugins/libplug.so.1", make_elf(soname="libplug.so.1")),
                ("etc/ld.so.conf", f"/{lib}/plugins\n".encode()),
            ]
        )
    )
    every, kept = tmp_path / "every", tmp_path / "kept"
    run_ldconfig("amd64", [tar], every)
    excludes = ["--exclude", "usr/lib/*/libtic.so*", "--exclude", f"{lib}/plugins"]
    run_ldconfig("amd64", [tar], kept, *excludes)
    names = lambda cache: sorted(
        e.key for e in ld_cache.read(cache.read_bytes())
    )  # noqa: E731
    assert names(every) == ["libc.so.6", "libplug.so.1", "libtic.so.6"]
    assert names(kept) == ["libc.so.6"]


def test_a_root_without_libraries_is_an_error(tmp_path: Path) -> None:
    tar = tmp_path / "empty.tar"
    tar.write_bytes(make_tar([("etc/hostname", b"x\n")]))
    result = run_ldconfig("arm64", [tar], tmp_path / "cache", ok=False)
    assert "no arm64 shared library in any directory ld.so searches" in result.stderr
    broken = tmp_path / "broken.tar"
    broken.write_bytes(b"not a tar")
    result = run_ldconfig("arm64", [broken], tmp_path / "cache", ok=False)
    assert f"--tar {broken}:" in result.stderr
