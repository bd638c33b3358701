"""The table of services (services.bzl) in a Bazel of its own, on a copy of the checkout.

- One more entry, and nothing else, gives that service its images, its place in
  //images:all_images, //images:push and the release's list, its structure and
  smoke tests, and the smoke tests' requests and answers.
- A broken entry stops loading with a message that names the service and the
  field (or, for two services whose images clash, both services).

Only loading and a few file-writing actions: no image is built.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from nested_bazel import NestedBazel
from nested_bazel_testing import bazel_on_a_copy, terminate_cleanly  # noqa: F401

TABLE = "images/services.bzl"
TIMEOUT = 600

# A second service, as the README's recipe adds one: hello's code under
# another name (only loading is asked of it).
GREET = """
SERVICES.append(service(
    name = "greet",
    library = "//services/hello:hello_lib",
    module = "hello",
    port = 8081,
    labels = {"org.opencontainers.image.title": "greet"},
    routes = ["/hi"],
    requests = [request("GET", "/hi", 200, json = {"greeting": "hi"})],
))
"""


@pytest.fixture(scope="module")
def bazel() -> Iterator[NestedBazel]:
    with bazel_on_a_copy("service_table") as nested:
        yield nested


@pytest.fixture
def table(bazel: NestedBazel) -> Iterator[str]:
    """The table's text; whatever a test writes there is undone after it."""
    path = bazel.checkout / TABLE
    original = path.read_text()
    yield original
    path.write_text(original)


def query(bazel: NestedBazel, expression: str) -> list[str]:
    result = bazel.run("query", expression, timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.split()


def test_one_entry_is_all_a_service_needs(bazel: NestedBazel, table: str) -> None:
    (bazel.checkout / TABLE).write_text(table + GREET)
    images = ["greet", "greet_debug", "greet_slim"]
    targets = set(query(bazel, "//images:* + //tests/structure:* + //tests/smoke:*"))
    for image in images:
        assert f"//images:{image}" in targets
        assert f"//images:{image}_load" in targets
        for arch in ("amd64", "arm64"):
            assert f"//images:{image}_linux_{arch}" in targets
            assert f"//tests/structure:{image}_linux_{arch}_test" in targets
            assert f"//tests/smoke:{image}_{arch}_test" in targets
    grouped = query(bazel, "labels(srcs, //images:all_images)")
    assert {f"//images:{image}" for image in images} <= set(grouped)
    pushed = query(bazel, "labels(data, //images:push)")
    assert {f"//images:{image}" for image in images} <= set(pushed)

    built = bazel.build(
        ["//images:images_list", "//tests/smoke:greet_smoke"], timeout=TIMEOUT
    )
    listed = json.loads((built.bin_dir / "images/images_list.json").read_text())
    assert listed["images"][-3:] == [
        {"name": "greet", "service": "greet", "variant": ""},
        {"name": "greet_debug", "service": "greet", "variant": "_debug"},
        {
            "name": "greet_slim",
            "service": "greet",
            # The target of its py_slim reports, for the release's VEX.
            "slim_report": "//images:greet_python3_slim_report",
            "variant": "_slim",
        },
    ]
    smoke = json.loads((built.bin_dir / "tests/smoke/greet_smoke.json").read_text())
    assert smoke == {
        "app": None,
        # Nothing a deployment must give it: no volume, no secret, no job.
        "deploy_env": {},
        "jobs": {},
        "volumes": [],
        "module": "hello",
        "port": 8081,
        "routes": ["/hi"],
        "requests": [
            {
                "body": None,
                "content_type": None,
                "headers": {},
                "json": {"greeting": "hi"},
                "method": "GET",
                "path": "/hi",
                "status": 200,
            }
        ],
    }


@pytest.mark.parametrize(
    ("before", "after", "message"),
    [
        ("port = 8081", "port = 80810", 'service "greet": port must be a TCP port'),
        (
            "port = 8081",
            'port = 8081, app = "hello.app"',
            'service "greet": app must name a WSGI app, e.g. "hello:application"',
        ),
        (
            "port = 8081",
            'port = 8081, app = "other:create_app()"',
            'app "other:create_app()" is not in module "hello"',
        ),
        (
            "port = 8081",
            "prot = 8081",
            "service() got unexpected keyword argument: prot",
        ),
        (
            'name = "greet"',
            'name = "Greet"',
            'service "Greet": name must be lower case',
        ),
        (
            'name = "greet"',
            'name = "hello_debug"',
            '"hello" and "hello_debug" both make an image named hello_debug',
        ),
        ('"/hi", 200', '"hi", 200', 'request("GET", "hi"): path must start with /'),
        ('"/hi", 200', '"/hi", 900', "status must be an HTTP status code (100-599)"),
        ("requests = [request", "requests = [] and [request", "requests must be a"),
        (
            "port = 8081",
            'port = 8081, volumes = ["/app/data"]',
            "volumes must be a list of absolute directories outside /app",
        ),
        (
            "port = 8081",
            'port = 8081, jobs = {"migrate": ["hello", "migrate now"]}',
            "jobs must be a dict of name -> [module, args...] without spaces",
        ),
        (
            "port = 8081",
            'port = 8081, jobs = {"migrate": ["not-a-module"]}',
            'job "migrate": "not-a-module" is not a module',
        ),
        (
            "port = 8081",
            'port = 8081, env = {"KEY": "a"}, deploy_env = {"KEY": "b"}',
            "KEY is in both env and deploy_env",
        ),
    ],
)
def test_a_broken_entry_is_named(
    bazel: NestedBazel, table: str, before: str, after: str, message: str
) -> None:
    assert before in GREET
    (bazel.checkout / TABLE).write_text(table + GREET.replace(before, after))
    result = bazel.run("query", "//images:all_images", timeout=TIMEOUT)
    assert result.returncode != 0
    assert message in result.stderr, result.stderr[-3000:]
