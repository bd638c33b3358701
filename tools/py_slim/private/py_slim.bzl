"""py_slim_runtime: the part of Debian's Python runtime one service needs."""

load("//platforms:platforms.bzl", "ARCHES")
load(":probe.bzl", "PROBE_ATTRS", "PYC_ATTRS", "app_tars", "pyc_args", "run_probe")

def _arch_platform_impl(_settings, attr):
    return {"//command_line_option:platforms": [str(Label(ARCHES[attr.arch]))]}

# The runtime is for `arch`, whatever platform the build is for: `app` (whose
# extension modules decide which libraries are kept) is built for it too, so
# `bazel build //images:all` on an amd64 machine still reads aarch64 wheels
# for the arm64 runtime.
_arch_platform = transition(
    implementation = _arch_platform_impl,
    inputs = [],
    outputs = ["//command_line_option:platforms"],
)

def _named_files(attribute, flag):
    """label_keyed_string_dict {file target: package name} -> (files, ["NAME=PATH"])."""
    files = []
    args = []
    for target, package in attribute.items():
        for f in target[DefaultInfo].files.to_list():
            files.append(f)
            args.append("{}={}".format(package, f.path))
    if len(args) != len(attribute):
        fail("{}: every label must name exactly one file".format(flag))
    return files, args

def _py_slim_runtime_impl(ctx):
    modules, sources, startup = run_probe(ctx, excludes = ctx.attr.excludes, sources = True, arch = ctx.attr.arch)
    runtime = ctx.actions.declare_file(ctx.label.name + ".tar")
    report = ctx.actions.declare_file(ctx.label.name + ".report.txt")
    tars, tar_args = _named_files(ctx.attr.packages, "packages")
    controls, control_args = _named_files(ctx.attr.controls, "controls")
    md5sums, md5sums_args = _named_files(ctx.attr.md5sums, "md5sums")
    app_layers = [f for target in ctx.attr.app for f in app_tars(target)]
    args = ctx.actions.args()
    args.add("--arch", ctx.attr.arch).add("--modules", modules)
    args.add("--interpreter", ctx.attr.python.lstrip("/"))
    args.add("--output", runtime).add("--report", report)
    args.add_all(tar_args, before_each = "--package")
    args.add_all(control_args, before_each = "--control")
    args.add_all(md5sums_args, before_each = "--md5sums")
    args.add_all(ctx.attr.libraries, before_each = "--library")
    args.add_all(app_layers, before_each = "--app-layer")
    ctx.actions.run(
        executable = ctx.executable._slim_tool,
        arguments = [args],
        inputs = [modules] + tars + controls + md5sums + app_layers,
        outputs = [runtime, report],
        mnemonic = "PySlimRuntime",
        progress_message = "Selecting the Python runtime of %{label}",
    )

    # The kept standard library's imported sources: not the frozen modules
    # (os, codecs, io...), kept as files but never read from .pyc.
    pyc = ctx.actions.declare_file(ctx.label.name + "_pyc.tar")
    compile_args = pyc_args(ctx, ctx.actions.args())
    compile_args.add("--python", ctx.attr.python).add("--prefix", ctx.attr.stdlib)
    compile_args.add("--tar", runtime).add("--only", sources).add("--output", pyc)
    ctx.actions.run(
        executable = ctx.executable._tar_pyc_tool,
        arguments = [compile_args],
        inputs = [runtime, sources],
        outputs = [pyc],
        mnemonic = "TarPyc",
        progress_message = "Precompiling the standard library kept by %{label}",
    )
    return [
        DefaultInfo(files = depset([runtime])),
        OutputGroupInfo(pyc = depset([pyc]), report = depset([report]), modules = depset([modules]), startup = depset([startup])),
    ]

py_slim_runtime = rule(
    implementation = _py_slim_runtime_impl,
    doc = """Debian's Python runtime trimmed to what one service imports, for one architecture.

1. The service runs once at build time, from its own layers under the build
   machine's interpreter (`python`, the same Python version as the image's),
   answering `requests`; the modules it imports, plus the `allowlist`, are
   recorded (`py_slim_probe.py`). `excludes` cannot be imported meanwhile.
2. From the `packages` data tars of `arch`, the interpreter, those modules'
   standard-library files, the shared libraries all of it needs (DT_NEEDED,
   transitively) and those the ELF files of `app` need (extension modules of
   compiled distributions, for `arch`), the dynamic loader, `libraries`,
   copyright files and dpkg status entries are kept (`py_slim.py`).

Outputs: the runtime as a plain tar (default), its precompiled standard
library as a tar (output group `pyc`), `report` (every kept path and why) and
`modules` (the probe's list). Use each tar in an `oci_layer`.""",
    attrs = dict(
        PROBE_ATTRS,
        app = attr.label_list(
            mandatory = True,
            allow_files = [".tar", ".tar.gz", ".tgz", ".tar.zst"],
            cfg = _arch_platform,
            doc = "The service's layers (built here for `arch`'s platform): a py_image_layers target (or tars); the libraries their ELF files need are kept.",
        ),
        _allowlist_function_transition = attr.label(default = "@bazel_tools//tools/allowlists/function_transition_allowlist"),
        excludes = attr.string_list(doc = "Modules left out although importers try them (optional imports); the probe runs without them."),
        arch = attr.string(mandatory = True, values = ["amd64", "arm64"], doc = "Architecture of `packages` (the keys of ARCHES in arches.py)."),
        packages = attr.label_keyed_string_dict(mandatory = True, allow_files = True, doc = "Debian data tar -> package name."),
        controls = attr.label_keyed_string_dict(allow_files = True, doc = "Control file -> package name: dpkg status entries for the packages used."),
        md5sums = attr.label_keyed_string_dict(allow_files = True, doc = "md5sums file -> package name, limited to the files kept."),
        libraries = attr.string_list(doc = "Shared libraries loaded with dlopen(), e.g. libgcc_s.so.1."),
        _slim_tool = attr.label(default = "//tools/py_slim/private:py_slim", executable = True, cfg = "exec"),
        **PYC_ATTRS
    ),
)
