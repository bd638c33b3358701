"""oci_image_index: a multi-platform image index, each image built for its platform."""

load(":compression.bzl", "COMPRESSION_SETTING", "compression_attr", "compression_settings")
load(":providers.bzl", "OciImageInfo")

def _platforms_transition_impl(settings, attr):
    compression = compression_settings(settings, attr)
    if not attr.platforms:
        return {"default": dict(compression, **{"//command_line_option:platforms": settings["//command_line_option:platforms"]})}
    return {
        str(platform): dict(compression, **{"//command_line_option:platforms": [str(platform)]})
        for platform in attr.platforms
    }

# Each image once per platform, all with the index's compression.
_platforms_transition = transition(
    implementation = _platforms_transition_impl,
    inputs = ["//command_line_option:platforms", COMPRESSION_SETTING],
    outputs = ["//command_line_option:platforms", COMPRESSION_SETTING],
)

def _oci_image_index_impl(ctx):
    layouts = []

    # In the order of `platforms`: split_attr's order follows the configurations
    # (it changed with the compression setting), and the index's bytes must not.
    split = ctx.split_attr.images
    keys = [str(p.label) for p in ctx.attr.platforms] if ctx.attr.platforms else split.keys()
    for key in keys:
        for image in split[key]:
            if OciImageInfo not in image:
                fail("images: {} is not an oci_image".format(image.label), attr = "images")
            layouts.append(image[OciImageInfo].layout)
    layout = ctx.actions.declare_directory(ctx.label.name)
    digest = ctx.actions.declare_file(ctx.label.name + ".digest")
    args = ctx.actions.args()
    args.add("--output", layout.path).add("--digest-out", digest)
    args.add_all(layouts, before_each = "--image", expand_directories = False)
    for key, value in sorted(ctx.attr.annotations.items()):
        args.add("--annotation", "{}={}".format(key, value))
    ctx.actions.run(
        executable = ctx.executable._index_tool,
        arguments = [args],
        inputs = layouts,
        outputs = [layout, digest],
        mnemonic = "OciImageIndex",
        progress_message = "Writing image index %{label}",
    )
    return [
        DefaultInfo(files = depset([layout]), runfiles = ctx.runfiles(files = [layout])),
        OutputGroupInfo(digest = depset([digest]), images = depset(layouts)),
    ]

oci_image_index = rule(
    implementation = _oci_image_index_impl,
    doc = """A multi-platform image index, as an OCI layout directory.

With `platforms`, every image in `images` is built once per platform through a
transition (so BUILD files pick per-platform inputs with select()), as in
rules_oci. Its index.json names the index and also each platform's manifest,
so tools that cannot read nested indexes can still unpack one platform.""",
    attrs = {
        "images": attr.label_list(mandatory = True, cfg = _platforms_transition, doc = "oci_image targets."),
        "platforms": attr.label_list(doc = "Platforms to build each image for, e.g. //platforms:linux_arm64."),
        "annotations": attr.string_dict(doc = "Index annotations."),
        "compression": compression_attr("every layer of every image (the images and their bases are built with it)"),
        "_allowlist_function_transition": attr.label(default = "@bazel_tools//tools/allowlists/function_transition_allowlist"),
        "_index_tool": attr.label(default = "//tools/oci/private:index", executable = True, cfg = "exec"),
    },
)
