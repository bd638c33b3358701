"""stamp_json: a JSON file of workspace-status values that exists only in stamped builds."""

load(":stamping.bzl", "STAMP_ATTRS", "maybe_stamp")

def _stamp_json_impl(ctx):
    status = maybe_stamp(ctx)
    if status == None:
        # Unstamped: no file at all, so whatever ships it (e.g. an image layer)
        # stays byte-identical to a build without this target.
        return [DefaultInfo()]
    out = ctx.actions.declare_file(ctx.attr.out or ctx.label.name + ".json")
    args = ctx.actions.args()
    args.add("--status", status).add("--output", out)
    for key, template in sorted(ctx.attr.values.items()):
        args.add("--value", "{}={}".format(key, template))
    ctx.actions.run(
        executable = ctx.executable._tool,
        arguments = [args],
        inputs = [status],
        outputs = [out],
        mnemonic = "StampJson",
        progress_message = "Stamping %{output}",
    )
    return [DefaultInfo(files = depset([out]), runfiles = ctx.runfiles(files = [out]))]

stamp_json = rule(
    implementation = _stamp_json_impl,
    doc = """A JSON object of stamped values, e.g. a service's build_info.json.

When the build is stamped (--stamp, or stamp = 1), writes `out` with each
value's template expanded from the workspace status, e.g.
{"version": "{STABLE_VERSION}"}. When it is not, the target provides no file,
so readers fall back to their placeholders and unstamped outputs do not change.""",
    attrs = dict(
        out = attr.string(doc = "Output path in this package; default NAME.json."),
        values = attr.string_dict(mandatory = True, doc = "key -> template naming status keys in braces."),
        _tool = attr.label(default = "//tools/stamping/private:stamp_json", executable = True, cfg = "exec"),
        **STAMP_ATTRS
    ),
)
