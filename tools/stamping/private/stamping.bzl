"""Stamping: how a rule learns whether this build is stamped (--stamp).

    load("//tools/stamping:defs.bzl", "STAMP_ATTRS", "maybe_stamp")

The shape follows aspect_bazel_lib's lib/stamping.bzl (which Debian's module set
does not offer here): a rule adds STAMP_ATTRS and calls maybe_stamp(ctx), which
returns ctx.info_file (stable-status.txt, the STABLE_ keys of
tools/stamping/workspace_status.sh) only when the rule is stamped. An unstamped
action then never has the status file as an input, so its outputs and cache key
cannot depend on the commit.
"""

StampSettingInfo = provider(
    doc = "Whether --stamp is on in this configuration.",
    fields = {"value": "bool"},
)

def _stamp_setting_impl(ctx):
    return [StampSettingInfo(value = ctx.attr.value)]

stamp_setting = rule(
    implementation = _stamp_setting_impl,
    doc = "Reports `value` (a select() on the --stamp config_setting) to rules.",
    attrs = {"value": attr.bool(mandatory = True)},
)

STAMP_ATTRS = {
    "stamp": attr.int(
        default = -1,
        values = [-1, 0, 1],
        doc = "1: always stamp; 0: never; -1 (default): stamp when Bazel runs with --stamp.",
    ),
    "_stamp_setting": attr.label(default = Label("//tools/stamping:stamp_setting")),
}

def maybe_stamp(ctx):
    """Whether `ctx` is stamped, as the file to read the stamp from.

    Args:
        ctx: a rule context whose rule has STAMP_ATTRS.

    Returns:
        ctx.info_file (stable-status.txt) if the target is stamped, else None.
    """
    stamp = ctx.attr.stamp
    if stamp == 1 or (stamp == -1 and ctx.attr._stamp_setting[StampSettingInfo].value):
        return ctx.info_file
    return None
