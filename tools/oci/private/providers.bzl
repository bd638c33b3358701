"""Providers that flow between the OCI rules."""

OciLayerInfo = provider(
    doc = "Layers made by this rule set: blobs already in their final, pinned compression.",
    fields = {
        "layers": "list of struct(blob, descriptor, listing, origin): compressed blob (tar+gzip or tar+zstd), its descriptor JSON, a listing of its entries, and a label string naming where it came from",
        "paths": "dict: image path -> origin string of every regular file and symlink, for conflict checks at analysis time",
    },
)

OciImageInfo = provider(
    doc = "An image layout built by oci_image.",
    fields = {
        "layout": "the OCI layout directory (one manifest)",
        "platform": "os/architecture[/variant] string, e.g. linux/arm64/v8",
    },
)
