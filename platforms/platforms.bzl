"""The platforms images are built for: one table, declared here and nowhere else.

BUILD files and rules load it; Python reads the same table from
//platforms:image_platforms (generated from it). Adding a platform is one
entry here (and its Debian packages in the lock).
"""

# Architecture (as OCI names it) -> what the build and the tools need to know.
_TABLE = {
    "amd64": {
        "os": "linux",
        "architecture": "amd64",
        # OCI variant ("" for none); images record it, refs name it.
        "variant": "",
        # The @platforms//cpu constraint; it is also what `uname -m` prints.
        "cpu": "x86_64",
        # Debian's multiarch tuple: /usr/lib/TUPLE holds the shared libraries.
        "multiarch": "x86_64-linux-gnu",
        # e_machine of the architecture's ELF files (EM_X86_64).
        "elf_machine": 62,
    },
    "arm64": {
        "os": "linux",
        "architecture": "arm64",
        "variant": "v8",
        "cpu": "aarch64",
        "multiarch": "aarch64-linux-gnu",
        "elf_machine": 183,  # EM_AARCH64
    },
}

def _derived(arch, entry):
    parts = [entry["os"], entry["architecture"]] + ([entry["variant"]] if entry["variant"] else [])
    return dict(
        entry,
        # The platform target oci_image_index transitions to.
        label = "//platforms:{}_{}".format(entry["os"], arch),
        # "linux/arm64/v8": how images, indexes and tools write the platform.
        platform = "/".join(parts),
        # The name index.json gives the platform's manifest (oci_image_index,
        # ref "latest"): what umoci unpacks, e.g. "latest-linux-arm64-v8".
        ref = "latest-" + "-".join(parts),
    )

# Architecture -> os, architecture, variant, cpu, multiarch, elf_machine,
# label, platform and ref.
PLATFORMS = {arch: _derived(arch, entry) for arch, entry in _TABLE.items()}

# Architecture -> the platform target, e.g. "arm64": "//platforms:linux_arm64".
ARCHES = {arch: p["label"] for arch, p in PLATFORMS.items()}

def arch_select(values, no_match_error = ""):
    """select() on the target platform's CPU: `values` maps architecture -> value.

    Args:
        values: {"amd64": ..., "arm64": ...}, a value per architecture.
        no_match_error: shown when the target platform is none of them.

    Returns:
        A select() for an attribute.
    """
    return select(
        {"@platforms//cpu:" + PLATFORMS[arch]["cpu"]: value for arch, value in values.items()},
        no_match_error = no_match_error,
    )
