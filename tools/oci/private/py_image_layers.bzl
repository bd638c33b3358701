"""py_image_layers: a py_library as image layers split by how often they change."""

load("@rules_python//python:defs.bzl", "PyInfo")
load(":layer.bzl", "LAYER_TOOL_ATTRS", "image_path", "run_layer_tool")
load(":providers.bzl", "OciLayerInfo")

def _runfiles_path(f):
    """Path of a file inside the runfiles tree: "_main/services/..." or "<repo>/...". """
    if f.short_path.startswith("../"):
        return f.short_path[3:]
    return "_main/" + f.short_path

def _import_root(path, roots):
    """The longest import root that contains `path`, or None."""
    best = None
    for root in roots:
        if path.startswith(root + "/") and (best == None or len(root) > len(best)):
            best = root
    return best

def _layer_for(ctx, name, files, destination_dir):
    """One layer of `files` (list of (File, relative image path)), with deterministic .pyc files."""
    prefix = image_path(destination_dir, "app_dir/site_packages_dir")
    entries = [{"path": prefix + "/" + rel, "type": "file", "source": f.path, "mode": "0644"} for f, rel in files]
    spec = ctx.actions.declare_file("{}_{}.spec.json".format(ctx.label.name, name))
    ctx.actions.write(spec, json.encode({"entries": entries}))

    if not ctx.attr.precompile:
        layer = run_layer_tool(ctx, "{}_{}".format(ctx.label.name, name), [spec], inputs = depset([f for f, _ in files]))
        return layer, {prefix + "/" + rel: str(f.owner) for f, rel in files}

    sources = [(f, rel) for f, rel in files if rel.endswith(".py")]
    pyc_dir = ctx.actions.declare_directory("{}_{}_pyc".format(ctx.label.name, name))
    pyc_spec = ctx.actions.declare_file("{}_{}.pyc.spec.json".format(ctx.label.name, name))
    args = ctx.actions.args()
    args.add("--python", ctx.attr.python).add("--output-dir", pyc_dir.path)
    args.add("--image-prefix", "/" + prefix).add("--spec-out", pyc_spec)
    args.add_all(["{}={}".format(f.path, rel) for f, rel in sources])
    ctx.actions.run(
        executable = ctx.executable._pyc_tool,
        arguments = [args],
        inputs = [f for f, _ in sources],
        outputs = [pyc_dir, pyc_spec],
        mnemonic = "PycCompile",
        progress_message = "Compiling %{label} " + name + " to .pyc",
    )

    # Sources first, then their bytecode: one layer from both specs.
    layer = run_layer_tool(
        ctx,
        "{}_{}".format(ctx.label.name, name),
        [spec, pyc_spec],
        inputs = depset([f for f, _ in files] + [pyc_dir]),
    )

    # Origins are the source files, so two layers holding the same file agree.
    return layer, {prefix + "/" + rel: str(f.owner) for f, rel in files}

def _is_compiled(f):
    """A shared object: an extension module or a library a wheel bundles."""
    return f.extension == "so" or ".so." in f.basename

def _py_image_layers_impl(ctx):
    library = ctx.attr.library
    roots = library[PyInfo].imports.to_list()
    first_party = []
    third_party = {}  # Repository -> [(File, path below its import root)].
    compiled = {}  # Repositories holding a shared object.
    for f in library[DefaultInfo].default_runfiles.files.to_list():
        if f.extension == "zip":
            continue
        path = _runfiles_path(f)
        root = _import_root(path, roots)
        if f.owner and f.owner.workspace_name:
            if root == None:
                continue  # e.g. console scripts of a distribution: not importable, not shipped
            third_party.setdefault(f.owner.workspace_name, []).append((f, path[len(root) + 1:]))
            if _is_compiled(f):
                compiled[f.owner.workspace_name] = True
        elif root != None:
            first_party.append((f, path[len(root) + 1:]))
        elif f.extension in ("py", "json", "txt", "toml", "cfg", "ini", "html", "css", "js"):
            # Data outside any import root keeps its workspace path.
            first_party.append((f, f.short_path))

    # Pure-Python distributions are the same files on every platform, so the
    # images of all platforms share that layer (same digest); only the
    # distributions with compiled code differ per platform, in a layer of
    # their own.
    pure = [item for repo, items in third_party.items() if repo not in compiled for item in items]
    native = [item for repo, items in third_party.items() if repo in compiled for item in items]
    layers = []
    paths = {}
    for name, files, destination in (
        ("third_party", pure, ctx.attr.site_packages_dir),
        ("third_party_compiled", native, ctx.attr.site_packages_dir),
        ("app", first_party, ctx.attr.app_dir),
    ):
        if not files:
            continue
        layer, layer_paths = _layer_for(ctx, name, sorted(files, key = lambda item: item[1]), destination)
        layers.append(layer)
        paths.update(layer_paths)
    return [
        DefaultInfo(files = depset([layer.blob for layer in layers])),
        OciLayerInfo(layers = layers, paths = paths),
        OutputGroupInfo(listing = depset([layer.listing for layer in layers])),
    ]

py_image_layers = rule(
    implementation = _py_image_layers_impl,
    doc = """Turns a py_library into image layers, least often changed first.

1. pure-Python third-party distributions (from @pypi) under `site_packages_dir`;
2. third-party distributions with compiled code (extension modules, bundled
   shared libraries) under `site_packages_dir`, if there are any;
3. first-party code under `app_dir`, each file at its path below its import root.

`library` is analysed in the configuration of the image, so @pypi gives the
wheels of the image's target platform: an arm64 image gets aarch64
extension modules. Layer 1 and 3 hold the same bytes on every platform, so
the images of an index share them; only layer 2 differs.

Each layer holds the sources and deterministic checked-hash .pyc files compiled
for the image's Python, so a one-line change to first-party code changes only
the app layer. Run the image with PYTHONPATH=<app_dir>:<site_packages_dir>.
(rules_py's py_image_layer is the model; its layout differs, see README.md.)""",
    attrs = dict(
        library = attr.label(mandatory = True, providers = [PyInfo], doc = "The service's py_library (what `python -m` imports). Not its py_binary: rules_python's py_binary needs a C++ toolchain for the target platform, which an arm64 image's configuration lacks, and the image runs `python -m` rather than the binary's launcher."),
        app_dir = attr.string(default = "/app", doc = "Image directory of first-party code."),
        site_packages_dir = attr.string(default = "/app/site-packages", doc = "Image directory of third-party distributions."),
        python = attr.string(default = "/usr/bin/python3.13", doc = "Interpreter that compiles .pyc: the image's Python version."),
        precompile = attr.bool(default = True, doc = "Ship checked-hash .pyc files beside the sources. False only to measure what they buy (//tools/bench): without them a read-only image compiles every module at each start."),
        _pyc_tool = attr.label(default = "//tools/oci/private:pyc", executable = True, cfg = "exec"),
        **LAYER_TOOL_ATTRS
    ),
)
