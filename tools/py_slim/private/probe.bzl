"""The build-time run of a service that records what it imports (py_slim_probe.py).

Shared by py_slim_runtime and py_startup_pyc: both run the service the same
way, from its own layers, and differ in what they make of the list.
"""

load("//platforms:platforms.bzl", "PLATFORMS")

def app_tars(target):
    """The tars a target makes, in order: py_image_layers' are its layer blobs
    (third-party, then first-party), as the image stacks them."""
    return target[DefaultInfo].files.to_list()

def run_probe(ctx, excludes = [], sources = False, arch = None):
    """Runs the service once, as an action.

    Args:
        ctx: a rule context with PROBE_ATTRS.
        excludes: modules made unimportable while it runs.
        sources: also write the standard-library .py files it imported, one a
            line (what tar_pyc.py --only compiles).
        arch: the image's architecture (a key of PLATFORMS): the sources list
            names its files where a module's name carries the triplet
            (_sysconfigdata__linux_TRIPLET).

    Returns:
        (the probe's modules.tsv, the sources list or None, the list of
        modules imported before the first request).
    """
    modules = ctx.actions.declare_file(ctx.label.name + ".modules.tsv")
    startup = ctx.actions.declare_file(ctx.label.name + ".startup.txt")
    outputs = [modules, startup]
    layers = [f for target in ctx.attr.probe_app for f in app_tars(target)]
    args = ctx.actions.args()
    args.add("--python", ctx.attr.python).add("--module", ctx.attr.module).add("--output", modules)
    args.add("--startup-output", startup)
    source_list = None
    if sources:
        source_list = ctx.actions.declare_file(ctx.label.name + ".sources.txt")
        args.add("--sources-output", source_list)
        if arch:
            args.add("--sources-triplet", PLATFORMS[arch]["multiarch"])
        outputs.append(source_list)
    args.add_all(layers, before_each = "--layer")
    args.add_all(["{}={}".format(k, v) for k, v in sorted(ctx.attr.env.items())], before_each = "--env")
    args.add_all(ctx.attr.requests, before_each = "--request")
    args.add_all(ctx.attr.volumes, before_each = "--volume")
    args.add_all(["{}={}".format(name, " ".join(argv)) for name, argv in ctx.attr.jobs.items()], before_each = "--job")
    args.add_all(ctx.attr.allowlist, before_each = "--allow")
    args.add_all(excludes, before_each = "--exclude")
    ctx.actions.run(
        executable = ctx.executable._probe_tool,
        arguments = [args],
        inputs = layers,
        outputs = outputs,
        mnemonic = "PySlimProbe",
        progress_message = "Running %{label}'s service to record the modules it imports",
    )
    return modules, source_list, startup

def pyc_args(ctx, args):
    """Adds tar_pyc.py's compile options, from PYC_ATTRS, to `args`.

    Args:
        ctx: a rule context with PYC_ATTRS.
        args: the action's Args.

    Returns:
        args.
    """
    args.add("--invalidation", ctx.attr.invalidation)
    if not ctx.attr.debug_ranges:
        args.add("--no-debug-ranges")
    return args

PROBE_ATTRS = {
    "probe_app": attr.label_list(
        mandatory = True,
        allow_files = [".tar", ".tar.gz", ".tgz", ".tar.zst"],
        # The probe runs them on the machine that runs the action: its
        # extension modules must be that machine's, whatever the image's.
        cfg = "exec",
        doc = "The service's layers (a py_image_layers target, or tars) for the machine the build runs on, unpacked in order for the probe to run the service (defs.bzl passes `app`).",
    ),
    "module": attr.string(mandatory = True, doc = "What `python -m` runs, e.g. \"hello\"."),
    "env": attr.string_dict(doc = "The image's environment, e.g. PYTHONPATH; HOST and PORT are set by the probe."),
    "requests": attr.string_list(default = ["GET /"], doc = "\"METHOD /PATH\" requests the probe sends (or \"METHOD /PATH<TAB>CONTENT-TYPE<TAB>BODY\"); a 5xx answer fails the build."),
    "volumes": attr.string_list(doc = "Directories a deployment mounts writable (e.g. \"/data\"): the probe makes each an empty directory of its own, and env values below one point there."),
    "jobs": attr.string_list_dict(doc = "Name -> [module, args...]: `python -m MODULE ARGS` run to its end (exit 0) before the service, on the same volumes, as a deployment's Job (e.g. {\"migrate\": [\"notes\", \"migrate\", \"--no-input\"]}); its imports are kept too."),
    "allowlist": attr.string_list(doc = "Modules kept although serving the requests does not import them (rare paths)."),
    "python": attr.string(default = "/usr/bin/python3.13", doc = "The interpreter: the probe runs it on the build machine (the image's Python version); py_slim_runtime keeps it from the packages."),
    "stdlib": attr.string(default = "usr/lib/python3.13", doc = "The standard library directory (what is precompiled)."),
    "_probe_tool": attr.label(default = "//tools/py_slim/private:py_slim_probe", executable = True, cfg = "exec"),
}

PYC_ATTRS = {
    "invalidation": attr.string(
        default = "checked-hash",
        values = ["checked-hash", "unchecked-hash"],
        doc = "How Python validates the .pyc files (PEP 552): against a hash of the source, or not at all.",
    ),
    "debug_ranges": attr.bool(
        default = True,
        doc = "Keep the column positions tracebacks underline with ^^^ (False: python -X no_debug_ranges, smaller .pyc).",
    ),
    "_tar_pyc_tool": attr.label(default = "//tools/oci/private:tar_pyc", executable = True, cfg = "exec"),
}
