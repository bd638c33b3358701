"""The list of images the build makes: //images:images_list, read.

The build writes it from the table of services (images/services.bzl, through
image_list in images/service_table.bzl):

    {"images": [{"name": "hello", "service": "hello", "variant": ""}, ...]}

`name` is the image's target in //images, the directory of its layout in
bazel-bin/images, and its repository under a registry prefix.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

TARGET = "//images:images_list"
# Where TARGET's file is, below a bazel-bin directory.
PATH = Path("images") / "images_list.json"
# What images/service_table.bzl allows a service name to be, plus its variant.
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class ImageListError(Exception):
    """The list is missing or malformed; the message names the file and the fix."""


def read(path: Path) -> list[str]:
    """The image names in `path`, in the table's order."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ImageListError(
            f"{path} does not exist: build {TARGET} (images/BUILD.bazel) first"
        ) from None
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise ImageListError(f"{path} is not a JSON file: {err}") from None
    images = document.get("images") if isinstance(document, dict) else None
    if not isinstance(images, list) or not images:
        raise ImageListError(
            f'{path}: expected {{"images": [{{"name": ...}}, ...]}} with at least '
            f"one image, as {TARGET} writes it; rebuild it"
        )
    names = []
    for number, entry in enumerate(images):
        name = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not _NAME.match(name):
            raise ImageListError(
                f"{path}: images[{number}] has no valid name ({entry!r}); "
                f"rebuild {TARGET}"
            )
        if name in names:
            raise ImageListError(f"{path}: image {name} is listed twice")
        names.append(name)
    return names


def select(listed: list[str], wanted: list[str]) -> list[str]:
    """`wanted` (every listed image if empty), each checked against `listed`."""
    unknown = [name for name in wanted if name not in listed]
    if unknown:
        raise ImageListError(
            f"no image named {', '.join(unknown)}; the images are "
            f"{', '.join(listed)} (images/services.bzl)"
        )
    return list(dict.fromkeys(wanted)) or listed


def slim_reports(path: Path) -> dict[str, str]:
    """{image: the target of its slim report} for the slim images in `path`."""
    read(path)  # Checked as above.
    document = json.loads(path.read_text(encoding="utf-8"))
    reports = {}
    for entry in document["images"]:
        report = entry.get("slim_report")
        if report is not None:
            if not isinstance(report, str) or not report.startswith("//"):
                raise ImageListError(
                    f"{path}: {entry['name']}: slim_report {report!r} is not a "
                    f"target; rebuild {TARGET}"
                )
            reports[entry["name"]] = report
    return reports
