"""oci_platform_image: one oci_image built for a given platform (like bazel_lib's platform_transition_filegroup)."""

load(":providers.bzl", "OciImageInfo")

def _to_platform_impl(_settings, attr):
    return {"//command_line_option:platforms": [str(attr.platform)]}

_to_platform = transition(
    implementation = _to_platform_impl,
    inputs = [],
    outputs = ["//command_line_option:platforms"],
)

def _oci_platform_image_impl(ctx):
    image = ctx.attr.image[0]
    return [
        DefaultInfo(files = image[DefaultInfo].files, runfiles = image[DefaultInfo].default_runfiles),
        image[OciImageInfo],
    ]

oci_platform_image = rule(
    implementation = _oci_platform_image_impl,
    doc = "Builds `image` for `platform`, so `bazel build //images:hello_linux_arm64` needs no --platforms flag.",
    attrs = {
        "image": attr.label(mandatory = True, cfg = _to_platform, providers = [OciImageInfo]),
        "platform": attr.label(mandatory = True),
        "_allowlist_function_transition": attr.label(default = "@bazel_tools//tools/allowlists/function_transition_allowlist"),
    },
)
