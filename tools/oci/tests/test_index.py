"""oci_image_index: the nested index, the refs of index.json, one build per platform."""

from __future__ import annotations

import pytest
from oci_layout import (
    MEDIA_TYPE_INDEX,
    MEDIA_TYPE_MANIFEST,
    PLATFORM_REFS,
    REF_NAME,
    Layout,
    check_image,
    check_layout,
    runfile,
)


def test_index_json_names_the_nested_index_and_each_platform() -> None:
    layout = Layout(runfile("FULL_INDEX"))
    check_layout(layout)
    entries = layout.index()["manifests"]
    assert [e["annotations"] for e in entries] == [
        {REF_NAME: "latest"},
        {REF_NAME: "latest-linux-amd64"},
        {REF_NAME: "latest-linux-arm64-v8"},
    ]
    assert [e["mediaType"] for e in entries] == [
        MEDIA_TYPE_INDEX,
        MEDIA_TYPE_MANIFEST,
        MEDIA_TYPE_MANIFEST,
    ]
    for entry in entries[1:]:
        assert entry["platform"] == PLATFORM_REFS[entry["annotations"][REF_NAME]]
    # The digest output group names the nested index.
    assert runfile("FULL_INDEX_DIGEST").read_text().strip() == entries[0]["digest"]


def test_nested_index_lists_each_platform_manifest() -> None:
    layout = Layout(runfile("FULL_INDEX"))
    nested = layout.json_blob(layout.by_ref("latest"))
    assert nested["schemaVersion"] == 2
    assert nested["mediaType"] == MEDIA_TYPE_INDEX
    assert nested["annotations"] == {
        "org.opencontainers.image.description": "full_image, twice"
    }
    assert [m["platform"] for m in nested["manifests"]] == list(PLATFORM_REFS.values())
    for descriptor, ref in zip(nested["manifests"], PLATFORM_REFS, strict=True):
        top = layout.by_ref(ref)
        assert descriptor["mediaType"] == MEDIA_TYPE_MANIFEST
        assert (descriptor["digest"], descriptor["size"]) == (
            top["digest"],
            top["size"],
        )
        # The platform in the index is the one the config was built for.
        check_image(layout.image(descriptor), descriptor["platform"])


@pytest.mark.parametrize(
    ("ref", "arch"),
    [("latest-linux-amd64", "amd64"), ("latest-linux-arm64-v8", "arm64")],
)
def test_each_platform_takes_its_own_select_branch(ref: str, arch: str) -> None:
    # per_arch_image selects on @platforms//cpu in its own env and in a file
    # below its layer: both follow the platform the index builds for.
    layout = Layout(runfile("PER_ARCH_INDEX"))
    check_layout(layout)
    image = layout.image(layout.by_ref(ref))
    check_image(image, PLATFORM_REFS[ref])
    assert image.env() == {"ARCH": arch}
    (layer,) = image.layers
    assert layer.by_name()["etc/arch"].data == arch.encode()
