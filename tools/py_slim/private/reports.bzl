"""py_slim_reports: the reports of a service's slim runtimes, one per architecture, at known paths."""

def _py_slim_reports_impl(ctx):
    outputs = []
    for target, arch in ctx.attr.reports.items():
        files = target[DefaultInfo].files.to_list()
        if len(files) != 1:
            fail("reports: {} gives {} files, expected one report (output group report of a py_slim_runtime)".format(target.label, len(files)))
        output = ctx.actions.declare_file("{}/{}.report.txt".format(ctx.label.name, arch))
        ctx.actions.symlink(output = output, target_file = files[0])
        outputs.append(output)
    return [DefaultInfo(files = depset(outputs))]

py_slim_reports = rule(
    implementation = _py_slim_reports_impl,
    doc = """NAME/ARCH.report.txt for each architecture: what its runtime kept and left out.

Each key of `reports` gives one report (py_slim_runtime's output group
`report`), built in the image's own configuration (platform_files in
//platforms:platform_files.bzl), so no runtime is built twice; the release's
VEX (tools/release/vex.py) reads them at these paths.""",
    attrs = {
        "reports": attr.label_keyed_string_dict(
            mandatory = True,
            allow_files = True,
            doc = "target giving one report -> its architecture (amd64, arm64)",
        ),
    },
)
