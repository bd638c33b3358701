"""Repository rule behind the `pip` extension: install a hashed lock, then generate BUILD files."""

def _hub_repository_impl(rctx):
    lock = rctx.path(rctx.attr.requirements_lock)
    python = rctx.attr.python_interpreter
    rctx.report_progress("installing " + str(rctx.attr.requirements_lock))
    result = rctx.execute(
        [python, rctx.path(rctx.attr._install), "--lock", lock, "--target", "site-packages"],
        timeout = 900,
        quiet = True,
    )
    if result.return_code != 0:
        fail("\n" + result.stderr)
    result = rctx.execute([python, rctx.path(rctx.attr._generate), ".", rctx.attr.name.split("~")[-1]], quiet = True)
    if result.return_code != 0:
        fail("generating the BUILD files of @{} failed:\n{}".format(rctx.attr.name, result.stderr))

hub_repository = repository_rule(
    implementation = _hub_repository_impl,
    attrs = {
        "python_interpreter": attr.string(mandatory = True),
        "requirements_lock": attr.label(mandatory = True, allow_single_file = True),
        "_generate": attr.label(default = "//tools/pypi/private:generate_hub.py"),
        "_install": attr.label(default = "//tools/pypi/private:install.py"),
    },
    doc = "Installs `requirements_lock` into site-packages/ and writes one py_library per distribution.",
)
