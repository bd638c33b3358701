"""abi_check: an oci_image, checked at build time for ELF files that would not load."""

load("//tools/oci:defs.bzl", "OciImageInfo")

def _abi_check_impl(ctx):
    image = ctx.attr.image
    info = image[OciImageInfo]
    report = ctx.actions.declare_file(ctx.label.name + ".abi.txt")
    args = ctx.actions.args()
    args.add("--layout", info.layout.path).add("--image", str(ctx.label).replace("@@//", "//"))
    args.add("--output", report)
    for pattern, reason in sorted(ctx.attr.ignore.items()):
        args.add("--ignore", "{}={}".format(pattern, reason))
    ctx.actions.run(
        executable = ctx.executable._abi_check_tool,
        arguments = [args],
        inputs = [info.layout],
        outputs = [report],
        mnemonic = "AbiCheck",
        progress_message = "Checking the ELF files of %{label} (" + info.platform + ")",
    )
    groups = {"abi_report": depset([report])}
    if OutputGroupInfo in image and hasattr(image[OutputGroupInfo], "digest"):
        groups["digest"] = image[OutputGroupInfo].digest
    return [
        DefaultInfo(files = image[DefaultInfo].files, runfiles = image[DefaultInfo].default_runfiles),
        info,
        # A validation action: it runs whenever anything depending on this
        # target is built, and its failure fails the build.
        OutputGroupInfo(_validation = depset([report]), **groups),
    ]

abi_check = rule(
    implementation = _abi_check_impl,
    doc = """`image`, unchanged, once every ELF file in it is known to load on its platform.

At build time (a validation action), every ELF file of the image, from its
base's Debian packages to its wheels' extension modules, is checked as ld.so
would load it: built for the image's architecture; its loader present; each
DT_NEEDED library found (RUNPATH and $ORIGIN, LD_LIBRARY_PATH, the image's
/etc/ld.so.cache, the system directories); each symbol version it needs
(GLIBC_2.34, GLIBCXX_3.4.32, CXXABI_1.3.15, ...) defined by the library found.
A problem fails the build with the image, the file, the Debian package or
Python distribution it came from, what is missing and how to fix it.

Use it where the image is used (oci_image_index, oci_platform_image): it
forwards the image's providers. Output group `abi_report`: every ELF file,
its origin and where its libraries were found.""",
    attrs = {
        "image": attr.label(mandatory = True, providers = [OciImageInfo], doc = "The oci_image to check (built for the platform this target is)."),
        "ignore": attr.string_dict(doc = "Image path glob (\"*\" crosses \"/\") -> why those files never load, e.g. a standard-library module whose library the image leaves out. They are not checked; one that would load after all is an error."),
        "_abi_check_tool": attr.label(default = "//tools/abi_check/private:abi_check", executable = True, cfg = "exec"),
    },
)
