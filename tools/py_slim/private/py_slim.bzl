"""py_slim_runtime: the part of Debian's Python runtime one service needs."""

def _app_tars(target):
    """The tars a target makes, in order: py_image_layers' are its layer blobs
    (third-party, then first-party), as the image stacks them."""
    return target[DefaultInfo].files.to_list()

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

def _probe(ctx):
    modules = ctx.actions.declare_file(ctx.label.name + ".modules.tsv")
    layers = [f for target in ctx.attr.app for f in _app_tars(target)]
    args = ctx.actions.args()
    args.add("--python", ctx.attr.python).add("--module", ctx.attr.module).add("--output", modules)
    args.add_all(layers, before_each = "--layer")
    args.add_all(["{}={}".format(k, v) for k, v in sorted(ctx.attr.env.items())], before_each = "--env")
    args.add_all(ctx.attr.requests, before_each = "--request")
    args.add_all(ctx.attr.allowlist, before_each = "--allow")
    args.add_all(ctx.attr.excludes, before_each = "--exclude")
    ctx.actions.run(
        executable = ctx.executable._probe_tool,
        arguments = [args],
        inputs = layers,
        outputs = [modules],
        mnemonic = "PySlimProbe",
        progress_message = "Running %{label}'s service to record the modules it imports",
    )
    return modules

def _py_slim_runtime_impl(ctx):
    modules = _probe(ctx)
    runtime = ctx.actions.declare_file(ctx.label.name + ".tar")
    report = ctx.actions.declare_file(ctx.label.name + ".report.txt")
    tars, tar_args = _named_files(ctx.attr.packages, "packages")
    controls, control_args = _named_files(ctx.attr.controls, "controls")
    md5sums, md5sums_args = _named_files(ctx.attr.md5sums, "md5sums")
    args = ctx.actions.args()
    args.add("--arch", ctx.attr.arch).add("--modules", modules)
    args.add("--interpreter", ctx.attr.python.lstrip("/"))
    args.add("--output", runtime).add("--report", report)
    args.add_all(tar_args, before_each = "--package")
    args.add_all(control_args, before_each = "--control")
    args.add_all(md5sums_args, before_each = "--md5sums")
    args.add_all(ctx.attr.libraries, before_each = "--library")
    ctx.actions.run(
        executable = ctx.executable._slim_tool,
        arguments = [args],
        inputs = [modules] + tars + controls + md5sums,
        outputs = [runtime, report],
        mnemonic = "PySlimRuntime",
        progress_message = "Selecting the Python runtime of %{label}",
    )

    # Only the kept standard library: the full image's .pyc tar holds all of it.
    pyc = ctx.actions.declare_file(ctx.label.name + "_pyc.tar")
    pyc_args = ctx.actions.args()
    pyc_args.add("--python", ctx.attr.python).add("--prefix", ctx.attr.stdlib)
    pyc_args.add("--tar", runtime).add("--output", pyc)
    ctx.actions.run(
        executable = ctx.executable._tar_pyc_tool,
        arguments = [pyc_args],
        inputs = [runtime],
        outputs = [pyc],
        mnemonic = "TarPyc",
        progress_message = "Precompiling the standard library kept by %{label}",
    )
    return [
        DefaultInfo(files = depset([runtime])),
        OutputGroupInfo(pyc = depset([pyc]), report = depset([report]), modules = depset([modules])),
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
   transitively), the dynamic loader, `libraries`, copyright files and dpkg
   status entries are kept (`py_slim.py`).

Outputs: the runtime as a plain tar (default), its precompiled standard
library as a tar (output group `pyc`), `report` (every kept path and why) and
`modules` (the probe's list). Use each tar in an `oci_layer`.""",
    attrs = {
        "app": attr.label_list(
            mandatory = True,
            allow_files = [".tar", ".tar.gz", ".tgz", ".tar.zst"],
            doc = "The service's layers: a py_image_layers target (or tars), unpacked in order to run it.",
        ),
        "module": attr.string(mandatory = True, doc = "What `python -m` runs, e.g. \"hello\"."),
        "env": attr.string_dict(doc = "The image's environment, e.g. PYTHONPATH; HOST and PORT are set by the probe."),
        "requests": attr.string_list(default = ["GET /"], doc = "\"METHOD /PATH\" requests the probe sends; a 5xx answer fails the build."),
        "allowlist": attr.string_list(doc = "Modules kept although serving the requests does not import them (rare paths)."),
        "excludes": attr.string_list(doc = "Modules left out although importers try them (optional imports); the probe runs without them."),
        "arch": attr.string(mandatory = True, values = ["amd64", "arm64"], doc = "Architecture of `packages` (the keys of ARCHES in arches.py)."),
        "packages": attr.label_keyed_string_dict(mandatory = True, allow_files = True, doc = "Debian data tar -> package name."),
        "controls": attr.label_keyed_string_dict(allow_files = True, doc = "Control file -> package name: dpkg status entries for the packages used."),
        "md5sums": attr.label_keyed_string_dict(allow_files = True, doc = "md5sums file -> package name, limited to the files kept."),
        "libraries": attr.string_list(doc = "Shared libraries loaded with dlopen(), e.g. libgcc_s.so.1."),
        "python": attr.string(default = "/usr/bin/python3.13", doc = "The interpreter: run by the probe on the build machine, and kept from the packages."),
        "stdlib": attr.string(default = "usr/lib/python3.13", doc = "The standard library directory (what is precompiled)."),
        "_probe_tool": attr.label(default = "//tools/py_slim/private:py_slim_probe", executable = True, cfg = "exec"),
        "_slim_tool": attr.label(default = "//tools/py_slim/private:py_slim", executable = True, cfg = "exec"),
        "_tar_pyc_tool": attr.label(default = "//tools/oci/private:tar_pyc", executable = True, cfg = "exec"),
    },
)
