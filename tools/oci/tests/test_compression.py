"""Layer compression: tar+zstd by attribute, the same files as tar+gzip.

Layers are read by oci_layout (gzip by the standard library, zstd by the zstd
program), independently of the zstandard wheel the rules compress with.
"""

from __future__ import annotations

from oci_layout import (
    BASE_DIGEST,
    MEDIA_TYPE_LAYER,
    MEDIA_TYPE_LAYER_ZSTD,
    PLATFORM_REFS,
    Image,
    Layout,
    check_image,
    check_layout,
    runfile,
)


def images(variable: str) -> dict[str, Image]:
    layout = Layout(runfile(variable))
    check_layout(layout)
    return {ref: layout.image(layout.by_ref(ref)) for ref in PLATFORM_REFS}


def test_a_zstd_index_holds_the_gzip_index_files_in_tar_zstd_layers() -> None:
    gzipped, zstd = images("DERIVED_INDEX"), images("DERIVED_ZSTD_INDEX")
    for ref, image in zstd.items():
        # Every layer, the base's too: the index builds the base with its compression.
        check_image(image, PLATFORM_REFS[ref], MEDIA_TYPE_LAYER_ZSTD)
        other = gzipped[ref]
        check_image(other, PLATFORM_REFS[ref], MEDIA_TYPE_LAYER)
        # The same tars, so the same diff_ids, config and history: only the
        # layer blobs (and so the manifest and its base's digest) differ.
        assert [layer.tar for layer in image.layers] == [
            layer.tar for layer in other.layers
        ]
        assert image.manifest["config"] == other.manifest["config"]
        assert all(
            a.descriptor["digest"] != b.descriptor["digest"]
            for a, b in zip(image.layers, other.layers, strict=True)
        )
        bases = {i.manifest["annotations"][BASE_DIGEST] for i in (image, other)}
        assert len(bases) == 2, "the zstd image's base is a zstd image of its own"


def test_the_index_marks_zstd_instances_as_containers_image_does() -> None:
    # podman prefers such an instance, and skopeo copy --preserve-digests would
    # have to add the mark (and so refuses) if it were missing.
    for variable, want in (
        ("DERIVED_ZSTD_INDEX", {"io.github.containers.compression.zstd": "true"}),
        ("DERIVED_INDEX", None),
    ):
        layout = Layout(runfile(variable))
        nested = layout.json_blob(layout.by_ref("latest"))
        assert [m.get("annotations") for m in nested["manifests"]] == [want] * len(
            PLATFORM_REFS
        )
        # In the order of `platforms`, whatever the configuration (it once
        # followed the configurations, and the zstd index listed arm64 first).
        assert [m["platform"] for m in nested["manifests"]] == list(
            PLATFORM_REFS.values()
        )


def test_an_image_with_compression_zstd_makes_every_layer_zstd() -> None:
    layout = Layout(runfile("ZSTD_IMAGE"))
    check_layout(layout)
    image = layout.image(layout.by_ref("latest"))
    layers = image.layers
    check_image(image, image.descriptor["platform"], MEDIA_TYPE_LAYER_ZSTD)
    assert len(layers) == 3  # The base's, app_layer and the foreign tar.
    # The foreign tar is normalised as for gzip: the same tar as foreign_image's.
    foreign = Layout(runfile("FOREIGN_IMAGE"))
    (gzip_foreign,) = foreign.image(foreign.by_ref("latest")).layers
    assert layers[2].tar == gzip_foreign.tar
    assert "home/app/app.txt" in layers[1].by_name()


def test_a_layer_keeps_its_own_compression_in_an_image_of_another() -> None:
    layout = Layout(runfile("MIXED_IMAGE"))
    image = layout.image(layout.by_ref("latest"))
    assert [layer.descriptor["mediaType"] for layer in image.layers] == [
        MEDIA_TYPE_LAYER,  # base_image's rootfs_layer
        MEDIA_TYPE_LAYER_ZSTD,  # zstd_app_layer, compression = "zstd"
    ]
    assert image.layers[1].by_name()["home/app/app.txt"].data == b"app data"
