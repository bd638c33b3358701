"""The lock's platform names, as the constraints the `@pypi` hub selects on.

The updater (targets.py) reads `linux_<machine>` as CPython on glibc Linux for
that CPU; here each becomes a config_setting, so a target built for
//platforms:linux_arm64 gets the linux_aarch64 wheel and the host its own.
"""

_CPUS = {
    "aarch64": "@platforms//cpu:aarch64",
    "x86_64": "@platforms//cpu:x86_64",
}

def platform_constraints(platform, where):
    """The constraints of a lock platform name; fails on a name this table lacks.

    Args:
        platform: `linux_<cpu>`, from a `# wheel` line.
        where: the lock and distribution, for the message.

    Returns:
        ["@platforms//os:linux", "@platforms//cpu:<cpu>"].
    """
    os, _, cpu = platform.partition("_")
    if os != "linux" or cpu not in _CPUS:
        fail("{}: unknown platform {} in a `# wheel` line; known: {}".format(
            where,
            repr(platform),
            ", ".join(["linux_" + c for c in sorted(_CPUS)]),
        ))
    return ["@platforms//os:linux", _CPUS[cpu]]
