"""A --quick run of the benchmarks: every output is produced and well-formed.

Checks form only (the JSON's shape, every figure present and positive, the
PNGs valid, the Markdown naming them); never a timing.
"""

from __future__ import annotations

import json
import re
import struct
import tempfile
from pathlib import Path
from typing import Any

import bench
import floor
import imports
import load
import pytest
import report
import slim_contents
from checkout import workspace_dir

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
STATS_KEYS = {"median", "min", "max", "runs", "values"}


def bench_leftovers() -> set[Path]:
    """The work directory and every container's state are bench-* directories
    in the temporary directory."""
    return set(Path(tempfile.gettempdir()).glob("bench-*"))


@pytest.fixture(scope="module")
def left_before() -> set[Path]:
    """What a run killed before this one left (SIGKILL skips its clean-up):
    not this run's doing."""
    return bench_leftovers()


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory, left_before: set[Path]) -> Path:
    directory = tmp_path_factory.mktemp("performance")
    status = bench.main(
        ["--quick", "--out", str(directory), "--workspace", str(workspace_dir())]
    )
    assert status == 0
    return directory


@pytest.fixture(scope="module")
def results(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "results.json").read_text())
    return data


def positive(value: Any, where: str) -> None:
    assert isinstance(value, (int, float)) and value > 0, f"{where}: {value!r}"


def check_stats(stats: dict[str, Any], where: str, runs: int) -> None:
    assert STATS_KEYS <= stats.keys(), where
    assert stats["runs"] == len(stats["values"]) == runs, where
    for value in stats["values"]:
        positive(value, where)
    assert stats["min"] <= stats["median"] <= stats["max"], where


def test_schema_and_method(results: dict[str, Any]) -> None:
    assert results["schema"] == bench.SCHEMA
    assert results["plan"]["quick"] is True
    machine = results["machine"]
    for key in ("cpu_model", "kernel"):
        assert machine[key] and machine[key] != "unknown", key
    positive(machine["cpu_cores"], "cpu_cores")
    positive(machine["memory_gib"], "memory_gib")
    positive(results["duration_seconds"], "duration_seconds")
    assert results["reference"] == bench.REFERENCE


def test_sizes(results: dict[str, Any]) -> None:
    assert set(results["sizes"]) == set(bench.SIZE_VARIANTS)
    for variant, platforms in results["sizes"].items():
        assert set(platforms) == {"linux/amd64", "linux/arm64"}, variant
        for platform, size in platforms.items():
            where = f"{variant} {platform}"
            positive(size["compressed_bytes"], where)
            assert size["uncompressed_bytes"] > size["compressed_bytes"], where
            assert size["layers"], where
            for layer in size["layers"]:
                assert layer["digest"].startswith("sha256:"), where
                positive(layer["compressed_bytes"], where)
                positive(layer["uncompressed_bytes"], where)
                assert layer["directory"].startswith("/"), where
            # The service's layers come from one target (NAME_layers); their
            # directories (third-party, then first-party code) tell them apart.
            # Layers of its own (notes' static files, volumes) may follow them.
            service = [
                layer
                for layer in size["layers"]
                if re.search(r":\w+_layers(_nopyc)?$", layer["created_by"])
            ]
            assert len(service) >= 2, where
            *third_parties, first_party = service
            for third_party in third_parties:
                assert third_party["directory"] == "/app/site-packages", where
            # /app itself once the service and its library are both there.
            assert (first_party["directory"] + "/").startswith("/app/"), where
            assert first_party["directory"] != third_party["directory"], where
    shared = results["shared_layers"]
    assert set(shared) == set(bench.SHARED_WITH_HELLO)
    for image, platforms in shared.items():
        assert set(platforms) == {"linux/amd64", "linux/arm64"}, image
        for count in platforms.values():
            # The static base at least; never the service's own layers.
            assert 1 <= count["shared"] < count["layers"], (image, count)
            assert 0 < count["shared_compressed_bytes"] < count["compressed_bytes"]
    for key, want in (("levels", [1, 6, 9]), ("zstd_levels", [3, 9, 19])):
        levels = results["compression"][key]
        assert [level["level"] for level in levels] == want, key
        for level in levels:
            positive(level["compressed_bytes"], key)
            assert level["cpu_seconds"] >= 0


def test_compression_formats(results: dict[str, Any]) -> None:
    section = results["compression_formats"]
    assert section["platform"] == "linux/amd64"
    assert set(section["images"]) == set(bench.COMPRESSION_VARIANTS)
    for name, by_compression in section["images"].items():
        assert set(by_compression) == {"gzip", "zstd"}, name
        for compression, figures in by_compression.items():
            where = f"{name} {compression}"
            positive(figures["compressed_bytes"], where)
            assert figures["uncompressed_bytes"] > figures["compressed_bytes"], where
            positive(figures["transfer_seconds_at_100_mbit"], where)
            check_stats(figures["copy_seconds"], f"{where} copy", 1)
            check_stats(figures["unpack_seconds"], f"{where} unpack", 1)
            check_stats(figures["decompress_seconds"], f"{where} decompress", 1)
        # The same files in both: only the compressed bytes differ.
        gzip, zstd = by_compression["gzip"], by_compression["zstd"]
        assert gzip["uncompressed_bytes"] == zstd["uncompressed_bytes"], name
        assert gzip["manifest_digest"] != zstd["manifest_digest"], name


def test_slim_contents(results: dict[str, Any]) -> None:
    section = results["slim_contents"]
    assert set(section) == set(bench.SLIM_VARIANTS)
    for image, figures in section.items():
        assert figures["platform"] == "linux/amd64", image
        groups = {row["group"]: row for row in figures["groups"]}
        assert len(groups) == len(figures["groups"]), image
        # Every file in exactly one group.
        assert sum(row["files"] for row in groups.values()) == figures["files"]
        for row in groups.values():
            positive(row["files"], f"{image} {row['group']}")
            positive(row["compressed_bytes"], f"{image} {row['group']}")
        compressed = [row["compressed_bytes"] for row in figures["groups"]]
        assert compressed == sorted(compressed, reverse=True), image
        # The interpreter is a Debian package's file, the service's code its own.
        assert groups["python3.13-minimal"]["largest"] == "usr/bin/python3.13"
        assert groups[slim_contents.APP]["largest"].startswith("app/"), image
        assert groups[slim_contents.BYTECODE]["largest"].endswith(".pyc"), image
        # The groups, each compressed alone, add up to about the image.
        image_bytes = results["sizes"][image]["linux/amd64"]["compressed_bytes"]
        assert 0.9 < sum(compressed) / image_bytes < 1.1, image


def test_build(results: dict[str, Any]) -> None:
    build = results["build"]
    assert "clean" not in build  # --quick skips it, and says so
    assert "--quick" in build["method"]
    positive(build["warmup"]["seconds"], "warm-up build")
    plan = results["plan"]
    check_stats(build["noop"], "no-op build", plan["build_noop_runs"])
    check_stats(build["incremental"], "incremental", plan["build_incremental_runs"])
    changed = build["incremental"]["changed_layers"]
    assert set(changed) == {"hello", "hello_debug", "hello_slim"}
    for platforms in changed.values():
        for count in platforms.values():
            assert 1 <= count["changed"] < count["layers"], count


def test_cold_start(results: dict[str, Any]) -> None:
    runs = results["plan"]["cold_start_runs"]
    assert set(results["cold_start"]) == set(bench.COLD_START_VARIANTS)
    for variant, arches in results["cold_start"].items():
        assert set(arches) == {"amd64", "arm64"}, variant
        for arch, stats in arches.items():
            check_stats(stats, f"cold start {variant} {arch}", runs)


def test_cold_start_against_the_floor(results: dict[str, Any]) -> None:
    cold, ratios = results["cold_start"], results["cold_start_ratio"]
    assert set(ratios) == set(bench.COLD_START_VARIANTS)
    for variant, arches in ratios.items():
        assert set(arches) == {"amd64", "arm64"}, variant
        for arch, ratio in arches.items():
            positive(ratio, f"{variant} {arch} ratio")
            floor_ms = cold[floor.FLOOR][arch]["median"]
            assert ratio == pytest.approx(cold[variant][arch]["median"] / floor_ms)
    assert ratios[floor.FLOOR] == {"amd64": 1.0, "arm64": 1.0}


def test_start_up_imports(results: dict[str, Any]) -> None:
    imp = results["imports"]
    check_stats(imp["total_ms"], "import time", results["plan"]["cold_start_runs"])
    names = [m["module"] for m in imp["modules"]]
    # The service library and its server (waitress, through the connection
    # guard) are always the big ones; the metrics import nothing heavy at start.
    assert {"wsgi_service.main", "wsgi_service.connections"} <= set(names), names
    for module in imp["modules"]:
        assert 1 <= module["depth"] <= imports.DEPTH, module
        assert 0 < module["cumulative_ms"] <= imp["total_ms"]["max"], module


def test_load_and_memory(results: dict[str, Any]) -> None:
    targets = results["load"]["targets"]
    hosts = {load.baseline_of(name) for name in bench.LOAD_VARIANTS}
    assert set(targets) == {"host", "shelf_host", "notes_host", *bench.LOAD_VARIANTS}
    assert hosts == {"host", "shelf_host", "notes_host"}, hosts
    rounds = results["plan"]["load_rounds"]
    for name, target in targets.items():
        for key in ("requests_per_second", "latency_p50_ms", "latency_p99_ms"):
            check_stats(target[key], f"{name} {key}", rounds)
            positive(target["ratio_to_host"][key], f"{name} ratio {key}")
        positive(target["rss_idle_mib"], f"{name} idle RSS")
        positive(target["rss_after_load_mib"], f"{name} RSS after load")
        assert target["errors"] == 0, name
    for host in hosts:
        assert targets[host]["baseline"] == host
        assert targets[host]["ratio_to_host"]["requests_per_second"] == 1.0
    # Each image against its own app on the host: shelf against Flask alone,
    # notes against Django alone (its database migrated on the host first).
    assert targets["shelf"]["baseline"] == "shelf_host"
    assert targets["notes_slim"]["baseline"] == "notes_host"
    assert targets["hello"]["baseline"] == "host"
    shelf, alone = targets["shelf"], targets["shelf_host"]
    assert shelf["ratio_to_host"]["requests_per_second"] == (
        shelf["requests_per_second"]["median"] / alone["requests_per_second"]["median"]
    )


@pytest.mark.parametrize("name", sorted(report.PLOTS.values()))
def test_plots_are_pngs(out: Path, name: str) -> None:
    data = (out / name).read_bytes()
    assert data[:8] == PNG_SIGNATURE, name
    assert data[12:16] == b"IHDR", name
    width, height = struct.unpack(">II", data[16:24])
    assert width >= 300 and height >= 200, (name, width, height)


def test_report_references_every_plot_and_section(out: Path) -> None:
    text = (out / "report.md").read_text()
    for name in report.PLOTS.values():
        assert f"]({name})" in text, name
    for heading in (
        "## Method",
        "## Image size",
        "## tar+gzip and tar+zstd layers",
        "### What the slim images hold",
        "## Build time",
        "## Cold start",
        "## Latency, throughput and memory",
        "## Beside the Go distroless example (other hardware)",
    ):
        assert heading in text, heading
    assert "nan" not in text.lower().split(), "a figure is missing"


def test_nothing_left_behind(out: Path, left_before: set[Path]) -> None:
    # None of this run's may outlive it.
    leftovers = sorted(bench_leftovers() - left_before)
    assert not leftovers, leftovers
