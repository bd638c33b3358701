"""smoke_tests: the HTTP smoke tests of every image of one service of the table, once per platform."""

load("@bazel_skylib//rules:write_file.bzl", "write_file")
load("//images:service_table.bzl", "VARIANTS", "service_facts")
load("//platforms:platforms.bzl", "PLATFORMS")
load("//tools/pytest:defs.bzl", "pytest_test")

# The machines run amd64 natively; arm64 runs under qemu-user, whose
# binfmt_misc registration any number of tests share at once
# (//tools/container's arm64_emulation), so no test needs to run alone.

# buildifier: disable=unnamed-macro
# (Its targets are named after the service's entry, whose name the table holds.)
def smoke_tests(service):
    """IMAGE_amd64_test, IMAGE_arm64_test and a test_suite IMAGE running both, for every image of `service`.

    The test reads what to ask the service, and what it must answer, from
    NAME_smoke.json: the service's entry in the table (module, port, routes,
    requests, and what a deployment gives it: deploy_env, volumes, jobs),
    written here. NAME_smoke_test.py, if there is one, holds what
    only that service's answers need checked beyond the table (items: the
    details of pydantic's 422); it runs after smoke_test.py, on a container
    of its own.

    Args:
        service: the service's entry in the table (images/services.bzl).
    """
    facts = service.name + "_smoke"
    write_file(
        name = facts,
        out = facts + ".json",
        content = [json.encode_indent(service_facts(service), indent = "  "), ""],
    )
    own = native.glob([service.name + "_smoke_test.py"], allow_empty = True)
    for variant in VARIANTS:
        image = service.name + variant
        for platform in PLATFORMS:
            pytest_test(
                name = "{}_{}_test".format(image, platform),
                size = "medium",
                srcs = ["smoke_test.py"] + own,
                data = [
                    ":" + facts,
                    "//images:" + image,
                ],
                env = {
                    "IMAGE": "$(rootpath //images:{})".format(image),
                    "PLATFORM": platform,
                    "SERVICE": "$(rootpath :{})".format(facts),
                },
                # runc, umoci and binfmt_misc need real root: no Bazel sandbox, and
                # no remote worker (which runs actions unprivileged, in a sandbox).
                tags = ["no-remote-exec", "no-sandbox"],
                # NAME_smoke_test.py imports smoke_test's fixture and checks.
                deps = ([":smoke_lib"] if own else []) + [
                    "//platforms:image_platforms",
                    "//tests/lib:skips",
                    "//tools/container",
                ],
            )
        native.test_suite(
            name = image,
            tests = [":{}_{}_test".format(image, platform) for platform in PLATFORMS],
        )
