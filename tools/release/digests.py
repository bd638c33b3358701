"""The digests of every image, pinned in the repository: images/digests.lock.json.

    digests.py --images-list images/images_list.json --layouts images --update
    digests.py --images-list images/images_list.json --layouts images --check LOCK

`--update` (what `./tools/bazel run //images:digests.update` runs) writes the lock
into the source tree (BUILD_WORKSPACE_DIRECTORY); `--check LOCK` (what
//images:digests_test runs) fails, exit 1, when a built image differs from it,
naming the image, the platform, the first differing layer (its position and what
it holds: the history text of the image config) and the first differing file.

The lock (canonical JSON, sorted keys) holds, per image: the index digest; per
platform the manifest and config digests and the digests of its layers, in
order. Per layer digest (layers are shared between images, so each is listed
once, under "layers"): what it holds, its entry count, and its files, grouped by
directory: for each directory a string of one short code per entry directly in
it, in path order. A code is the first CODE_CHARS hex digits of the sha256 of the
entry's path, type, mode, owner, mtime, size, link target and content sha256.
The paths are not stored (they are in the built layer): comparing the built
layer's codes with the lock's, directory by directory, names the first file
that changed or appeared, and where one disappeared, without the old blobs.
A review of the lock's diff shows which directories of which layer changed.
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import json
import os
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import image_list
from compare import layer_entries  # the one place saying which fields matter
from ocireader import Image, Layer, Layout, LayoutError

LOCK = Path("images") / "digests.lock.json"
UPDATE = "./tools/bazel run //images:digests.update"
HOW_TO_UPDATE = (
    f"If the change is meant to change the images, run `{UPDATE}` and commit "
    f"{LOCK} with the change"
)
CODE_CHARS = 6
FORMAT = 1


class DigestsError(Exception):
    """A layout or the lock cannot be read; the message names it."""


# --- reading the images -------------------------------------------------------------


def entry_code(path: str, fields: tuple[Any, ...]) -> str:
    text = "\t".join([path, *(str(f) for f in fields)])
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[
        :CODE_CHARS
    ]


def layer_files(layer: Layer) -> dict[str, list[tuple[str, str]]]:
    """directory -> [(path, code)] of the entries directly in it, sorted by path."""
    groups: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for name, fields in layer_entries(layer).items():
        path = "/" + name.removeprefix("./").strip("/")
        groups[path.rsplit("/", 1)[0] or "/"].append((path, entry_code(path, fields)))
    return {d: sorted(entries) for d, entries in sorted(groups.items())}


def _holds(image: Image) -> list[str]:
    history = [h for h in image.config.get("history") or [] if not h.get("empty_layer")]
    texts = [str(h.get("created_by") or h.get("comment") or "") for h in history]
    return texts if len(texts) == len(image.layers) else [""] * len(image.layers)


def read_layout(path: Path) -> tuple[dict[str, Any], dict[str, Image]]:
    """(the lock's entry of one image, platform -> Image)."""
    try:
        layout = Layout(path)
        entry: dict[str, Any] = {"index": layout.top_index()["digest"], "platforms": {}}
        images = {}
        for ref in layout.images():
            image = layout.image(ref)
            platform = str(ref.platform)
            images[platform] = image
            entry["platforms"][platform] = {
                "manifest": ref.digest,
                "config": image.manifest["config"]["digest"],
                "layers": [layer.digest for layer in image.layers],
            }
    except LayoutError as err:
        raise DigestsError(f"{path}: {err}") from None
    return entry, images


def record(layouts: dict[str, Path]) -> dict[str, Any]:
    """The lock of the images `layouts` names (image name -> OCI layout)."""
    lock: dict[str, Any] = {
        "comment": f"Written by `{UPDATE}`; checked by //images:digests_test "
        "(tools/release/digests.py says what it holds).",
        "format": FORMAT,
        "images": {},
        "layers": {},
    }
    for name, path in sorted(layouts.items()):
        entry, images = read_layout(path)
        lock["images"][name] = entry
        for image in images.values():
            for layer, holds in zip(image.layers, _holds(image), strict=True):
                if layer.digest in lock["layers"]:
                    continue
                files = layer_files(layer)
                lock["layers"][layer.digest] = {
                    "holds": holds,
                    "entries": sum(len(v) for v in files.values()),
                    "files": {
                        d: " ".join(code for _, code in entries)
                        for d, entries in files.items()
                    },
                }
    return lock


def dumps(lock: dict[str, Any]) -> str:
    return json.dumps(lock, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


# --- comparing -----------------------------------------------------------------------


def first_file_difference(
    old: dict[str, str], built: dict[str, list[tuple[str, str]]]
) -> str:
    """The first file (in path order) whose entry is new, changed or gone."""
    for directory in sorted(old.keys() | built.keys()):
        old_codes = old.get(directory, "").split()
        entries = built.get(directory, [])
        codes = [code for _, code in entries]
        if old_codes == codes:
            continue
        if directory not in old:
            return f"{entries[0][0]} (a new directory {directory})"
        if directory not in built:
            return (
                f"{directory}/ (a directory of {len(old_codes)} entries, gone from the"
                " layer)"
            )
        matcher = difflib.SequenceMatcher(None, old_codes, codes, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                continue
            if tag == "replace":
                return f"{entries[j1][0]} (changed: content, mode, owner or size)"
            if tag == "insert":
                return f"{entries[j1][0]} (new in the layer)"
            after = entries[j1 - 1][0] if j1 else f"{directory}/"
            return (
                f"{i2 - i1} entr{'y' if i2 - i1 == 1 else 'ies'} of {directory}/ gone "
                f"(after {after} in path order)"
            )
    return "(the same files: only the compressed bytes differ)"


def _layer_difference(
    lock: dict[str, Any], position: int, count: int, old: str | None, layer: Layer,
    holds: str,
) -> str:  # fmt: skip
    what = f"layer {position + 1} of {count}"
    if holds:
        what += f" ({holds})"
    if old is None:
        return f"{what} {layer.digest} is new (the lock has fewer layers)"
    old_layer = lock["layers"].get(old)
    if old_layer is None:
        return f"{what} {layer.digest} != {old} (the lock lists no files of {old})"
    first = first_file_difference(old_layer["files"], layer_files(layer))
    return f"{what} {layer.digest} != {old} in the lock; first differing file: {first}"


def check(lock: dict[str, Any], layouts: dict[str, Path]) -> list[str]:
    """One message per image whose digests differ from the lock; [] if none."""
    problems = []
    locked = lock.get("images", {})
    for name in sorted(locked.keys() - layouts.keys()):
        problems.append(f"{name}: in {LOCK} but no longer built")
    for name, path in sorted(layouts.items()):
        entry, images = read_layout(path)
        old = locked.get(name)
        if old is None:
            problems.append(f"{name}: built but not in {LOCK}")
            continue
        if old["index"] == entry["index"]:
            continue
        messages = [f"{name}: index {entry['index']} != {old['index']} in the lock"]
        for platform in sorted(old["platforms"].keys() | images.keys()):
            if platform not in images:
                messages.append(f"{name} {platform}: in the lock but not built")
                continue
            if platform not in old["platforms"]:
                messages.append(f"{name} {platform}: built but not in the lock")
                continue
            now, before = entry["platforms"][platform], old["platforms"][platform]
            if now["manifest"] == before["manifest"]:
                continue
            where = (
                f"{name} {platform}: manifest {now['manifest']} != {before['manifest']}"
            )
            image = images[platform]
            layers, holds = image.layers, _holds(image)
            for position, layer in enumerate(layers):
                old_layers = before["layers"]
                old_digest = (
                    old_layers[position] if position < len(old_layers) else None
                )
                if layer.digest != old_digest:
                    messages.append(
                        f"{where}; "
                        + _layer_difference(
                            lock, position, len(layers), old_digest, layer,
                            holds[position],
                        )
                    )  # fmt: skip
                    break
            else:
                if len(layers) < len(before["layers"]):
                    messages.append(
                        f"{where}; {len(before['layers']) - len(layers)} layer(s) fewer"
                        " than in the lock"
                    )
                elif now["config"] != before["config"]:
                    messages.append(
                        f"{where}; same layers, config {now['config']} != "
                        f"{before['config']} (labels, environment, entrypoint, ...)"
                    )
        problems.append("\n  ".join(messages))
    return problems


# --- command line --------------------------------------------------------------------


def layouts_of(images_list: Path, layouts: Path) -> dict[str, Path]:
    try:
        return {name: layouts / name for name in image_list.read(images_list)}
    except image_list.ImageListError as err:
        raise DigestsError(str(err)) from None


def read_lock(path: Path) -> dict[str, Any]:
    try:
        lock = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DigestsError(f"{path} does not exist: run `{UPDATE}`") from None
    except ValueError as err:
        raise DigestsError(
            f"{path} is not JSON ({err}): run `{UPDATE}` to rewrite it"
        ) from None
    if not isinstance(lock, dict) or lock.get("format") != FORMAT:
        raise DigestsError(
            f"{path} is not a digests lock of format {FORMAT}: run `{UPDATE}`"
        )
    return lock


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images-list", required=True, type=Path)
    parser.add_argument("--layouts", required=True, type=Path)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--update", action="store_true", help=f"write {LOCK}")
    mode.add_argument("--check", type=Path, metavar="LOCK", help="compare with LOCK")
    args = parser.parse_args(argv)
    try:
        layouts = layouts_of(args.images_list, args.layouts)
        if args.update:
            workspace = os.environ.get("BUILD_WORKSPACE_DIRECTORY")
            if not workspace:
                raise DigestsError(f"--update writes the source tree: run `{UPDATE}`")
            (Path(workspace) / LOCK).write_text(dumps(record(layouts)), "utf-8")
            print(f"wrote {LOCK} ({len(layouts)} images); review and commit it")
            return 0
        problems = check(read_lock(args.check), layouts)
    except DigestsError as err:
        print(f"digests: {err}", file=sys.stderr)
        return 1
    if problems:
        print(f"The images differ from {LOCK}:", file=sys.stderr)
        for problem in problems:
            print("- " + problem, file=sys.stderr)
        print(HOW_TO_UPDATE + ".", file=sys.stderr)
        return 1
    print(f"every image matches {LOCK} ({len(layouts)} images)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
