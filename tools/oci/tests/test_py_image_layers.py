"""py_image_layers: third-party and first-party layers, with checked-hash .pyc files.

testapp_v1 and testapp_v2 differ in one line of first-party code and both use waitress.
"""

from __future__ import annotations

import difflib
import importlib.util
import io
import marshal
import posixpath
import subprocess
import sys
import tarfile
from pathlib import Path

import elf
import pytest
from image_platforms import PLATFORMS
from oci_layout import (
    HOST_REF,
    PLATFORM_REFS,
    Image,
    Layer,
    Layout,
    check_image,
    check_layout,
    runfile,
)

CACHE_TAG = "cpython-313"  # py_image_layers' default python is /usr/bin/python3.13.
SOURCES = Path("tools/oci/tests")


def image(version: str, variable: str = "") -> Image:
    layout = Layout(runfile(variable or f"TESTAPP_{version.upper()}_IMAGE"))
    check_layout(layout)
    (descriptor,) = layout.index()["manifests"]
    built = layout.image(descriptor)
    check_image(built, PLATFORM_REFS[HOST_REF])
    return built


@pytest.fixture(scope="module")
def v1() -> Image:
    return image("v1")


@pytest.fixture(scope="module")
def v2() -> Image:
    return image("v2")


def test_the_apps_differ_in_one_line() -> None:
    # Guards the premise of the layer test below.
    changed = []
    for name in ("__main__.py", "greeting.py"):
        old = (SOURCES / "testapp_v1/testapp" / name).read_text().splitlines()
        new = (SOURCES / "testapp_v2/testapp" / name).read_text().splitlines()
        changed += [
            line for line in difflib.ndiff(old, new) if line.startswith(("-", "+"))
        ]
    assert changed == ['- GREETING = "hello from v1"', '+ GREETING = "hello from v2"']


def test_one_changed_line_changes_only_the_app_layer(v1: Image, v2: Image) -> None:
    assert len(v1.layers) == len(v2.layers) == 2
    third_party_v1, app_v1 = v1.manifest["layers"]
    third_party_v2, app_v2 = v2.manifest["layers"]
    assert third_party_v1 == third_party_v2
    assert app_v1["digest"] != app_v2["digest"]
    # Inside the app layer only greeting.py and its .pyc changed.
    before, after = v1.layers[1].by_name(), v2.layers[1].by_name()
    assert before.keys() == after.keys()
    changed = sorted(name for name in before if before[name].data != after[name].data)
    assert changed == [
        "app/testapp/__pycache__/greeting.cpython-313.pyc",
        "app/testapp/greeting.py",
    ]


def test_app_layer_holds_first_party_code_under_app(v1: Image) -> None:
    members = v1.layers[1].by_name()
    assert sorted(members) == [
        "app",
        "app/testapp",
        "app/testapp/__main__.py",
        "app/testapp/__pycache__",
        "app/testapp/__pycache__/__main__.cpython-313.pyc",
        "app/testapp/__pycache__/greeting.cpython-313.pyc",
        "app/testapp/greeting.py",
    ]
    for name in ("__main__.py", "greeting.py"):
        assert (
            members[f"app/testapp/{name}"].data
            == (SOURCES / "testapp_v1/testapp" / name).read_bytes()
        )
    assert {m.info.mode for m in members.values() if m.info.isreg()} == {0o644}


def test_third_party_layer_holds_distributions_under_site_packages(v1: Image) -> None:
    members = v1.layers[0].by_name()
    files = [name for name, m in members.items() if not m.info.isdir()]
    assert all(name.startswith("app/site-packages/") for name in files)
    assert "app/site-packages/waitress/__init__.py" in files
    assert "app/site-packages/waitress/__pycache__/__init__.cpython-313.pyc" in files
    assert any(
        name.startswith("app/site-packages/waitress-")
        and name.endswith(".dist-info/METADATA")
        for name in files
    )
    assert not any("testapp" in name for name in members)


@pytest.mark.parametrize("index", [0, 1], ids=["third_party", "app"])
def test_every_source_has_a_checked_hash_pyc_beside_it(v1: Image, index: int) -> None:
    layer: Layer = v1.layers[index]
    members = layer.by_name()
    sources = {name for name in members if name.endswith(".py")}
    pycs = {name for name in members if name.endswith(".pyc")}
    assert sources
    expected = {
        posixpath.join(
            posixpath.dirname(src),
            "__pycache__",
            f"{posixpath.basename(src)[:-3]}.{CACHE_TAG}.pyc",
        )
        for src in sources
    }
    assert pycs == expected
    for src in sorted(sources):
        source = members[src].data
        pyc = members[expected_pyc(src)].data
        assert pyc[:4] == importlib.util.MAGIC_NUMBER, src
        flags = int.from_bytes(pyc[4:8], "little")
        assert flags == 0b11, f"{src}: flags {flags:#b}, want checked hash (0b11)"
        assert pyc[8:16] == importlib.util.source_hash(
            source
        ), f"{src}: stale source hash"
        # Tracebacks name the path in the image, not a build path.
        assert marshal.loads(pyc[16:]).co_filename == "/" + src


def expected_pyc(src: str) -> str:
    directory, name = posixpath.split(src)
    return posixpath.join(directory, "__pycache__", f"{name[:-3]}.{CACHE_TAG}.pyc")


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_layers_run_with_their_pyc_files(tmp_path: Path, version: str) -> None:
    built = image(version)
    root = tmp_path / "rootfs"
    for layer in built.layers:
        with tarfile.open(fileobj=io.BytesIO(layer.tar)) as tar:
            tar.extractall(root, filter="data")
    env = {
        "PYTHONPATH": f"{root}/app:{root}/app/site-packages",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PATH": "/usr/bin:/bin",
    }
    assert built.env() == {
        "PYTHONPATH": "/app:/app/site-packages"
    }  # What the image sets.
    result = subprocess.run(
        [sys.executable, "-v", "-m", "testapp"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout == f"hello from {version} waitress\n"
    # -v reports each .pyc that Python validated and loaded instead of compiling.
    for module in ("testapp/greeting", "waitress/__init__"):
        directory, name = module.split("/")
        pyc = f"{directory}/__pycache__/{name}.{CACHE_TAG}.pyc"
        assert f"code object from '{root}" in result.stderr
        assert any(
            line.startswith("# code object from") and line.endswith(f"{pyc}'")
            for line in result.stderr.splitlines()
        ), pyc


def test_precompile_false_ships_the_same_sources_without_pyc(v1: Image) -> None:
    nopyc = image("v1_nopyc")
    assert len(nopyc.layers) == len(v1.layers) == 2
    for index in (0, 1):
        with_pyc, without = v1.layers[index].by_name(), nopyc.layers[index].by_name()
        assert not [name for name in without if name.endswith(".pyc")]
        assert not [name for name in without if name.endswith("/__pycache__")]
        expected = {
            name: member.data
            for name, member in with_pyc.items()
            if "/__pycache__" not in name and not name.endswith("__pycache__")
        }
        assert {name: m.data for name, m in without.items()} == expected


# --- per platform ---------------------------------------------------------------


def platform_images(variable: str) -> dict[str, Image]:
    """Architecture -> the image an index holds for it."""
    layout = Layout(runfile(variable))
    check_layout(layout)
    nested = layout.json_blob(layout.by_ref("latest"))
    images = {}
    for descriptor in nested["manifests"]:
        images[descriptor["platform"]["architecture"]] = layout.image(descriptor)
    assert sorted(images) == sorted(PLATFORMS)
    return images


def shared_objects(layer: Layer) -> dict[str, bytes]:
    return {
        name: m.data
        for name, m in layer.by_name().items()
        if m.data is not None and (name.endswith(".so") or ".so." in name)
    }


def test_without_compiled_code_every_platform_shares_every_layer() -> None:
    images = platform_images("TESTAPP_V1_INDEX")
    digests = {
        arch: [layer["digest"] for layer in image.manifest["layers"]]
        for arch, image in images.items()
    }
    assert len(set(map(tuple, digests.values()))) == 1, digests
    assert len(next(iter(digests.values()))) == 2  # Third-party, app.


def test_compiled_distributions_are_each_platforms_own_layer() -> None:
    images = platform_images("NATIVEAPP_INDEX")
    layers = {arch: image.manifest["layers"] for arch, image in images.items()}
    assert {len(found) for found in layers.values()} == {3}
    pure, compiled, app = zip(*layers.values())
    # waitress (pure Python) and the app are the same bytes on every platform.
    assert len({layer["digest"] for layer in pure}) == 1
    assert len({layer["digest"] for layer in app}) == 1
    assert len({layer["digest"] for layer in compiled}) == len(PLATFORMS)
    for arch, image in images.items():
        assert not shared_objects(image.layers[0])
        assert "app/site-packages/waitress/__init__.py" in image.layers[0].by_name()
        objects = shared_objects(image.layers[1])
        multiarch = PLATFORMS[arch]["multiarch"]
        assert list(objects) == [
            f"app/site-packages/orjson/orjson.cpython-313-{multiarch}.so"
        ], arch
        for name, data in objects.items():
            machine = elf.identify(data, name).machine
            assert machine == PLATFORMS[arch]["elf_machine"], (arch, name, machine)
        # Its sources and .pyc files come with it.
        assert "app/site-packages/orjson/__init__.pyi" in image.layers[1].by_name()


def test_the_host_image_runs_its_compiled_code(tmp_path: Path) -> None:
    built = image("nativeapp", "NATIVEAPP_IMAGE")
    root = tmp_path / "rootfs"
    for layer in built.layers:
        with tarfile.open(fileobj=io.BytesIO(layer.tar)) as tar:
            tar.extractall(root, filter="data")
    result = subprocess.run(
        [sys.executable, "-m", "nativeapp"],
        env={
            "PYTHONPATH": f"{root}/app:{root}/app/site-packages",
            "PATH": "/usr/bin:/bin",
        },
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout == '{"hello":"native","server":"waitress"}\n'
