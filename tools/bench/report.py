"""The Markdown report and its PNG plots, from the results JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # No display: render to files.
import matplotlib.pyplot as plt  # noqa: E402 - after choosing the backend
import compression_formats  # noqa: E402
import slim_contents  # noqa: E402
from image_platforms import ARCHITECTURES  # noqa: E402

PLOTS = {
    "sizes": "sizes.png",
    "cold_start": "cold_start.png",
    "load": "load.png",
    "build": "build.png",
}
MB = 1e6
ARCHES = ARCHITECTURES


def _mb(n: float) -> str:
    return f"{n / MB:.2f}"


def _range(s: dict[str, Any], fmt: str = "{:.0f}") -> str:
    low, high = fmt.format(s["min"]), fmt.format(s["max"])
    return f"{fmt.format(s['median'])} ({low}–{high})"


def plot_sizes(results: dict[str, Any], path: Path) -> None:
    labels, compressed, uncompressed = [], [], []
    for variant, platforms in results["sizes"].items():
        for platform, size in platforms.items():
            labels.append(f"{variant}\n{platform.split('/')[1]}")
            compressed.append(size["compressed_bytes"] / MB)
            uncompressed.append(size["uncompressed_bytes"] / MB)
    fig, ax = plt.subplots(figsize=(10, 4.5))
    xs = range(len(labels))
    ax.bar([x - 0.2 for x in xs], compressed, 0.4, label="compressed (pulled)")
    ax.bar([x + 0.2 for x in xs], uncompressed, 0.4, label="uncompressed (on disk)")
    for name, mb in results["reference"]["image_mb"].items():
        ax.axhline(mb, linestyle=":", linewidth=1, color="grey")
        ax.text(
            len(labels) - 0.5,
            mb,
            f"Go {name} {mb} MB",
            fontsize=7,
            va="bottom",
            ha="right",
        )
    ax.set_xticks(list(xs), labels, fontsize=8)
    ax.set_ylabel("MB")
    ax.set_title("Image size (dotted: Go distroless example, published)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_cold_start(results: dict[str, Any], path: Path) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
    for ax, arch in zip(axes, ("amd64", "arm64")):
        names = [v for v, a in results["cold_start"].items() if arch in a]
        stats = [results["cold_start"][v][arch] for v in names]
        medians = [s["median"] for s in stats]
        errors = [
            [s["median"] - s["min"] for s in stats],
            [s["max"] - s["median"] for s in stats],
        ]
        ax.bar(names, medians, yerr=errors, capsize=4)
        low, high = results["reference"]["cold_start_ms"]
        ax.axhspan(low, high, alpha=0.15, color="grey", label="Go example, published")
        ax.set_title(f"linux/{arch}" + (" (qemu emulation)" if arch == "arm64" else ""))
        ax.set_ylabel("ms, start to first HTTP 200 (median, min–max)")
        ax.tick_params(axis="x", labelsize=8)
        ax.legend(fontsize=7)
    fig.suptitle("Cold start")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_load(results: dict[str, Any], path: Path) -> None:
    targets = results["load"]["targets"]
    names = list(targets)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
    rps = [targets[n]["requests_per_second"]["median"] for n in names]
    axes[0].bar(names, rps)
    axes[0].set_ylabel("requests/s (median of rounds)")
    axes[0].set_title("Throughput")
    xs = range(len(names))
    p50 = [targets[n]["latency_p50_ms"]["median"] for n in names]
    p99 = [targets[n]["latency_p99_ms"]["median"] for n in names]
    axes[1].bar([x - 0.2 for x in xs], p50, 0.4, label="p50")
    axes[1].bar([x + 0.2 for x in xs], p99, 0.4, label="p99")
    axes[1].set_xticks(list(xs), names)
    axes[1].set_ylabel("ms")
    axes[1].set_title("Latency")
    axes[1].legend()
    fig.suptitle(results["load"]["method"], fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_build(results: dict[str, Any], path: Path) -> None:
    build = results["build"]
    names, values, errors_low, errors_high = [], [], [], []
    if "clean" in build:
        names.append("clean")
        values.append(build["clean"]["seconds"])
        errors_low.append(0.0)
        errors_high.append(0.0)
    for kind in ("noop", "incremental"):
        names.append("no-op" if kind == "noop" else "incremental\n(one line)")
        values.append(build[kind]["median"])
        errors_low.append(build[kind]["median"] - build[kind]["min"])
        errors_high.append(build[kind]["max"] - build[kind]["median"])
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.bar(names, values, yerr=[errors_low, errors_high], capsize=4)
    ax.set_yscale("log")
    ax.set_ylabel("seconds (log scale)")
    ax.set_title("Build time: " + " ".join(build["targets"]))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def markdown(results: dict[str, Any]) -> str:
    m, plan, ref = results["machine"], results["plan"], results["reference"]
    out: list[str] = []
    add = out.append
    add("# Benchmark report\n")
    add(
        f"Generated {results['generated']} by `./tools/bazel run //tools/bench"
        + (" -- --quick" if plan["quick"] else "")
        + f"` in {results['duration_seconds']:.0f} s."
        + (
            " **Quick run: few runs, short loads, no clean build.**"
            if plan["quick"]
            else ""
        )
        + "\n"
    )
    add("## Method\n")
    add(
        f"- Machine: {m['cpu_model']}, {m['cpu_cores']} cores,"
        f" {m['memory_gib']} GiB RAM,"
        f" Linux {m['kernel']} ({m['machine']}); load average at start"
        f" {', '.join(str(x) for x in m['load_average_at_start'])}."
        f" Python {m['python']},"
        f" {m['tools']['runc']}, {m['tools']['qemu']}."
    )
    add(
        f"- Cold start: {plan['cold_start_runs']} runs per image and platform after"
        f" {plan['cold_start_warmups']} warm-up run(s), the runs going round the"
        " images in turn; each run a fresh hardened runc"
        " container (read-only root, no capabilities, user 65532, own network"
        " namespace)"
        " of an unpacked bundle; timed from starting `runc run` to the first 200 on"
        " `/readyz`, polled every 5 ms. arm64 runs under qemu-user emulation."
    )
    pythons = ", ".join(
        f"{name} {t.get('python', '?')}"
        for name, t in results["load"]["targets"].items()
    )
    add(f"- Load: {results['load']['method']}. Python versions: {pythons}.")
    add(f"- Build: {results['build']['method']}.")
    add(
        "- Figures are medians with (min–max). The machine may be shared: compare"
        " ratios measured in one run rather than absolute figures across runs.\n"
    )

    add("## Image size\n")
    add(f"![image sizes]({PLOTS['sizes']})\n")
    add("| image | platform | compressed MB | uncompressed MB | layers |")
    add("| --- | --- | ---: | ---: | ---: |")
    for variant, platforms in results["sizes"].items():
        for platform, size in platforms.items():
            add(
                f"| {variant} | {platform} | {_mb(size['compressed_bytes'])} |"
                f" {_mb(size['uncompressed_bytes'])} | {len(size['layers'])} |"
            )
    add("\nPer layer (linux/amd64 and linux/arm64):\n")
    add("| image | platform | layer | compressed MB | uncompressed MB |")
    add("| --- | --- | --- | ---: | ---: |")
    for variant, platforms in results["sizes"].items():
        for platform, size in platforms.items():
            for layer in size["layers"]:
                origin = (
                    layer["created_by"].removeprefix("bazel build ").removeprefix("@@")
                )
                if layer.get("directory", "/") != "/":
                    origin += f"` in `{layer['directory']}"
                add(
                    f"| {variant} | {platform} | `{origin}` |"
                    f" {_mb(layer['compressed_bytes'])} |"
                    f" {_mb(layer['uncompressed_bytes'])} |"
                )
    add(
        "\nLayers each image shares with hello's (same digest: stored and pulled once):\n"
    )
    add("| image | platform | with | shared layers | shared compressed MB |")
    add("| --- | --- | --- | ---: | ---: |")
    for image, platforms in results["shared_layers"].items():
        for platform, count in platforms.items():
            add(
                f"| {image} | {platform} | {count['with']} |"
                f" {count['shared']} of {count['layers']} |"
                f" {_mb(count['shared_compressed_bytes'])} of {_mb(count['compressed_bytes'])} |"
            )
    comp = results["compression"]
    add(
        f"\nCompression of {comp['image']} {comp['platform']}"
        f" ({_mb(comp['uncompressed_bytes'])} MB of layer tars"
        + (
            f", --quick: the first {comp['sample_bytes_per_layer']} bytes of each"
            if comp.get("sample_bytes_per_layer")
            else ""
        )
        + "), one core; the"
        " rules' levels in bold (gzip's is the default; zstd's with"
        " --//tools/oci:compression=zstd):\n"
    )
    add("| compressor | level | compressed MB | ratio | CPU s |")
    add("| --- | ---: | ---: | ---: | ---: |")
    for name, key, default in (
        ("gzip (zlib-ng)", "levels", comp["default_level"]),
        ("zstd (zstandard)", "zstd_levels", comp["zstd_default_level"]),
    ):
        for level in comp[key]:
            shown = (
                f"**{level['level']}**" if level["level"] == default else level["level"]
            )
            add(
                f"| {name} | {shown} | {_mb(level['compressed_bytes'])} |"
                f" {level['compressed_bytes'] / comp['uncompressed_bytes']:.3f} |"
                f" {level['cpu_seconds']:.2f} |"
            )

    out += compression_formats.markdown(results["compression_formats"])
    out += slim_contents.markdown(results["slim_contents"], results["sizes"])

    add("\n## Build time\n")
    add(f"![build times]({PLOTS['build']})\n")
    build = results["build"]
    add("| build | seconds | actions |")
    add("| --- | ---: | --- |")
    if "clean" in build:
        add(
            f"| clean | {build['clean']['seconds']:.1f} |"
            f" {build['clean']['processes']} |"
        )
    else:
        add(
            f"| clean | not measured (--quick); warm-up from the disk cache took"
            f" {build['warmup']['seconds']:.1f} | {build['warmup']['processes']} |"
        )
    add(f"| no-op | {_range(build['noop'], '{:.2f}')} | |")
    inc = build["incremental"]
    add(
        f"| incremental ({inc['change']}) | {_range(inc, '{:.2f}')} |"
        f" {inc['processes'][-1]} |"
    )
    add("\nLayers changed by the one-line change:\n")
    add("| image | platform | layers changed |")
    add("| --- | --- | ---: |")
    for image, platforms in inc["changed_layers"].items():
        for platform, count in platforms.items():
            add(f"| {image} | {platform} | {count['changed']} of {count['layers']} |")

    add("\n## Cold start\n")
    add(f"![cold start]({PLOTS['cold_start']})\n")
    add("| image | linux/amd64 ms | × floor | linux/arm64 (qemu) ms | × floor |")
    add("| --- | ---: | ---: | ---: | ---: |")
    ratios = results["cold_start_ratio"]
    for variant, arches in results["cold_start"].items():
        cells = []
        for a in ARCHES:
            cells.append(_range(arches[a]) if a in arches else "–")
            ratio = ratios.get(variant, {}).get(a)
            cells.append(f"{ratio:.2f}" if ratio is not None else "–")
        add(f"| {variant} | " + " | ".join(cells) + " |")
    add(
        "\n`floor` is busybox's httpd, statically linked, serving `/readyz` from"
        " the static base in the same harness: what a container costs before any"
        " Python runs; × floor is each median over its median."
        " `hello_checked` is `hello` with checked-hash standard-library"
        " bytecode, `hello_nopyc` `hello` without any precompiled bytecode"
        " (neither the standard library's nor the service's). `floor_python` is"
        " the interpreter answering HTTP with nothing imported.\n"
    )
    imp = results["imports"]
    add(
        f"`import {imp['entry']}` in the image ({imp['platform']},"
        " `python -X importtime`, in a fresh container each time):"
        f" {_range(imp['total_ms'])} ms. What costs most (cumulative, with what"
        " it imports; indented by depth):\n"
    )
    add("| module | cumulative ms |")
    add("| --- | ---: |")
    for module in imp["modules"]:
        indent = "&nbsp;&nbsp;" * (module["depth"] - 1)
        add(f"| {indent}`{module['module']}` | {module['cumulative_ms']:.1f} |")
    add("")

    add("## Latency, throughput and memory (linux/amd64)\n")
    add(f"![load]({PLOTS['load']})\n")
    add(
        "| target | req/s | host baseline | ratio to it | p50 ms | p99 ms |"
        " p99 ratio | idle RSS MiB |"
        " RSS after load MiB | errors |"
    )
    add("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, t in results["load"]["targets"].items():
        add(
            f"| {name} | {_range(t['requests_per_second'])} | {t['baseline']} |"
            f" {t['ratio_to_host']['requests_per_second']:.2f} |"
            f" {_range(t['latency_p50_ms'], '{:.2f}')} |"
            f" {_range(t['latency_p99_ms'], '{:.2f}')} |"
            f" {t['ratio_to_host']['latency_p99_ms']:.2f} |"
            f" {t['rss_idle_mib']:.1f} | {t['rss_after_load_mib']:.1f} |"
            f" {t['errors']} |"
        )

    add("\n## Beside the Go distroless example (other hardware)\n")
    add(
        f"Published figures of {ref['source']}. **Not measured here**: another"
        " machine, another language, another service; for scale only.\n"
    )
    hello_amd64 = results["sizes"]["hello"]["linux/amd64"]["compressed_bytes"]
    slim_amd64 = results["sizes"]["hello_slim"]["linux/amd64"]["compressed_bytes"]
    cold = results["cold_start"]
    host = results["load"]["targets"]["hello"]
    add("| figure | Go example (published, Apple M1) | this project (this machine) |")
    add("| --- | --- | --- |")
    add(
        "| image, compressed | "
        + ", ".join(f"{v} MB {k}" for k, v in ref["image_mb"].items())
        + f" | {_mb(hello_amd64)} MB hello, {_mb(slim_amd64)} MB hello_slim (amd64) |"
    )
    add(
        f"| cold start | {ref['cold_start_ms'][0]}–{ref['cold_start_ms'][1]} ms |"
        f" {cold['hello']['amd64']['median']:.0f} ms hello,"
        f" {cold['hello_slim']['amd64']['median']:.0f} ms hello_slim (amd64);"
        f" {cold['hello']['arm64']['median']:.0f} ms hello (arm64, emulated) |"
    )
    add(
        f"| response time | {ref['response_ms']} ms | p50"
        f" {host['latency_p50_ms']['median']:.2f} ms under load"
        f" ({results['plan']['load_connections']} connections) |"
    )
    add(
        f"| throughput | {ref['requests_per_second']} req/s |"
        f" {host['requests_per_second']['median']:.0f} req/s (hello container) |"
    )
    add(
        f"| idle memory | {ref['idle_rss_mb'][0]}–{ref['idle_rss_mb'][1]} MB |"
        f" {host['rss_idle_mib']:.1f} MiB (hello container) |"
    )
    add("")
    return "\n".join(out)


def write(results: dict[str, Any], out: Path) -> None:
    plot_sizes(results, out / PLOTS["sizes"])
    plot_cold_start(results, out / PLOTS["cold_start"])
    plot_load(results, out / PLOTS["load"])
    plot_build(results, out / PLOTS["build"])
    (out / "report.md").write_text(markdown(results))
