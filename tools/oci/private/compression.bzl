"""Layer compression: the //tools/oci:compression build setting and the `compression` attribute.

Every layer rule compresses with its `compression` attribute, or else the build
setting (gzip by default). `oci_image` and `oci_image_index` pass theirs on to
everything they build through a transition, so one attribute makes every layer
of an image, its base's included, tar+zstd (or tar+gzip).
"""

load("@bazel_skylib//rules:common_settings.bzl", "BuildSettingInfo")

COMPRESSION_SETTING = str(Label("//tools/oci:compression"))

COMPRESSIONS = ["gzip", "zstd"]

def compression_attr(what):
    """The `compression` attribute, documented for the rule that has it.

    Args:
        what: what it compresses, e.g. "this layer".

    Returns:
        An attr.string.
    """
    return attr.string(
        values = [""] + COMPRESSIONS,
        doc = "Compression of {}: \"gzip\" (tar+gzip) or \"zstd\" (tar+zstd, read by podman, containerd and Docker 23+). Default: the build setting --//tools/oci:compression (gzip unless set).".format(what),
    )

# For rules that compress layers themselves.
COMPRESSION_ATTRS = {
    "compression": compression_attr("the layers this rule writes"),
    "_compression_setting": attr.label(default = Label("//tools/oci:compression")),
}

def layer_compression(ctx):
    """The compression a rule with COMPRESSION_ATTRS writes its layers with."""
    return ctx.attr.compression or ctx.attr._compression_setting[BuildSettingInfo].value

def compression_settings(settings, attr):
    """The setting a transition gives: the rule's attribute if set, else as it was."""
    return {COMPRESSION_SETTING: getattr(attr, "compression", "") or settings[COMPRESSION_SETTING]}

# On the dependency edges of oci_image: its base and layers are built with its compression.
compression_transition = transition(
    implementation = compression_settings,
    inputs = [COMPRESSION_SETTING],
    outputs = [COMPRESSION_SETTING],
)

def _packed_inputs_impl(_settings, _attr):
    return {COMPRESSION_SETTING: "gzip"}

# On the edges of a layer rule to what it packs (files, tars): the layer
# decompresses and compresses again whatever it packs, so its inputs are
# built with the default compression, whatever the layer's. A tar+zstd image
# then shares every action but its layers' with the tar+gzip one (the probe
# runs, the bytecode, the dpkg status) instead of running them again.
packed_inputs_transition = transition(
    implementation = _packed_inputs_impl,
    inputs = [],
    outputs = [COMPRESSION_SETTING],
)
