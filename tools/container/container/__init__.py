"""Runs images from OCI layouts with runc, hardened the way a careful operator would.

    from container import Container, emulation_for, run_once, unpack

    bundle = unpack(layout, "latest-linux-amd64", tmp_path / "bundle")
    with Container(bundle, env={"HOST": "0.0.0.0"}) as container:
        container.start()
        status, headers, body = container.wait_http("/readyz", timeout=30)
        ...
        container.kill(signal.SIGTERM)
        assert container.wait(10) == 0

    result = run_once(bundle, ["/usr/bin/python3.13", "--version"], None, timeout=30)

Every container gets a read-only root filesystem, a tmpfs /tmp (mode 1777), no
capabilities at all, no_new_privs, the image's user, its own network namespace
with only a loopback interface, and the image's environment, working directory,
Entrypoint and Cmd (each overridable). Cgroups are runc's defaults. There is no
seccomp profile: runc applies none unless told to.

One module per concern:
    bundle.py     umoci unpack of one platform's image, and its OCI config
    spec.py       the runtime configuration (config.json): pure functions
    runc.py       Container (the runc lifecycle, HTTP, logs) and run_once
    deployment.py what a deployment gives an image first: env, volumes, jobs
    netns.py      the container's network namespace, and connections into it
    emulation.py  arm64 under qemu-user (binfmt_misc)
    errors.py     ContainerError, EmulationUnavailable (callers decide: a test skips)

Standard library only; needs root, runc and umoci (tests using it are tagged
no-sandbox: Bazel's sandbox is no place for a container runtime).
"""

from container.bundle import IMAGE_CONFIG, ImageConfig, read_image_config, unpack
from container.emulation import (
    BinfmtRule,
    arm64_emulation,
    emulation_for,
    is_static_elf,
    parse_entry,
    read_rule,
)
from container.deployment import Deployment, deployed
from container.errors import ContainerError, EmulationUnavailable
from container.runc import Container, run_once
from container.spec import (
    DEFAULT_PATH,
    bundle_spec,
    bundle_user,
    home_directory,
    process_env,
    resolve_user,
    runtime_spec,
)
from image_platforms import host_architecture

__all__ = [
    "DEFAULT_PATH",
    "IMAGE_CONFIG",
    "BinfmtRule",
    "Container",
    "ContainerError",
    "Deployment",
    "EmulationUnavailable",
    "ImageConfig",
    "arm64_emulation",
    "bundle_spec",
    "bundle_user",
    "deployed",
    "emulation_for",
    "home_directory",
    "host_architecture",
    "is_static_elf",
    "parse_entry",
    "process_env",
    "read_image_config",
    "read_rule",
    "resolve_user",
    "run_once",
    "runtime_spec",
    "unpack",
]
