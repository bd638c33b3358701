"""py_slim.py and py_slim_probe.py: a trimmed Python runtime from package tars.

ELF files and package tars are synthetic and tiny; the probe runs a small
http.server service under this interpreter.
"""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
from pathlib import Path

import module_list
import packages as package_tree
import py_slim_probe
import pytest
from programs import run_program, run_tool
from testing import make_elf

TRIPLET = "x86_64-linux-gnu"
LIB = f"usr/lib/{TRIPLET}"
STDLIB = "usr/lib/python3.13"
LOADER = "/lib64/ld-linux-x86-64.so.2"


# --- synthetic inputs ----------------------------------------------------------------


def make_tar(path: Path, entries: dict[str, bytes | str | None]) -> Path:
    """bytes: a file (0755 if ELF, else 0644); str: a symlink; None: a directory."""
    with tarfile.open(path, "w") as tar:
        for name, value in entries.items():
            info = tarfile.TarInfo("./" + name)
            if value is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            elif isinstance(value, str):
                info.type, info.linkname = tarfile.SYMTYPE, value
                tar.addfile(info)
            else:
                info.size = len(value)
                info.mode = 0o755 if value.startswith(b"\x7fELF") else 0o644
                tar.addfile(info, io.BytesIO(value))
    return path


def modules_file(path: Path, *lines: str) -> Path:
    header = [f"# stdlib /{STDLIB}", f"# multiarch {TRIPLET}", "# request GET / -> 200"]
    path.write_text("\n".join(header + list(lines)) + "\n", encoding="utf-8")
    return path


def tar_members(path: Path) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(path) as tar:
        return {m.name: m for m in tar}


@pytest.fixture
def packages(tmp_path: Path) -> dict[str, Path]:
    """An interpreter, a library (through a symlink) that needs another, a loader."""
    python = {
        "usr": None,
        "usr/bin": None,
        "usr/bin/python3.13": make_elf(("libfoo.so.1", "libc.so.6"), interp=LOADER),
        STDLIB: None,
        f"{STDLIB}/os.py": b"# os\n",
        f"{STDLIB}/site.py": b"# site\n",
        f"{STDLIB}/encodings/__init__.py": b"",
        f"{STDLIB}/encodings/utf_8.py": b"",
        f"{STDLIB}/email/__init__.py": b"",
        f"{STDLIB}/lib-dynload": None,
        f"{STDLIB}/lib-dynload/_bz2.cpython-313-{TRIPLET}.so": make_elf(
            ("libbz2.so.1.0",)
        ),
        f"{STDLIB}/sitecustomize.py": "/etc/python3.13/sitecustomize.py",
        "etc/python3.13/sitecustomize.py": b"# sitecustomize\n",
        "usr/share/doc/python3.13/copyright": b"PSF\n",
    }
    libfoo = {
        f"{LIB}/libfoo.so.1": "libfoo.so.1.2.3",
        f"{LIB}/libfoo.so.1.2.3": make_elf(("libbar.so.2",)),
        f"{LIB}/libunused.so.9": make_elf(),
        "usr/share/doc/libfoo1": "libfoo-common",
        "usr/share/doc/libfoo-common/copyright": b"foo license\n",
    }
    libc = {
        f"{LIB}/libc.so.6": make_elf(interp=LOADER),
        f"{LIB}/libbar.so.2": make_elf(("libc.so.6",)),
        f"{LIB}/libbz2.so.1.0": make_elf(),
        f"{LIB}/libgcc_s.so.1": make_elf(("libc.so.6",)),
        f"{LIB}/ld-linux-x86-64.so.2": make_elf(),
        "usr/lib64": None,
        "usr/lib64/ld-linux-x86-64.so.2": f"../lib/{TRIPLET}/ld-linux-x86-64.so.2",
    }
    return {
        name: make_tar(tmp_path / f"{name}.tar", entries)
        for name, entries in (
            ("python3.13", python),
            ("libfoo1", libfoo),
            ("libc6", libc),
        )
    }


def run_slim(
    tmp_path: Path,
    packages: dict[str, Path],
    modules: Path,
    *extra: str,
    ok: bool = True,
    arch: str = "amd64",
):
    args = ["--arch", arch, "--modules", modules, "--interpreter", "usr/bin/python3.13"]
    args += [f"--package={name}={path}" for name, path in packages.items()]
    args += [
        "--output",
        tmp_path / "runtime.tar",
        "--report",
        tmp_path / "report.txt",
        *extra,
    ]
    return run_tool("py_slim", *args, ok=ok)


# --- paths and modules ---------------------------------------------------------------


def test_canonical_reads_merged_usr() -> None:
    assert (
        package_tree.canonical("/lib64/ld-linux-x86-64.so.2")
        == "usr/lib64/ld-linux-x86-64.so.2"
    )
    assert package_tree.canonical("./usr/lib/../bin/python3") == "usr/bin/python3"
    assert (
        package_tree.canonical("lib/x86_64-linux-gnu/libc.so.6") == f"{LIB}/libc.so.6"
    )
    assert package_tree.canonical("libexec/x") == "libexec/x"


@pytest.mark.parametrize(
    ("kind", "path", "expected"),
    [
        ("source", "json/__init__.py", f"{STDLIB}/json/__init__.py"),
        ("source", "socket.py", f"{STDLIB}/socket.py"),
        ("frozen", "os.py", f"{STDLIB}/os.py"),
        ("frozen", "-", None),
        ("builtin", "-", None),
        ("app", "/app/hello/app.py", None),
        (
            "extension",
            f"lib-dynload/_bz2.cpython-313-{TRIPLET}.so",
            f"{STDLIB}/lib-dynload/_bz2.cpython-313-aarch64-linux-gnu.so",
        ),
        (
            "source",
            f"_sysconfigdata__linux_{TRIPLET}.py",
            f"{STDLIB}/_sysconfigdata__linux_aarch64-linux-gnu.py",
        ),
    ],
)
def test_module_file_for_the_target_architecture(
    kind: str, path: str, expected: str | None
) -> None:
    module = module_list.Module("m", kind, path, "serving")
    assert (
        module_list.module_file(module, STDLIB, TRIPLET, "aarch64-linux-gnu")
        == expected
    )


def test_keeps_what_is_needed_transitively(
    tmp_path: Path, packages: dict[str, Path]
) -> None:
    modules = modules_file(
        tmp_path / "modules.tsv",
        "_io\tbuiltin\t-\tserving",
        "encodings\tsource\tencodings/__init__.py\tserving",
        "encodings.utf_8\tsource\tencodings/utf_8.py\tserving",
        "hello\tapp\t/app/hello/__init__.py\tserving",
        "os\tfrozen\tos.py\tserving",
        "sitecustomize\tsource\tsitecustomize.py\tserving",
    )
    run_slim(tmp_path, packages, modules, "--library", "libgcc_s.so.1")
    members = tar_members(tmp_path / "runtime.tar")
    files = {name for name, m in members.items() if m.isfile()}
    assert files == {
        "usr/bin/python3.13",
        f"{STDLIB}/encodings/__init__.py",
        f"{STDLIB}/encodings/utf_8.py",
        f"{STDLIB}/os.py",
        "etc/python3.13/sitecustomize.py",  # Through an absolute symlink.
        f"{LIB}/libfoo.so.1.2.3",  # Through libfoo.so.1.
        f"{LIB}/libbar.so.2",  # Needed by libfoo, not by python.
        f"{LIB}/libc.so.6",
        f"{LIB}/libgcc_s.so.1",  # --library.
        f"{LIB}/ld-linux-x86-64.so.2",  # PT_INTERP, through usr/lib64.
        "usr/share/doc/python3.13/copyright",
        "usr/share/doc/libfoo-common/copyright",  # Through libfoo1's doc symlink.
    }
    links = {name: m.linkname for name, m in members.items() if m.issym()}
    assert links == {
        f"{LIB}/libfoo.so.1": "libfoo.so.1.2.3",
        "usr/lib64/ld-linux-x86-64.so.2": f"../lib/{TRIPLET}/ld-linux-x86-64.so.2",
        f"{STDLIB}/sitecustomize.py": "/etc/python3.13/sitecustomize.py",
        "usr/share/doc/libfoo1": "libfoo-common",
    }
    assert (
        f"{STDLIB}/lib-dynload" in members and members[f"{STDLIB}/lib-dynload"].isdir()
    )
    assert members["usr/bin/python3.13"].mode == 0o755
    assert members[f"{STDLIB}/os.py"].mode == 0o644
    report = (tmp_path / "report.txt").read_text()
    assert f"/{LIB}/libbar.so.2\tfile\t" in report
    assert f"libbar.so.2: DT_NEEDED of /{LIB}/libfoo.so.1.2.3" in report
    assert "module encodings.utf_8 (serving)" in report
    assert "dynamic loader of /usr/bin/python3.13 (PT_INTERP)" in report
    assert "built into the interpreter (no file): _io" in report
    assert f"# architecture amd64, multiarch {TRIPLET}\n" in report
    # What the packages hold and the image does not, each with its package.
    left_out = {
        line.split("\t")[0]: line.split("\t")[3]
        for line in report.splitlines()
        if line.endswith("\tleft out")
    }
    assert left_out == {
        f"/{STDLIB}/site.py": "python3.13",
        f"/{STDLIB}/email/__init__.py": "python3.13",
        f"/{STDLIB}/lib-dynload/_bz2.cpython-313-{TRIPLET}.so": "python3.13",
        f"/{LIB}/libunused.so.9": "libfoo1",
        f"/{LIB}/libbz2.so.1.0": "libc6",
    }
    assert not set(left_out) & {"/" + name for name in members}


def test_extension_modules_bring_their_libraries(
    tmp_path: Path, packages: dict[str, Path]
) -> None:
    modules = modules_file(
        tmp_path / "modules.tsv",
        f"_bz2\textension\tlib-dynload/_bz2.cpython-313-{TRIPLET}.so\tserving",
    )
    run_slim(tmp_path, packages, modules)
    members = tar_members(tmp_path / "runtime.tar")
    assert f"{STDLIB}/lib-dynload/_bz2.cpython-313-{TRIPLET}.so" in members
    assert f"{LIB}/libbz2.so.1.0" in members


def test_the_services_extension_modules_bring_their_libraries(
    tmp_path: Path, packages: dict[str, Path]
) -> None:
    site = "app/site-packages"
    layer = make_tar(
        tmp_path / "app.tar",
        {
            f"{site}/fast/_core.so": make_elf(
                ("libbar.so.2", "libbundled.so.1"), runpath="$ORIGIN/../fast.libs"
            ),
            f"{site}/fast.libs/libbundled.so.1": make_elf(("libbz2.so.1.0",)),
            f"{site}/fast/__init__.py": b"",
        },
    )
    run_slim(
        tmp_path, packages, modules_file(tmp_path / "m.tsv"), f"--app-layer={layer}"
    )
    members = tar_members(tmp_path / "runtime.tar")
    assert f"{LIB}/libbar.so.2" in members  # Needed by the extension module.
    assert f"{LIB}/libbz2.so.1.0" in members  # Needed by the library it bundles.
    assert not [name for name in members if name.startswith("app/")]
    report = (tmp_path / "report.txt").read_text()
    assert (
        f"libbar.so.2: DT_NEEDED of /{site}/fast/_core.so (the service's layers)"
        in report
    )


def test_the_services_layers_must_be_for_the_architecture(
    tmp_path: Path, packages: dict[str, Path]
) -> None:
    layer = make_tar(
        tmp_path / "app.tar", {"app/site-packages/fast/_core.so": make_elf(machine=183)}
    )
    result = run_slim(
        tmp_path,
        packages,
        modules_file(tmp_path / "m.tsv"),
        f"--app-layer={layer}",
        ok=False,
    )
    assert (
        "/app/site-packages/fast/_core.so (the service's layers) is built for ELF "
        "machine 183, not x86_64-linux-gnu" in result.stderr
    )
    missing = make_tar(
        tmp_path / "missing.tar", {"app/x/_y.so": make_elf(("libnowhere.so.3",))}
    )
    result = run_slim(
        tmp_path,
        packages,
        modules_file(tmp_path / "m.tsv"),
        f"--app-layer={missing}",
        ok=False,
    )
    assert (
        "/app/x/_y.so (the service's layers) needs libnowhere.so.3 (DT_NEEDED), "
        "which neither its layers nor the packages have" in result.stderr
    )


def test_a_missing_library_is_named_with_what_needs_it(
    tmp_path: Path, packages: dict[str, Path]
) -> None:
    packages["libfoo1"] = make_tar(
        tmp_path / "broken.tar", {f"{LIB}/libfoo.so.1": make_elf(("libmissing.so.7",))}
    )
    result = run_slim(tmp_path, packages, modules_file(tmp_path / "m.tsv"), ok=False)
    assert (
        f"/{LIB}/libfoo.so.1 needs libmissing.so.7 (DT_NEEDED), "
        "which none of the packages has" in result.stderr
    )


def test_a_dangling_library_symlink_is_missing(
    tmp_path: Path, packages: dict[str, Path]
) -> None:
    packages["libfoo1"] = make_tar(
        tmp_path / "dangling.tar", {f"{LIB}/libfoo.so.1": "libfoo.so.1.2.3"}
    )
    result = run_slim(tmp_path, packages, modules_file(tmp_path / "m.tsv"), ok=False)
    assert "/usr/bin/python3.13 needs libfoo.so.1 (DT_NEEDED)" in result.stderr


def test_a_module_without_its_file_is_an_error(
    tmp_path: Path, packages: dict[str, Path]
) -> None:
    modules = modules_file(
        tmp_path / "m.tsv", "tempfile\tsource\ttempfile.py\tallowlist"
    )
    result = run_slim(tmp_path, packages, modules, ok=False)
    assert (
        f"module tempfile (allowlist) needs /{STDLIB}/tempfile.py, "
        "which none of the packages has" in result.stderr
    )


def test_other_architectures_are_rejected(
    tmp_path: Path, packages: dict[str, Path]
) -> None:
    result = run_slim(
        tmp_path, packages, modules_file(tmp_path / "m.tsv"), ok=False, arch="arm64"
    )
    assert (
        "/usr/bin/python3.13 is built for ELF machine 62, not aarch64-linux-gnu"
        in result.stderr
    )


def test_dpkg_status_of_the_packages_used(
    tmp_path: Path, packages: dict[str, Path]
) -> None:
    control = tmp_path / "libfoo1.control"
    control.write_text("Package: libfoo1\nVersion: 1.2.3-1\nArchitecture: amd64\n")
    unused = tmp_path / "unused.control"
    unused.write_text("Package: unused\nVersion: 1\n")
    md5sums = tmp_path / "libfoo1.md5sums"
    md5sums.write_text(f"aaaa  {LIB}/libfoo.so.1.2.3\nbbbb  {LIB}/libunused.so.9\n")
    packages["unused"] = make_tar(
        tmp_path / "unused.tar", {"usr/lib/unused.so": make_elf()}
    )
    run_slim(
        tmp_path,
        packages,
        modules_file(tmp_path / "m.tsv"),
        f"--control=libfoo1={control}",
        f"--control=unused={unused}",
        f"--md5sums=libfoo1={md5sums}",
    )
    with tarfile.open(tmp_path / "runtime.tar") as tar:
        status = tar.extractfile("var/lib/dpkg/status.d/libfoo1").read().decode()
        kept = tar.extractfile("var/lib/dpkg/status.d/libfoo1.md5sums").read().decode()
        assert "var/lib/dpkg/status.d/unused" not in tar.getnames()
    assert status.splitlines() == [
        "Package: libfoo1",
        "Status: install ok installed",
        "Version: 1.2.3-1",
        "Architecture: amd64",
    ]
    assert kept == f"aaaa  {LIB}/libfoo.so.1.2.3\n"


# --- the probe -----------------------------------------------------------------------

SERVICE = """\
import os, signal
from http.server import BaseHTTPRequestHandler, HTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/boom":
            self.send_error(500)
            return
        if self.path == "/lazy":
            import colorsys  # noqa: F401 - only this path imports it
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def stop(*_):
    raise SystemExit(0)


signal.signal(signal.SIGTERM, stop)
HTTPServer((os.environ["HOST"], int(os.environ["PORT"])), Handler).serve_forever()
"""


@pytest.fixture
def service_layer(tmp_path: Path) -> Path:
    entries = {
        "app": None,
        "app/svc": None,
        "app/svc/__init__.py": b"",
        "app/svc/__main__.py": SERVICE.encode(),
    }
    return make_tar(tmp_path / "app.tar", entries)


def test_layers_unpack_the_same_from_tar_gzip_and_zstd(
    tmp_path: Path, service_layer: Path
) -> None:
    # py_image_layers writes tar+zstd under --//tools/oci:compression=zstd.
    import gzip

    import zstandard

    plain = service_layer.read_bytes()
    blobs = {
        "tar": plain,
        "gzip": gzip.compress(plain, mtime=0),
        "zstd": zstandard.ZstdCompressor().compress(plain),
    }
    trees = {}
    for name, blob in blobs.items():
        (tmp_path / f"layer.{name}").write_bytes(blob)
        root = tmp_path / f"root-{name}"
        root.mkdir()
        py_slim_probe.unpack_layers([str(tmp_path / f"layer.{name}")], root)
        trees[name] = {
            str(p.relative_to(root)): p.read_bytes() if p.is_file() else None
            for p in sorted(root.rglob("*"))
        }
    assert trees["tar"]["app/svc/__main__.py"] == SERVICE.encode()
    assert trees["gzip"] == trees["tar"] and trees["zstd"] == trees["tar"]


def run_probe(
    tmp_path: Path, layer: Path, *extra: str, ok: bool = True
) -> subprocess.CompletedProcess[str]:
    """Like run_tool, but a failure's message may quote the service's traceback."""
    args = [
        "--python",
        sys.executable,
        "--module",
        "svc",
        "--layer",
        layer,
        "--env",
        "PYTHONPATH=/app",
    ]
    args += ["--output", tmp_path / "modules.tsv", *extra]
    if ok:
        return run_tool("py_slim_probe", *args)
    result = run_program("py_slim_probe", *args)
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("py_slim_probe.py: error: "), result.stderr
    return result


def read_probe(tmp_path: Path) -> tuple[list[str], dict[str, tuple[str, str, str]]]:
    lines = (tmp_path / "modules.tsv").read_text().splitlines()
    header = [line for line in lines if line.startswith("#")]
    modules = {
        f[0]: (f[1], f[2], f[3])
        for f in (line.split("\t") for line in lines if not line.startswith("#"))
    }
    return header, modules


def test_probe_records_what_start_up_imports_before_the_first_request(
    tmp_path: Path, service_layer: Path
) -> None:
    startup = tmp_path / "startup.txt"
    run_probe(
        tmp_path,
        service_layer,
        "--request",
        "GET /lazy",
        "--startup-output",
        startup,
    )
    names = startup.read_text().splitlines()
    assert names == sorted(names)
    # What the service imports to start, and runpy, which `python -m` needs.
    assert {"http.server", "socketserver", "runpy"} <= set(names)
    # Imported by the first request, not by start-up.
    assert "colorsys" not in names
    assert read_probe(tmp_path)[1]["colorsys"][2] == "serving"
    # What a bare interpreter imports is nobody's start-up cost.
    assert not {"sys", "builtins", "encodings", "_signal"} & set(names)


def test_probe_records_what_serving_imports(
    tmp_path: Path, service_layer: Path
) -> None:
    run_probe(
        tmp_path,
        service_layer,
        "--request",
        "GET /lazy",
        "--request",
        "GET /missing",
        "--allow",
        "textwrap",
    )
    header, modules = read_probe(tmp_path)
    assert f"# stdlib {sys._stdlib_dir}" in header
    assert "# request GET /lazy -> 200" in header
    assert any(line.startswith("# malformed request -> HTTP/1.") for line in header)
    assert modules["http.server"] == ("source", "http/server.py", "serving")
    assert modules["colorsys"] == (
        "source",
        "colorsys.py",
        "serving",
    )  # Only /lazy imports it.
    assert modules["textwrap"][2] == "allowlist"
    assert modules["svc"] == ("app", "/app/svc/__init__.py", "serving")
    assert modules["sys"] == ("builtin", "-", "serving")
    assert "os.path" not in modules  # An alias of posixpath.
    assert (
        "py_slim_probe" not in modules and "argparse" not in modules
    )  # The probe's own.


def test_the_sources_list_names_the_images_architecture() -> None:
    # The probe runs on the build machine (x86_64 here); the arm64 image's
    # standard library has its own _sysconfigdata module, and that is the
    # file tar_pyc.py --only must find in the arm64 packages.
    Module = py_slim_probe.Module
    modules = [
        Module("_sysconfigdata__linux_x86_64-linux-gnu", "source", "_sysconfigdata__linux_x86_64-linux-gnu.py", "serving"),  # fmt: skip
        Module("json", "source", "json/__init__.py", "serving"),
        Module("_json", "extension", "lib-dynload/_json.cpython-313-x86_64-linux-gnu.so", "serving"),  # fmt: skip
    ]
    native = py_slim_probe.source_paths(modules, "x86_64-linux-gnu", "x86_64-linux-gnu")
    assert native.splitlines() == ["_sysconfigdata__linux_x86_64-linux-gnu.py", "json/__init__.py"]  # fmt: skip
    arm64 = py_slim_probe.source_paths(modules, "x86_64-linux-gnu", "aarch64-linux-gnu")
    assert arm64.splitlines() == ["_sysconfigdata__linux_aarch64-linux-gnu.py", "json/__init__.py"]  # fmt: skip


def test_probe_lists_the_standard_library_sources_imported(
    tmp_path: Path, service_layer: Path
) -> None:
    sources = tmp_path / "sources.txt"
    run_probe(
        tmp_path,
        service_layer,
        "--request",
        "GET /lazy",
        "--allow",
        "textwrap",
        "--sources-output",
        sources,
    )
    _, modules = read_probe(tmp_path)
    listed = sources.read_text().splitlines()
    assert listed == sorted(listed)
    expected = sorted(p for kind, p, _ in modules.values() if kind == "source")
    assert listed == expected
    assert {"http/server.py", "colorsys.py", "textwrap.py"} <= set(listed)
    # Frozen (os), built-in (sys), extension and the service's own: none.
    assert "os.py" not in listed and modules["os"][0] == "frozen"
    assert not [p for p in listed if p.startswith("/") or p.endswith(".so")]


def test_probe_without_the_lazy_path_misses_its_import(
    tmp_path: Path, service_layer: Path
) -> None:
    run_probe(tmp_path, service_layer, "--request", "GET /")
    assert "colorsys" not in read_probe(tmp_path)[1]


def test_probe_fails_on_a_server_error(tmp_path: Path, service_layer: Path) -> None:
    result = run_probe(tmp_path, service_layer, "--request", "GET /boom", ok=False)
    assert "the service answered 500 to GET /boom" in result.stderr


def test_probe_fails_when_the_service_needs_an_excluded_module(
    tmp_path: Path, service_layer: Path
) -> None:
    result = run_probe(tmp_path, service_layer, "--exclude", "http", ok=False)
    assert "exited with status 1 before listening" in result.stderr
    assert "No module named 'http" in result.stderr


def test_probe_cannot_exclude_start_up_modules(
    tmp_path: Path, service_layer: Path
) -> None:
    result = run_probe(tmp_path, service_layer, "--exclude", "site", ok=False)
    assert "--exclude site: the interpreter imports it while starting" in result.stderr


def test_probe_rejects_modules_from_elsewhere() -> None:
    line = "yaml\tserving\t/usr/lib/python3/dist-packages/yaml/__init__.py\t-\tyaml"
    with pytest.raises(
        py_slim_probe.ocilib.OciError, match="neither the standard library"
    ):
        py_slim_probe.classify(line, "/usr/lib/python3.13", "/tmp/root")


# A service with a volume, a job run before it (a migration) and a request body.
STATEFUL_SERVICE = """\
import os, signal
from http.server import BaseHTTPRequestHandler, HTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with open(os.environ["STATE"]) as f:
            state = f.read()
        ok = (
            state == "migrated ['--fast']"
            and body == b'{"x": 1}'
            and self.headers["Content-Type"] == "application/json"
        )
        self.send_response(201 if ok else 500)
        self.end_headers()

    def log_message(self, *args):
        pass


signal.signal(signal.SIGTERM, lambda *_: exit(0))
HTTPServer((os.environ["HOST"], int(os.environ["PORT"])), Handler).serve_forever()
"""

JOB = """\
import os, sys
import colorsys  # noqa: F401 - only the job imports it
if "--fail" in sys.argv:
    sys.exit(3)
with open(os.environ["STATE"], "w") as f:
    f.write(f"migrated {sys.argv[1:]}")
"""


@pytest.fixture
def stateful_layer(tmp_path: Path) -> Path:
    entries = {
        "app": None,
        "app/svc": None,
        "app/svc/__init__.py": b"",
        "app/svc/__main__.py": STATEFUL_SERVICE.encode(),
        "app/svc/migrate.py": JOB.encode(),
    }
    return make_tar(tmp_path / "stateful.tar", entries)


def test_a_job_runs_first_on_the_volume_and_its_imports_are_kept(
    tmp_path: Path, stateful_layer: Path
) -> None:
    run_probe(
        tmp_path,
        stateful_layer,
        "--volume",
        "/data",
        "--env",
        "STATE=/data/state",
        "--job",
        "migrate=svc.migrate --fast",
        "--request",
        'POST /notes\tapplication/json\t{"x": 1}',
    )
    header, modules = read_probe(tmp_path)
    # The service answered 201: the job wrote the volume, the body arrived.
    assert "# request POST /notes -> 201" in header
    assert modules["colorsys"] == ("source", "colorsys.py", "job:migrate")
    assert modules["http.server"][2] == "serving"


def test_a_failing_job_fails_the_probe(tmp_path: Path, stateful_layer: Path) -> None:
    result = run_probe(
        tmp_path,
        stateful_layer,
        "--volume",
        "/data",
        "--env",
        "STATE=/data/state",
        "--job",
        "migrate=svc.migrate --fail",
        ok=False,
    )
    assert "job migrate exited with status 3" in result.stderr


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("--job", "svc.migrate", "expected NAME=MODULE ARG..."),
        ("--job", "migrate=not-a-module", "expected NAME=MODULE ARG..."),
        ("--volume", "data", "expected an absolute path"),
        ("--request", "POST /\tapplication/json", "a body needs METHOD /PATH<TAB>"),
    ],
)
def test_bad_jobs_volumes_and_bodies_are_named(
    tmp_path: Path, stateful_layer: Path, option: str, value: str, message: str
) -> None:
    result = run_probe(tmp_path, stateful_layer, option, value, ok=False)
    assert message in result.stderr, result.stderr
