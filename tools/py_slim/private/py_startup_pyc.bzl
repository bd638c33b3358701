"""py_startup_pyc: bytecode for the standard-library modules a service imports at start-up."""

load(":probe.bzl", "PROBE_ATTRS", "PYC_ATTRS", "pyc_args", "run_probe")

def _py_startup_pyc_impl(ctx):
    modules, sources, startup = run_probe(ctx, sources = True, arch = ctx.attr.arch)
    pyc = ctx.actions.declare_file(ctx.label.name + ".tar")
    args = pyc_args(ctx, ctx.actions.args())
    args.add("--python", ctx.attr.python).add("--prefix", ctx.attr.stdlib)
    args.add("--only", sources).add("--output", pyc)
    args.add_all(ctx.files.tars, before_each = "--tar")
    ctx.actions.run(
        executable = ctx.executable._tar_pyc_tool,
        arguments = [args],
        inputs = ctx.files.tars + [sources],
        outputs = [pyc],
        mnemonic = "TarPyc",
        progress_message = "Precompiling the standard library %{label} imports at start-up",
    )
    return [
        DefaultInfo(files = depset([pyc])),
        OutputGroupInfo(modules = depset([modules]), sources = depset([sources]), startup = depset([startup])),
    ]

py_startup_pyc = rule(
    implementation = _py_startup_pyc_impl,
    doc = """A tar of .pyc files for the standard-library modules one service imports while it starts and serves.

The service runs once at build time, as py_slim_runtime's probe runs it
(nothing excluded); every standard-library module it imports from source,
plus the `allowlist`, is compiled from `tars` (the Debian data tars that hold
the standard library) to a .pyc at its image path. Frozen and built-in
modules need none. A module imported later (or by another command) is
compiled in memory when it is imported, as in an image without bytecode.

Output: the tar (give it to an `oci_layer`); output groups `modules` (the
probe's list), `sources` (what was compiled) and `startup` (the modules
imported before the first request, less a bare interpreter's).""",
    attrs = dict(
        PROBE_ATTRS,
        arch = attr.string(mandatory = True, values = ["amd64", "arm64"], doc = "Architecture of `tars` (a key of PLATFORMS in //platforms:platforms.bzl)."),
        tars = attr.label_list(mandatory = True, allow_files = True, doc = "Data tars holding the standard library under `stdlib`."),
        **PYC_ATTRS
    ),
)
