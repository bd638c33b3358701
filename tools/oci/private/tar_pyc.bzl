"""tar_pyc: deterministic .pyc files for the Python sources inside tars."""

def _tar_pyc_impl(ctx):
    output = ctx.actions.declare_file(ctx.label.name + ".tar")
    args = ctx.actions.args()
    args.add("--python", ctx.attr.python).add("--prefix", ctx.attr.prefix).add("--output", output)
    args.add_all(ctx.files.tars, before_each = "--tar")
    args.add_all(ctx.attr.excludes, before_each = "--exclude")
    ctx.actions.run(
        executable = ctx.executable._tool,
        arguments = [args],
        inputs = ctx.files.tars,
        outputs = [output],
        mnemonic = "TarPyc",
        progress_message = "Precompiling the Python sources of %{label}",
    )
    return [DefaultInfo(files = depset([output]))]

tar_pyc = rule(
    implementation = _tar_pyc_impl,
    doc = "A tar of checked-hash .pyc files for every .py under `prefix` in `tars`, at their image paths.",
    attrs = {
        "tars": attr.label_list(allow_files = True, mandatory = True),
        "prefix": attr.string(mandatory = True, doc = "e.g. usr/lib/python3.13"),
        "excludes": attr.string_list(doc = "Globs of members not to compile."),
        "python": attr.string(default = "/usr/bin/python3.13", doc = "Interpreter of the image's Python version."),
        "_tool": attr.label(default = "//tools/oci/private:tar_pyc", executable = True, cfg = "exec"),
    },
)
