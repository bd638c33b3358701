"""oci_image: one image for one platform, as an OCI image layout directory."""

load("//platforms:platforms.bzl", "PLATFORMS")
load("//tools/stamping:defs.bzl", "STAMP_ATTRS", "maybe_stamp")
load(":compression.bzl", "compression_transition")
load(":layer.bzl", "LAYER_TOOL_ATTRS", "run_layer_tool")
load(":providers.bzl", "OciImageInfo", "OciLayerInfo")

_NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"

def _is_user_part(text):
    return bool(text) and all([c in _NAME_CHARS for c in text.elems()]) and text[0] not in ".-"

def check_user(user):
    """Fails unless `user` is NAME, UID, UID:GID or NAME:GROUP."""
    if not user:
        return
    name, sep, group = user.partition(":")
    if not _is_user_part(name) or (sep and not _is_user_part(group)):
        fail("user: {} is not a user; expected NAME, UID, UID:GID or NAME:GROUP, e.g. \"65532:65532\"".format(repr(user)), attr = "user")

def check_port(port):
    """Fails unless `port` is N, N/tcp or N/udp with N in 1..65535."""
    number, sep, protocol = port.partition("/")
    if (not number.isdigit() or not (int(number) >= 1 and int(number) <= 65535) or
        (sep and protocol not in ("tcp", "udp"))):
        fail("exposed_ports: {} is not a port; expected N, N/tcp or N/udp with N from 1 to 65535".format(repr(port)), attr = "exposed_ports")

# The architecture of a target platform none of whose CPUs is in the table.
_DEFAULT_ARCH = "amd64"

def _platform(ctx):
    arch = ctx.attr.architecture
    if not arch:
        # _cpus is in the order of PLATFORMS: the first CPU the target has.
        cpus = zip(PLATFORMS.keys(), ctx.attr._cpus)
        matching = [a for a, cpu in cpus if ctx.target_platform_has_constraint(cpu[platform_common.ConstraintValueInfo])]
        arch = matching[0] if matching else _DEFAULT_ARCH
    variant = ctx.attr.variant or PLATFORMS.get(arch, {}).get("variant", "")
    return "/".join([ctx.attr.os, arch] + ([variant] if variant else []))

def _collect_layers(ctx):
    """Layers of `tars` in order; foreign tars are normalised and recompressed."""
    layers = []
    seen = {}
    for index, target in enumerate(ctx.attr.tars):  # (Built with the image's compression.)
        if OciLayerInfo in target:
            info = target[OciLayerInfo]
            for path, origin in info.paths.items():
                if path in seen and seen[path] != origin:
                    fail("tars: /{} is written by two layers with different content: {} and {}".format(path, seen[path], origin), attr = "tars")
                seen[path] = origin
            layers.extend(info.layers)
            continue
        for n, f in enumerate(target[DefaultInfo].files.to_list()):
            layers.append(run_layer_tool(ctx, "{}_layers/{}_{}".format(ctx.label.name, index, n), tars = [f]))
    return layers

def _oci_image_impl(ctx):
    check_user(ctx.attr.user)
    for port in ctx.attr.exposed_ports:
        check_port(port)
    if ctx.attr.workdir and not ctx.attr.workdir.startswith("/"):
        fail("workdir: {} must be an absolute path".format(repr(ctx.attr.workdir)), attr = "workdir")
    platform = _platform(ctx)
    base = None
    if ctx.attr.base:
        # A list: the attribute has a (1:1) transition, the image's compression.
        base_target = ctx.attr.base[0]
        if OciImageInfo in base_target:
            base_info = base_target[OciImageInfo]
            if base_info.platform != platform:
                fail("base: {} is built for {}, this image for {}; give a base per platform with select()".format(base_target.label, base_info.platform, platform), attr = "base")
            base = base_info.layout
        else:
            base = base_target[DefaultInfo].files.to_list()[0]
    layers = _collect_layers(ctx)

    layout = ctx.actions.declare_directory(ctx.label.name)
    digest = ctx.actions.declare_file(ctx.label.name + ".digest")
    args = ctx.actions.args()
    args.add("--output", layout.path).add("--platform", platform).add("--digest-out", digest)
    if base:
        args.add("--base", base.path)
    for layer in layers:
        args.add("--layer", "{}={}".format(layer.blob.path, layer.descriptor.path))
        args.add("--history-created-by", "bazel build " + layer.origin)
    if ctx.attr.entrypoint:
        args.add("--entrypoint", json.encode(ctx.attr.entrypoint))
    if ctx.attr.cmd:
        args.add("--cmd", json.encode(ctx.attr.cmd))
    for key, value in ctx.attr.env.items():
        args.add("--env", "{}={}".format(key, value))
    if ctx.attr.user:
        args.add("--user", ctx.attr.user)
    if ctx.attr.workdir:
        args.add("--workdir", ctx.attr.workdir)
    args.add_all(ctx.attr.exposed_ports, before_each = "--exposed-port")
    for key, value in sorted(ctx.attr.labels.items()):
        args.add("--label", "{}={}".format(key, value))
    for key, value in sorted(ctx.attr.annotations.items()):
        args.add("--annotation", "{}={}".format(key, value))
    if ctx.attr.created:
        args.add("--created", ctx.attr.created)

    # Only images with something to stamp read the status file: the bases stay
    # unstamped, and cached, in a --stamp build.
    status = None
    if ctx.attr.stamp_labels or ctx.attr.stamp_created:
        status = maybe_stamp(ctx)
    if status:
        args.add("--stamp-status", status)
        for key, template in sorted(ctx.attr.stamp_labels.items()):
            args.add("--stamp-label", "{}={}".format(key, template))
        if ctx.attr.stamp_created:
            args.add("--stamp-created", ctx.attr.stamp_created)

    # SOURCE_DATE_EPOCH (--action_env) is the only variable the action sees.
    env = {}
    if "SOURCE_DATE_EPOCH" in ctx.configuration.default_shell_env:
        env["SOURCE_DATE_EPOCH"] = ctx.configuration.default_shell_env["SOURCE_DATE_EPOCH"]
    ctx.actions.run(
        executable = ctx.executable._image_tool,
        arguments = [args],
        inputs = ([base] if base else []) + ([status] if status else []) + [f for layer in layers for f in (layer.blob, layer.descriptor)],
        outputs = [layout, digest],
        env = env,
        mnemonic = "OciImage",
        progress_message = "Writing image layout %{label} (" + platform + ")",
    )
    return [
        DefaultInfo(files = depset([layout]), runfiles = ctx.runfiles(files = [layout])),
        OciImageInfo(layout = layout, platform = platform),
        OutputGroupInfo(digest = depset([digest])),
    ]

oci_image = rule(
    implementation = _oci_image_impl,
    doc = """An OCI image for one platform, written as an OCI image layout directory.

Attribute names and behaviour follow rules_oci's `oci_image`; differences are in
tools/oci/README.md.""",
    attrs = dict(
        base = attr.label(allow_single_file = True, cfg = compression_transition, doc = "An oci_image (or an OCI layout directory) to start from; none: scratch. An oci_image base is built with this image's `compression`; the layers of any other layout are copied as they are."),
        tars = attr.label_list(allow_files = True, cfg = compression_transition, doc = "Layers, in order: oci_layer / py_image_layers targets (built with this image's `compression`) or any .tar[.gz|.xz|.zst] (normalised and compressed so)."),
        entrypoint = attr.string_list(doc = "Entrypoint, exec form."),
        cmd = attr.string_list(doc = "Default arguments, exec form."),
        env = attr.string_dict(doc = "Environment; overrides the base's by key."),
        user = attr.string(doc = "NAME, UID, UID:GID or NAME:GROUP."),
        workdir = attr.string(doc = "Absolute working directory."),
        exposed_ports = attr.string_list(doc = "Ports: N, N/tcp or N/udp."),
        labels = attr.string_dict(doc = "Config labels (org.opencontainers.image.*)."),
        annotations = attr.string_dict(doc = "Manifest annotations."),
        created = attr.string(doc = "RFC 3339 creation time; default SOURCE_DATE_EPOCH, else the epoch."),
        stamp_labels = attr.string_dict(doc = "Labels set from the workspace status when stamped: key -> template such as \"{STABLE_VERSION}\". Override `labels`; unstamped builds use `labels` alone."),
        stamp_created = attr.string(doc = "When stamped, `created` from this template, e.g. \"{STABLE_BUILD_TIME}\" (the commit time)."),
        os = attr.string(default = "linux", doc = "Image OS."),
        architecture = attr.string(doc = "Image architecture; default: from the target platform (amd64 or arm64)."),
        variant = attr.string(doc = "Architecture variant; default: the platform's (v8 for arm64, //platforms:platforms.bzl)."),
        _cpus = attr.label_list(default = ["@platforms//cpu:" + p["cpu"] for p in PLATFORMS.values()]),
        _allowlist_function_transition = attr.label(default = "@bazel_tools//tools/allowlists/function_transition_allowlist"),
        _image_tool = attr.label(default = "//tools/oci/private:image", executable = True, cfg = "exec"),
        **(LAYER_TOOL_ATTRS | STAMP_ATTRS)
    ),
)
