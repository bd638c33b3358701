"""stamped: builds its targets as `bazel build --stamp` would, for tests.

One `bazel test` then sees both a stamped and an unstamped build of the same
target (the transition gives the stamped one its own output directory).
"""

def _stamp_on_impl(_settings, _attr):
    return {"//command_line_option:stamp": True}

_stamp_on = transition(
    implementation = _stamp_on_impl,
    inputs = [],
    outputs = ["//command_line_option:stamp"],
)

def _stamped_impl(ctx):
    # Linked under NAME/: the stamped outputs have the same short paths as the
    # unstamped ones, and a test's runfiles can hold only one of each.
    outputs = []
    for target in ctx.attr.targets:
        for f in target[DefaultInfo].files.to_list():
            path = ctx.label.name + "/" + f.basename
            out = ctx.actions.declare_directory(path) if f.is_directory else ctx.actions.declare_file(path)
            ctx.actions.symlink(output = out, target_file = f)
            outputs.append(out)
    return [DefaultInfo(files = depset(outputs), runfiles = ctx.runfiles(files = outputs))]

stamped = rule(
    implementation = _stamped_impl,
    doc = "The files of `targets`, built with --stamp.",
    attrs = {
        "targets": attr.label_list(cfg = _stamp_on, mandatory = True),
        "_allowlist_function_transition": attr.label(default = "@bazel_tools//tools/allowlists/function_transition_allowlist"),
    },
)
