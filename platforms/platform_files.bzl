"""platform_files: files of targets built for a given platform (like bazel_lib's platform_transition_filegroup)."""

def _to_platform_impl(_settings, attr):
    return {"//command_line_option:platforms": [str(attr.platform)]}

# The same transition as oci_platform_image's (and the one an oci_image_index
# makes per platform), so what it builds is the images' own actions, in their
# configuration, not a second copy of them in the top-level one.
_to_platform = transition(
    implementation = _to_platform_impl,
    inputs = [],
    outputs = ["//command_line_option:platforms"],
)

def _platform_files_impl(ctx):
    group = ctx.attr.output_group
    files = []
    for src in ctx.attr.srcs:
        if not group:
            files.append(src[DefaultInfo].files)
        elif group in src[OutputGroupInfo]:
            files.append(src[OutputGroupInfo][group])
        else:
            fail("{} has no output group {!r}".format(src.label, group))
    return [DefaultInfo(files = depset(transitive = files))]

platform_files = rule(
    implementation = _platform_files_impl,
    doc = "The files of `srcs` (or their `output_group`), built for `platform`.",
    attrs = {
        "output_group": attr.string(doc = "An output group of every src instead of its default outputs."),
        "platform": attr.label(mandatory = True, doc = "The platform to build `srcs` for, e.g. //platforms:linux_amd64."),
        "srcs": attr.label_list(mandatory = True, cfg = _to_platform),
        "_allowlist_function_transition": attr.label(default = "@bazel_tools//tools/allowlists/function_transition_allowlist"),
    },
)
