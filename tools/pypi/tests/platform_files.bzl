"""platform_files: the runfiles of Python libraries built for one target platform (test helper).

Writes NAME.json, {runfiles path: short path} of every file `deps` bring, with
the files themselves as runfiles, so a test on the build machine can look at
what a build for another platform (//platforms:linux_arm64) would ship.
"""

def _to_platform_impl(_settings, attr):
    return {"//command_line_option:platforms": [str(attr.platform)]}

_to_platform = transition(
    implementation = _to_platform_impl,
    inputs = [],
    outputs = ["//command_line_option:platforms"],
)

def _platform_files_impl(ctx):
    runfiles = ctx.runfiles().merge_all([dep[DefaultInfo].default_runfiles for dep in ctx.attr.deps])
    files = runfiles.files.to_list()
    manifest = ctx.actions.declare_file(ctx.label.name + ".json")
    ctx.actions.write(manifest, json.encode({
        (f.short_path[3:] if f.short_path.startswith("../") else "_main/" + f.short_path): f.short_path
        for f in files
    }))
    return [DefaultInfo(files = depset([manifest]), runfiles = runfiles)]

platform_files = rule(
    implementation = _platform_files_impl,
    attrs = {
        "deps": attr.label_list(cfg = _to_platform, doc = "Libraries, built for `platform`."),
        "platform": attr.label(mandatory = True, doc = "The target platform to build `deps` for."),
        "_allowlist_function_transition": attr.label(default = "@bazel_tools//tools/allowlists/function_transition_allowlist"),
    },
)
