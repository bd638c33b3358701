"""image_list: the list of images the build writes, read; bad lists and names are named.

The list //images:images_list writes is read here too, and must name exactly
the image layouts //images:all_images builds.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import image_list
from image_list import ImageListError

RUNFILES = Path(os.environ["TEST_SRCDIR"]) / "_main"


def write(tmp_path: Path, document: object) -> Path:
    path = tmp_path / "images_list.json"
    path.write_text(json.dumps(document))
    return path


def test_reads_the_names_in_order(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {"images": [{"name": "b", "service": "b", "variant": ""}, {"name": "a_slim"}]},
    )
    assert image_list.read(path) == ["b", "a_slim"]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], 'expected {"images": [{"name": ...}, ...]}'),
        ({"images": []}, "with at least one image"),
        ({"images": ["hello"]}, "images[0] has no valid name ('hello')"),
        ({"images": [{"name": "../etc"}]}, "images[0] has no valid name"),
        ({"images": [{"name": "a"}, {"name": "a"}]}, "image a is listed twice"),
    ],
)
def test_a_malformed_list_is_named(
    tmp_path: Path, document: object, message: str
) -> None:
    path = write(tmp_path, document)
    with pytest.raises(ImageListError) as caught:
        image_list.read(path)
    assert str(path) in str(caught.value)
    assert message in str(caught.value)


def test_a_missing_or_broken_list_says_what_to_build(tmp_path: Path) -> None:
    with pytest.raises(ImageListError, match="build //images:images_list"):
        image_list.read(tmp_path / "nowhere.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{"images": [')
    with pytest.raises(ImageListError, match="is not a JSON file"):
        image_list.read(broken)


def test_select_every_image_or_the_ones_asked_for() -> None:
    listed = ["hello", "hello_debug", "hello_slim"]
    assert image_list.select(listed, []) == listed
    assert image_list.select(listed, ["hello_slim", "hello", "hello_slim"]) == [
        "hello_slim",
        "hello",
    ]


def test_select_names_an_unknown_image_and_the_known_ones() -> None:
    with pytest.raises(ImageListError) as caught:
        image_list.select(["hello", "hello_slim"], ["hello", "greet"])
    assert str(caught.value) == (
        "no image named greet; the images are hello, hello_slim "
        "(images/services.bzl)"
    )


def test_the_built_list_names_every_image_the_build_makes() -> None:
    names = image_list.read(RUNFILES / image_list.PATH)
    layouts = sorted(
        path.parent.name for path in (RUNFILES / "images").glob("*/index.json")
    )
    assert sorted(names) == layouts
    assert {"hello", "hello_debug", "hello_slim"} <= set(names)
    # Each slim image names the target of its py_slim reports (slim.bzl).
    reports = image_list.slim_reports(RUNFILES / image_list.PATH)
    assert sorted(reports) == sorted(n for n in names if n.endswith("_slim"))
    assert reports["hello_slim"] == "//images:hello_python3_slim_report"


def test_a_slim_report_that_is_no_target_is_named(tmp_path: Path) -> None:
    path = tmp_path / "images_list.json"
    path.write_text(
        json.dumps({"images": [{"name": "a_slim", "slim_report": "a.txt"}]})
    )
    with pytest.raises(image_list.ImageListError, match="a_slim: slim_report 'a.txt'"):
        image_list.slim_reports(path)
