"""Where each file of an image came from, as the image itself records it.

    origins = Origins.of(root, layer_names)
    origins.of_path("usr/lib/x86_64-linux-gnu/libc.so.6")
    # "Debian package libc6 2.41-12+deb13u5, layer 1 (bazel build //images:cc_layer_amd64)"

Three records, read from the image, so any image can be checked:

- Debian packages: var/lib/dpkg/status.d/NAME.md5sums lists the files of
  package NAME, var/lib/dpkg/status.d/NAME its Version (what scanners read);
- Python distributions: every NAME-VERSION.dist-info/RECORD lists its files
  relative to the directory it is in (site-packages), METADATA its Name and
  Version;
- the layer that wrote the path, named by the image config's history
  ("bazel build //images:...", as oci_image writes it).
"""

from __future__ import annotations

import csv
import io
import posixpath
from dataclasses import dataclass, field

from rootfs import RootFs, normalize

STATUS_DIR = "var/lib/dpkg/status.d"


def wanted(path: str) -> bool:
    """The files whose contents Origins reads."""
    if path.startswith(STATUS_DIR + "/"):
        return True
    directory, name = posixpath.split(path)
    return directory.endswith(".dist-info") and name in ("RECORD", "METADATA")


def _field(text: str, name: str) -> str | None:
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key == name:
            return value.strip()
        if not line.strip():
            break  # The end of the paragraph, or of METADATA's headers.
    return None


@dataclass
class Origins:
    owners: dict[str, str] = field(
        default_factory=dict
    )  # Path -> package or distribution.
    layer_names: list[str] = field(default_factory=list)
    root: RootFs | None = None

    @classmethod
    def of(cls, root: RootFs, layer_names: list[str]) -> Origins:
        origins = cls(layer_names=layer_names, root=root)
        for path, node in root.files():
            if node.data is None:
                continue
            text = node.data.decode("utf-8", "replace")
            directory, name = posixpath.split(path)
            if directory == STATUS_DIR and name.endswith(".md5sums"):
                origins._add_package(root, name[: -len(".md5sums")], text)
            elif directory.endswith(".dist-info") and name == "RECORD":
                origins._add_distribution(root, directory, text)
        return origins

    def _add_package(self, root: RootFs, package: str, md5sums: str) -> None:
        control = root.read(f"{STATUS_DIR}/{package}")
        version = (
            _field(control.decode("utf-8", "replace"), "Version") if control else None
        )
        owner = f"Debian package {package}" + (f" {version}" if version else "")
        for line in md5sums.splitlines():
            _, _, path = line.strip().partition("  ")
            if path:
                self.owners.setdefault(normalize(path), owner)

    def _add_distribution(self, root: RootFs, dist_info: str, record: str) -> None:
        metadata = root.read(posixpath.join(dist_info, "METADATA"))
        text = metadata.decode("utf-8", "replace") if metadata else ""
        stem = posixpath.basename(dist_info)[: -len(".dist-info")]
        fallback_name, _, fallback_version = stem.partition("-")
        name = _field(text, "Name") or fallback_name
        version = _field(text, "Version") or fallback_version
        owner = f"{name} {version} (Python distribution)"
        base = posixpath.dirname(dist_info)
        for row in csv.reader(io.StringIO(record)):
            if row and row[0]:
                self.owners.setdefault(normalize(posixpath.join(base, row[0])), owner)

    def of_path(self, path: str) -> str:
        """Its package or distribution, if recorded, and the layer that wrote it."""
        path = normalize(path)
        if self.root is not None:
            path = (
                self.root.resolve(path) or path
            )  # /lib/... is usr/lib/... on merged /usr.
        parts = []
        if path in self.owners:
            parts.append(self.owners[path])
        node = self.root.lookup(path) if self.root else None
        if node is not None:
            layer = f"layer {node.layer + 1}"
            if node.layer < len(self.layer_names) and self.layer_names[node.layer]:
                # Bazel 7 writes main-repository labels as @@//pkg:name.
                name = self.layer_names[node.layer].replace("@@//", "//")
                layer += f" ({name})"
            parts.append(layer)
        return ", ".join(parts) or "origin unknown"
