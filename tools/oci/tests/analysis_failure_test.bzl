"""analysis_failure_test: the target under test must fail analysis with a given message."""

load("@bazel_skylib//lib:unittest.bzl", "analysistest", "asserts")

def _analysis_failure_test_impl(ctx):
    env = analysistest.begin(ctx)
    for message in ctx.attr.messages:
        asserts.expect_failure(env, message)
    return analysistest.end(env)

analysis_failure_test = analysistest.make(
    _analysis_failure_test_impl,
    expect_failure = True,
    attrs = {
        "messages": attr.string_list(
            mandatory = True,
            doc = "Substrings the analysis error must contain, e.g. the attribute it names.",
        ),
    },
    doc = "Passes when `target_under_test` (tagged manual) fails analysis with every one of `messages`.",
)
