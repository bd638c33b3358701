"""Writes the BUILD files of the `@pypi` hub repository, one step of the `pip` module extension.

    generate_hub.py REPO_DIR HUB_NAME

REPO_DIR holds `site-packages/` (the installed lock). For every installed
distribution this writes, in the shape rules_python uses:
  - `//:<name>`: a py_library with the distribution's files (from its RECORD),
    `imports = ["site-packages"]` and its installed requirements as deps;
  - `//<name>:<name>`, so `@pypi//waitress` works;
  - `//<name>:bin`, its console scripts (site-packages/bin/...), if any;
  - `requirements.bzl` with `requirement(name)` and `all_requirements`.
Names are normalised as in PEP 503, with "_" for "-" and ".".
"""

from __future__ import annotations

import csv
import email.parser
import io
import re
import sys
from pathlib import Path

SITE = "site-packages"


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def requirement_name(requires_dist: str) -> str | None:
    """The distribution named by a Requires-Dist line, or None when it only applies to an extra."""
    spec, _, marker = requires_dist.partition(";")
    if "extra" in marker:
        return None
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", spec)
    return normalize(match.group(1)) if match else None


def distribution_files(dist_info: Path) -> tuple[list[str], list[str], list[str]]:
    """Python sources, data files and console scripts of one distribution, relative to the repo."""
    srcs: list[str] = []
    data: list[str] = []
    scripts: list[str] = []
    record = (dist_info / "RECORD").read_text(encoding="utf-8")
    for row in csv.reader(io.StringIO(record)):
        if not row:
            continue
        path = row[0]
        if path.startswith("../"):
            # pip --target records scripts relative to its temporary scheme: ../../bin/NAME.
            scripts.append(f"{SITE}/bin/{path.rsplit('/', 1)[-1]}")
            continue
        if "__pycache__" in path or path.endswith(".pyc"):
            continue
        (srcs if path.endswith(".py") else data).append(f"{SITE}/{path}")
    return sorted(srcs), sorted(data), sorted(scripts)


def starlark_list(items: list[str], indent: str = "        ") -> str:
    if not items:
        return "[]"
    return "[\n" + "".join(f'{indent}"{item}",\n' for item in items) + indent[:-4] + "]"


def main(repo_dir: str, hub_name: str) -> int:
    repo = Path(repo_dir)
    dists: dict[str, tuple[Path, list[str]]] = {}
    for dist_info in sorted((repo / SITE).glob("*.dist-info")):
        metadata = email.parser.Parser().parsestr(
            (dist_info / "METADATA").read_text(encoding="utf-8")
        )
        requires = [
            r
            for r in (
                requirement_name(line)
                for line in metadata.get_all("Requires-Dist") or []
            )
            if r
        ]
        dists[normalize(metadata["Name"])] = (dist_info, requires)

    root_build = [
        'load("@rules_python//python:defs.bzl", "py_library")\n',
        'package(default_visibility = ["//visibility:public"])\n',
    ]
    for name, (dist_info, requires) in sorted(dists.items()):
        srcs, data, scripts = distribution_files(dist_info)
        deps = sorted({f":{r}" for r in requires if r in dists and r != name})
        root_build.append(
            f"py_library(\n"
            f'    name = "{name}",\n'
            f"    srcs = {starlark_list(srcs)},\n"
            f"    data = {starlark_list(data)},\n"
            f'    imports = ["{SITE}"],\n'
            f"    deps = {starlark_list(deps)},\n"
            f")\n"
        )
        root_build.append(
            f'filegroup(\n    name = "{name}_bin",\n    srcs = {starlark_list(scripts)},\n)\n'
        )
        package = repo / name
        package.mkdir(exist_ok=True)
        (package / "BUILD.bazel").write_text(
            'package(default_visibility = ["//visibility:public"])\n\n'
            f'alias(\n    name = "{name}",\n    actual = "//:{name}",\n)\n\n'
            f'alias(\n    name = "bin",\n    actual = "//:{name}_bin",\n)\n',
            encoding="utf-8",
        )
    (repo / "BUILD.bazel").write_text("\n".join(root_build), encoding="utf-8")
    (repo / "requirements.bzl").write_text(
        '"""Labels of the locked third-party Python distributions (generated)."""\n\n'
        f"all_requirements = {starlark_list([f'@{hub_name}//{n}' for n in sorted(dists)], '    ')}\n\n"
        "def requirement(name):\n"
        '    """The py_library of a locked distribution, e.g. requirement("waitress")."""\n'
        f'    return "@{hub_name}//" + name.lower().replace("-", "_").replace(".", "_")\n',
        encoding="utf-8",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
