"""Build rules that turn pinned Debian packages into the files distroless images carry."""

def _tool(name):
    return attr.label(default = "//tools/debian/private:" + name, executable = True, cfg = "exec")

def _dpkg_status_impl(ctx):
    if len(ctx.attr.packages) != len(ctx.files.controls) or len(ctx.files.controls) != len(ctx.files.md5sums):
        fail("packages, controls and md5sums must list the same packages in the same order", attr = "packages")
    root = "{}/{}".format(ctx.label.package, ctx.label.name) if ctx.label.package else ctx.label.name
    outputs = []
    args = ctx.actions.args()
    args.add("--output-dir", "{}/{}".format(ctx.bin_dir.path, root))
    for name, control, md5sums in zip(ctx.attr.packages, ctx.files.controls, ctx.files.md5sums):
        outputs.append(ctx.actions.declare_file("{}/var/lib/dpkg/status.d/{}".format(ctx.label.name, name)))
        outputs.append(ctx.actions.declare_file("{}/var/lib/dpkg/status.d/{}.md5sums".format(ctx.label.name, name)))
        args.add("--control", control).add("--md5sums", "{}={}".format(name, md5sums.path))
    args.add_all(ctx.attr.excludes, before_each = "--exclude")
    ctx.actions.run(
        executable = ctx.executable._tool,
        arguments = [args],
        inputs = ctx.files.controls + ctx.files.md5sums,
        outputs = outputs,
        mnemonic = "DpkgStatus",
    )
    return [DefaultInfo(files = depset(outputs))]

dpkg_status = rule(
    implementation = _dpkg_status_impl,
    doc = "var/lib/dpkg/status.d/<package> (+ .md5sums) per package, so scanners see what an image holds.",
    attrs = {
        "packages": attr.string_list(mandatory = True, doc = "Package names, in the order of `controls`."),
        "controls": attr.label_list(allow_files = True, mandatory = True),
        "md5sums": attr.label_list(allow_files = True, mandatory = True),
        "excludes": attr.string_list(doc = "Globs the layer leaves out (oci_layer's `excludes`): their files are dropped from the md5sums, so each lists only the files the image holds."),
        "_tool": _tool("dpkg_status"),
    },
)

def _ca_bundle_impl(ctx):
    bundle = ctx.actions.declare_file(ctx.label.name + "/ca-certificates.crt")
    ctx.actions.run(
        executable = ctx.executable._tool,
        arguments = ["--data-tar", ctx.file.data_tar.path, "--output", bundle.path],
        inputs = [ctx.file.data_tar],
        outputs = [bundle],
        mnemonic = "CaBundle",
    )
    return [DefaultInfo(files = depset([bundle]))]

ca_bundle = rule(
    implementation = _ca_bundle_impl,
    doc = "/etc/ssl/certs/ca-certificates.crt generated from the ca-certificates package, as update-ca-certificates would.",
    attrs = {
        "data_tar": attr.label(allow_single_file = True, mandatory = True),
        "_tool": _tool("cacerts"),
    },
)

def _accounts_impl(ctx):
    outputs = [ctx.actions.declare_file("{}/{}".format(ctx.label.name, f)) for f in ("passwd", "group", "nsswitch.conf")]
    ctx.actions.run(
        executable = ctx.executable._tool,
        arguments = ["--passwd-out", outputs[0].path, "--group-out", outputs[1].path, "--nsswitch-out", outputs[2].path],
        outputs = outputs,
        mnemonic = "Accounts",
    )
    return [DefaultInfo(files = depset(outputs))]

accounts = rule(
    implementation = _accounts_impl,
    doc = "/etc/passwd, /etc/group and /etc/nsswitch.conf with root, nobody (65534) and nonroot (65532), as distroless has.",
    attrs = {"_tool": _tool("passwd")},
)
