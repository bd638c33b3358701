"""oci_layer: a deterministic layer from files, directories, symlinks and tars."""

load(":compression.bzl", "COMPRESSION_ATTRS", "layer_compression", "packed_inputs_transition")
load(":providers.bzl", "OciLayerInfo")

def run_layer_tool(ctx, name, specs = [], tars = [], excludes = [], strip_prefix = "", inputs = []):
    """Registers one layer.py action; returns struct(blob, descriptor, listing).

    The layer is compressed as layer_compression(ctx) says: the rule's
    `compression` attribute, else the build setting.

    Args:
        ctx: rule context with LAYER_TOOL_ATTRS.
        name: output file prefix.
        specs: Files with layer.py specs.
        tars: tar Files merged in.
        excludes: globs of tar members to drop.
        strip_prefix: prefix removed from tar member names.
        inputs: other Files the spec names as sources (a list or depset).

    Returns:
        struct(blob, descriptor, listing, origin) of the new layer.
    """
    compression = layer_compression(ctx)
    blob = ctx.actions.declare_file(name + (".tar.zst" if compression == "zstd" else ".tar.gz"))
    descriptor = ctx.actions.declare_file(name + ".json")
    listing = ctx.actions.declare_file(name + ".listing")
    args = ctx.actions.args()
    args.add("--output", blob).add("--descriptor", descriptor).add("--listing", listing)
    if compression != "gzip":  # gzip is layer.py's default: its command lines stay as they were.
        args.add("--compression", compression)
    elif getattr(ctx.attr, "gzip_level", 0):
        args.add("--compression-level", ctx.attr.gzip_level)
    args.add_all(specs, before_each = "--spec")
    args.add_all(tars, before_each = "--tar")
    args.add_all(excludes, before_each = "--exclude")
    if strip_prefix:
        args.add("--strip-prefix", strip_prefix)
    ctx.actions.run(
        executable = ctx.executable._layer_tool,
        arguments = [args],
        inputs = depset(specs + tars, transitive = [inputs if type(inputs) == "depset" else depset(inputs)]),
        outputs = [blob, descriptor, listing],
        mnemonic = "OciLayer",
        progress_message = "Building layer %{output}",
    )
    return struct(blob = blob, descriptor = descriptor, listing = listing, origin = str(ctx.label))

LAYER_TOOL_ATTRS = dict(
    _layer_tool = attr.label(default = "//tools/oci/private:layer", executable = True, cfg = "exec"),
    **COMPRESSION_ATTRS
)

def image_path(path, attribute):
    """Normalises an image path, failing on `..` or emptiness.

    Args:
        path: a path inside the image, e.g. "/etc/passwd".
        attribute: the attribute named in the error.

    Returns:
        The path without leading slash, e.g. "etc/passwd".
    """
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        fail("{}: {} is not a valid path inside the image".format(attribute, repr(path)))
    return "/".join(parts)

def _owner(owners, path):
    owner = owners.get("/" + path, owners.get(path, "0:0"))
    uid, _, gid = owner.partition(":")
    if not uid.isdigit() or not gid.isdigit():
        fail("owners: {} for {} must be UID:GID, numbers".format(repr(owner), path))
    return int(uid), int(gid)

def _mode(modes, path, default):
    mode = modes.get("/" + path, modes.get(path, default))
    if mode and not is_octal_mode(mode):
        fail("modes: {} for {} must be an octal mode such as 0644".format(repr(mode), path))
    return mode

def is_octal_mode(text):
    """True for modes such as 644, 0644 or 1777 (Starlark has no regular expressions)."""
    digits = text[1:] if len(text) == 5 and text.startswith("0") else text
    return len(digits) in (3, 4) and all([c in "01234567" for c in digits.elems()])

def _oci_layer_impl(ctx):
    entries = []
    paths = {}
    modes = ctx.attr.modes
    owners = ctx.attr.owners
    for target, destination in ctx.attr.files.items():
        files = target[DefaultInfo].files.to_list()
        for f in files:
            if len(files) == 1 and not destination.endswith("/"):
                path = image_path(destination, "files")
            else:
                path = image_path(destination + "/" + f.basename, "files")
            uid, gid = _owner(owners, path)

            # Bazel marks every output executable, so the bit says nothing:
            # files are 0644 unless `modes` says otherwise.
            mode = _mode(modes, path, "0644")
            entries.append({"path": path, "type": "file", "source": f.path, "mode": mode, "uid": uid, "gid": gid})
            paths[path] = "{} {} {}:{}".format(f.owner, mode, uid, gid)
    for directory in ctx.attr.directories:
        path = image_path(directory, "directories")
        uid, gid = _owner(owners, path)
        entries.append({"path": path, "type": "dir", "mode": _mode(modes, path, "0755"), "uid": uid, "gid": gid})
    for link, target in ctx.attr.symlinks.items():
        path = image_path(link, "symlinks")
        entries.append({"path": path, "type": "symlink", "target": target})
        paths[path] = "{} (symlink to {})".format(ctx.label, target)

    # A key naming no entry is a typo or an unlisted parent directory (which
    # would silently get 0755 root): both are errors.
    listed = {entry["path"]: True for entry in entries}
    for attribute, keys in (("modes", modes), ("owners", owners)):
        for key in keys:
            if image_path(key, attribute) not in listed:
                fail("{}: {} names no path of this layer; list it in files or directories".format(attribute, repr(key)), attr = attribute)
    spec = ctx.actions.declare_file(ctx.label.name + ".spec.json")
    ctx.actions.write(spec, json.encode({"entries": entries}))
    layer = run_layer_tool(
        ctx,
        ctx.label.name,
        [spec],
        tars = ctx.files.tars,
        excludes = ctx.attr.excludes,
        strip_prefix = ctx.attr.strip_prefix,
        inputs = ctx.files.files,
    )
    return [
        DefaultInfo(files = depset([layer.blob])),
        OciLayerInfo(layers = [layer], paths = paths),
        OutputGroupInfo(listing = depset([layer.listing])),
    ]

oci_layer = rule(
    implementation = _oci_layer_impl,
    doc = """A deterministic tar+gzip or tar+zstd layer (sorted entries, mtime 0, numeric owners, pinned compressor).

Plays the part of `tar` / `pkg_tar` in a rules_oci setup; its output can be used
in `oci_image(tars = ...)`, and so can any tar those rules make.""",
    attrs = dict(
        files = attr.label_keyed_string_dict(
            allow_files = True,
            cfg = packed_inputs_transition,
            doc = "Files -> destination: a path for a single file, or a directory (ending in /) for several.",
        ),
        directories = attr.string_list(doc = "Directories to create (mode from `modes`, default 0755)."),
        symlinks = attr.string_dict(doc = "Link path -> link target."),
        modes = attr.string_dict(doc = "Path -> octal mode, e.g. {\"/tmp\": \"1777\"}. Files default to 0644, directories to 0755."),
        owners = attr.string_dict(doc = "Path -> \"UID:GID\"; default 0:0."),
        tars = attr.label_list(allow_files = [".tar", ".tar.gz", ".tgz", ".tar.xz", ".tar.zst", ".tar.bz2"], cfg = packed_inputs_transition, doc = "Tars merged into the layer."),
        excludes = attr.string_list(doc = "Globs of tar members to drop, e.g. usr/share/doc/*."),
        strip_prefix = attr.string(doc = "Prefix removed from tar member names."),
        gzip_level = attr.int(
            default = 0,
            values = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
            doc = "zlib-ng's level when the layer is tar+gzip; 0: the rules' default (6). A tar+zstd layer ignores it.",
        ),
        _allowlist_function_transition = attr.label(default = "@bazel_tools//tools/allowlists/function_transition_allowlist"),
        **LAYER_TOOL_ATTRS
    ),
)
