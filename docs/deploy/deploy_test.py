"""The Kubernetes example in docs/deploy agrees with the image it deploys.

Every YAML file here must parse, and the Deployment, Service and
HorizontalPodAutoscaler must fit the built image (//images:hello and
//images:hello_slim, both platforms, read from their OCI layouts) and the real
service (services/hello, imported and called as WSGI):

- ports: the image's ExposedPorts = containerPort = the port the service listens
  on (PORT from the image's environment and the manifest's, read by hello's own
  config loader) = the Service's targetPort = the probes' port;
- user: the image's User = runAsUser:runAsGroup, with runAsNonRoot;
- hardening: read-only root (with a writable /tmp), all capabilities dropped,
  no privilege escalation, not privileged, the RuntimeDefault seccomp profile;
- resources: CPU and memory requests and limits, requests within limits;
- probes: the liveness path answers 200, also while draining; the readiness
  path answers 200, and 503 once shutdown has begun;
- shutdown: terminationGracePeriodSeconds outlasts preStop and the drain;
- wiring: labels and selectors match, the HPA targets the Deployment by name,
  the image is referenced by digest and kustomization.yaml rewrites it.

Each check returns the problems it finds. The mutation tests at the end break
one thing at a time (a wrong port, a missing securityContext field, ...) and
require the checks to name it, so none of them can pass vacuously.
"""

from __future__ import annotations

import copy
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest
import yaml
from hello.app import create_app
from oci_layout import Layout, runfile
from prometheus_client import CollectorRegistry
from wsgi_service.accesslog import Logger
from wsgi_service.app import Runtime, State
from wsgi_service.buildinfo import BuildInfo
from wsgi_service.config import ConfigError, load_config
from wsgi_service.config import ServerConfig as Config
from wsgi_service.metrics import Metrics
from wsgi_service.middleware import service_middleware

Doc = dict[str, Any]

DEPLOY_DIR = Path(__file__).resolve().parent
KUSTOMIZATION = "kustomization.yaml"
# The images this example may deploy: the production variants (not _debug).
IMAGES = ["HELLO", "HELLO_SLIM"]
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
# Addresses that accept connections from outside the pod.
WILDCARD_HOSTS = ("0.0.0.0", "::")


# --- what is checked: the image, the manifests ---------------------------------


@dataclass(frozen=True)
class ImageFacts:
    """The parts of an image's config that a Deployment must agree with."""

    user: str
    ports: frozenset[str]  # ExposedPorts keys, e.g. "8080/tcp"
    env: dict[str, str]


def image_facts(variable: str) -> ImageFacts:
    """The runtime config of every platform of an index; they must be the same."""
    layout = Layout(runfile(variable))
    nested = layout.json_blob(layout.by_ref("latest"))
    facts: list[ImageFacts] = []
    for entry in nested["manifests"]:
        config = layout.json_blob(layout.json_blob(entry)["config"])["config"]
        env = dict(item.split("=", 1) for item in config.get("Env", []))
        user = config.get("User", "")
        facts.append(ImageFacts(user, frozenset(config["ExposedPorts"]), env))
    assert len(nested["manifests"]) == 2, f"{variable}: expected two platforms"
    assert all(f == facts[0] for f in facts), f"{variable}: platforms differ: {facts}"
    return facts[0]


@dataclass
class Manifests:
    files: dict[str, list[Doc]]  # file name -> its YAML documents

    def one(self, kind: str) -> Doc:
        found = [d for docs in self.files.values() for d in docs if d["kind"] == kind]
        assert len(found) == 1, f"expected one {kind}, found {len(found)}"
        return found[0]

    @property
    def deployment(self) -> Doc:
        return self.one("Deployment")

    @property
    def service(self) -> Doc:
        return self.one("Service")

    @property
    def hpa(self) -> Doc:
        return self.one("HorizontalPodAutoscaler")

    @property
    def kustomization(self) -> Doc:
        return self.one("Kustomization")

    @property
    def pod(self) -> Doc:
        return self.deployment["spec"]["template"]["spec"]

    @property
    def container(self) -> Doc:
        containers = self.pod["containers"]
        assert len(containers) == 1, "the example runs one container per pod"
        return containers[0]


def load_manifests(directory: Path = DEPLOY_DIR) -> Manifests:
    files: dict[str, list[Doc]] = {}
    for path in sorted(directory.glob("*.yaml")):
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
        assert docs, f"{path.name}: no YAML document"
        for doc in docs:
            assert isinstance(doc, dict), f"{path.name}: a document is not a mapping"
            for key in ("apiVersion", "kind"):
                assert doc.get(key), f"{path.name}: a document has no {key}"
        files[path.name] = docs
    return Manifests(files)


# --- helpers -------------------------------------------------------------------


def get(doc: Doc, dotted: str) -> Any:
    """doc["a"]["b"]... for "a.b...", or None where a key is missing."""
    value: Any = doc
    for key in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def effective_security(m: Manifests, field: str) -> Any:
    """A securityContext field as the kubelet applies it: the container's, else
    the pod's."""
    container = get(m.container, "securityContext." + field)
    return (
        container if container is not None else get(m.pod, "securityContext." + field)
    )


def service_env(m: Manifests, image: ImageFacts) -> dict[str, str]:
    """The environment the service starts with: the image's, then the manifest's."""
    env = dict(image.env)
    for item in m.container.get("env", []):
        env[item["name"]] = str(item["value"])
    return env


def service_config(m: Manifests, image: ImageFacts) -> Config:
    return load_config(service_env(m, image))


def resolve_port(m: Manifests, port: int | str | None) -> int | None:
    """A numeric port, or the containerPort of the container's port of that name."""
    if isinstance(port, int):
        return port
    for entry in m.container.get("ports", []):
        if entry.get("name") == port:
            return entry["containerPort"]
    return None


def image_ports(image: ImageFacts) -> set[int]:
    ports = set()
    for key in image.ports:
        number, _, protocol = key.partition("/")
        assert protocol in ("", "tcp"), f"the image exposes {key}: not TCP"
        ports.add(int(number))
    return ports


# Suffixes of Kubernetes resource quantities: CPU in cores, memory in bytes.
QUANTITY_SUFFIXES = {
    "": 1.0,
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "Ki": 2.0**10,
    "Mi": 2.0**20,
    "Gi": 2.0**30,
}


def quantity(value: str | int | float) -> float:
    """A Kubernetes resource quantity as a number (cores or bytes)."""
    text = str(value)
    match = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)([a-zA-Z]*)", text)
    if not match or match[2] not in QUANTITY_SUFFIXES:
        raise ValueError(f"not a resource quantity: {text!r}")
    return float(match[1]) * QUANTITY_SUFFIXES[match[2]]


def probe_status(m: Manifests, image: ImageFacts, path: str, draining: bool) -> int:
    """What the real hello app answers on `path` (before or during shutdown)."""
    state = State()
    runtime = Runtime(
        "hello",
        service_config(m, image),
        BuildInfo(),
        Metrics("hello", BuildInfo(), CollectorRegistry()),
        state,
        Logger(io.StringIO()),
    )
    # As the server serves it: inside the library's middleware, which answers
    # the probes' paths.
    app = service_middleware(create_app(runtime, service_env(m, image)), runtime)
    if draining:
        state.begin_shutdown()
    target, _, query = path.partition("?")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": target,
        "QUERY_STRING": query,
    }
    setup_testing_defaults(environ)
    statuses = []
    app(environ, lambda status, headers, exc_info=None: statuses.append(status))
    return int(statuses[0].split()[0])


# --- checks: each returns the problems it finds --------------------------------

Check = Callable[[Manifests, ImageFacts], list[str]]


def check_ports(m: Manifests, image: ImageFacts) -> list[str]:
    problems = []
    exposed = image_ports(image)
    declared = {p["containerPort"] for p in m.container.get("ports", [])}
    if declared != exposed:
        problems.append(
            f"containerPort {sorted(declared)} != image ExposedPorts {sorted(exposed)}"
        )
    if image.env.get("PORT") not in {str(p) for p in exposed}:
        problems.append(f"image PORT={image.env.get('PORT')} is not its exposed port")
    try:
        config = service_config(m, image)
    except ConfigError as err:
        return [*problems, f"the container's env is not a valid hello config: {err}"]
    if config.port not in declared:
        problems.append(
            f"the service listens on PORT={config.port},"
            f" not a containerPort {sorted(declared)}"
        )
    if config.host not in WILDCARD_HOSTS:
        problems.append(f"HOST={config.host} is unreachable from outside the pod")
    for entry in m.service["spec"]["ports"]:
        target = resolve_port(m, entry.get("targetPort"))
        if target not in declared:
            problems.append(
                f"Service targetPort {entry.get('targetPort')!r} -> {target},"
                " not a containerPort"
            )
    return problems


def check_user(m: Manifests, image: ImageFacts) -> list[str]:
    uid, _, gid = image.user.partition(":")
    if not (uid.isdigit() and gid.isdigit()):
        # The kubelet cannot check runAsNonRoot against a user name.
        return [f"image User {image.user!r} is not numeric UID:GID"]
    problems = []
    if effective_security(m, "runAsUser") != int(uid):
        problems.append(
            f"runAsUser {effective_security(m, 'runAsUser')} != image user {uid}"
        )
    if effective_security(m, "runAsGroup") != int(gid):
        problems.append(
            f"runAsGroup {effective_security(m, 'runAsGroup')} != image group {gid}"
        )
    if effective_security(m, "runAsNonRoot") is not True:
        problems.append("runAsNonRoot is not true")
    return problems


def check_hardening(m: Manifests, image: ImageFacts) -> list[str]:
    security = m.container.get("securityContext", {})
    problems = []
    if security.get("readOnlyRootFilesystem") is not True:
        problems.append("readOnlyRootFilesystem is not true")
    if security.get("allowPrivilegeEscalation") is not False:
        problems.append("allowPrivilegeEscalation is not false")
    if security.get("privileged", False) is not False:
        problems.append("privileged is set")
    capabilities = security.get("capabilities", {})
    if capabilities.get("drop") != ["ALL"] or capabilities.get("add"):
        problems.append(f"capabilities are not drop [ALL] with no add: {capabilities}")
    if get(effective_security(m, "seccompProfile") or {}, "type") != "RuntimeDefault":
        problems.append("seccompProfile type is not RuntimeDefault")
    # A read-only root needs somewhere to write temporary files (waitress spills
    # large bodies there): /tmp from an emptyDir volume.
    volumes = {v["name"]: v for v in m.pod.get("volumes", [])}
    tmp = [v for v in m.container.get("volumeMounts", []) if v["mountPath"] == "/tmp"]
    if len(tmp) != 1 or "emptyDir" not in volumes.get(tmp[0]["name"], {}):
        problems.append("/tmp is not an emptyDir volume")
    if m.pod.get("automountServiceAccountToken") is not False:
        problems.append("automountServiceAccountToken is not false")
    return problems


def check_resources(m: Manifests, image: ImageFacts) -> list[str]:
    resources = m.container.get("resources", {})
    problems = []
    for resource in ("cpu", "memory"):
        request = get(resources, f"requests.{resource}")
        limit = get(resources, f"limits.{resource}")
        if request is None or limit is None:
            problems.append(f"{resource}: requests and limits must both be set")
        elif quantity(request) > quantity(limit):
            problems.append(f"{resource}: request {request} exceeds limit {limit}")
    return problems


def check_probes(m: Manifests, image: ImageFacts) -> list[str]:
    problems = []
    try:
        port = service_config(m, image).port
    except ConfigError:
        return []  # check_ports reports it
    # Liveness must hold while draining (else the kubelet kills a pod that is
    # finishing its requests); readiness must fail then (so it gets no new ones).
    expected = {"livenessProbe": (200, 200), "readinessProbe": (200, 503)}
    for name, (serving, draining) in expected.items():
        http = get(m.container, f"{name}.httpGet")
        if not http:
            problems.append(f"{name} is not an httpGet probe")
            continue
        if resolve_port(m, http.get("port")) != port:
            problems.append(
                f"{name} port {http.get('port')!r} is not the service's port {port}"
            )
        path = http.get("path", "/")
        found = (
            probe_status(m, image, path, draining=False),
            probe_status(m, image, path, draining=True),
        )
        if found != (serving, draining):
            problems.append(
                f"{name} path {path}: the app answers {found[0]} serving and"
                f" {found[1]} draining; expected {serving} and {draining}"
            )
    return problems


def check_shutdown(m: Manifests, image: ImageFacts) -> list[str]:
    try:
        grace = service_config(m, image).shutdown_grace_seconds
    except ConfigError:
        return []  # check_ports reports it
    pre_stop = get(m.container, "lifecycle.preStop.sleep.seconds") or 0
    period = m.pod.get("terminationGracePeriodSeconds", 30)
    if period <= pre_stop + grace:
        return [
            f"terminationGracePeriodSeconds {period} does not outlast preStop"
            f" {pre_stop} s + SHUTDOWN_GRACE_SECONDS {grace} s"
        ]
    return []


def check_wiring(m: Manifests, image: ImageFacts) -> list[str]:
    problems = []
    deployment, service, hpa = m.deployment, m.service, m.hpa
    selector = get(deployment, "spec.selector.matchLabels") or {}
    pod_labels = get(deployment, "spec.template.metadata.labels") or {}
    if not selector or selector.items() - pod_labels.items():
        problems.append(f"Deployment selector {selector} does not match its pod labels")
    if service["spec"].get("selector") != selector:
        problems.append(
            f"Service selector {service['spec'].get('selector')}"
            f" != Deployment selector {selector}"
        )
    target = hpa["spec"]["scaleTargetRef"]
    wanted = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": deployment["metadata"]["name"],
    }
    if target != wanted:
        problems.append(f"HPA scaleTargetRef {target} != {wanted}")
    if not 1 <= hpa["spec"].get("minReplicas", 1) <= hpa["spec"]["maxReplicas"]:
        problems.append("HPA minReplicas is not within 1..maxReplicas")
    if "replicas" in deployment["spec"]:
        problems.append("Deployment sets replicas, which the HPA owns")
    for metric in hpa["spec"].get("metrics", []):
        name = get(metric, "resource.name")
        if (
            metric.get("type") == "Resource"
            and get(m.container, f"resources.requests.{name}") is None
        ):
            problems.append(
                f"HPA scales on {name}, which the container does not request"
            )
    for doc in (deployment, service, hpa):
        name = (doc["metadata"].get("labels") or {}).get("app.kubernetes.io/name")
        if name != selector.get("app.kubernetes.io/name"):
            problems.append(f"{doc['kind']} app.kubernetes.io/name label is {name!r}")
    return problems


def check_image_reference(m: Manifests, image: ImageFacts) -> list[str]:
    problems = []
    reference = m.container["image"]
    name, at, digest = reference.partition("@")
    if not at or not DIGEST.fullmatch(digest):
        problems.append(f"image {reference!r} is not referenced by digest")
    kustomization = m.kustomization
    resources = set(kustomization.get("resources", []))
    others = set(m.files) - {KUSTOMIZATION}
    if resources != others:
        problems.append(
            f"kustomization resources {sorted(resources)}"
            f" != the manifests {sorted(others)}"
        )
    entries = [e for e in kustomization.get("images", []) if e.get("name") == name]
    if len(entries) != 1:
        problems.append(f"kustomization.yaml has no images entry named {name!r}")
    elif not DIGEST.fullmatch(str(entries[0].get("digest"))) or not entries[0].get(
        "newName"
    ):
        problems.append(
            f"kustomization images entry for {name!r} needs newName and a digest"
        )
    return problems


CHECKS: list[Check] = [
    check_ports,
    check_user,
    check_hardening,
    check_resources,
    check_probes,
    check_shutdown,
    check_wiring,
    check_image_reference,
]


def all_problems(m: Manifests, image: ImageFacts) -> list[str]:
    return [problem for check in CHECKS for problem in check(m, image)]


# --- the tests -----------------------------------------------------------------


@pytest.fixture(scope="module", params=IMAGES)
def image(request: pytest.FixtureRequest) -> ImageFacts:
    return image_facts(request.param)


@pytest.fixture
def manifests() -> Manifests:
    return load_manifests()


def test_every_file_parses() -> None:
    m = load_manifests()
    assert set(m.files) == {
        "deployment.yaml",
        "service.yaml",
        "hpa.yaml",
        KUSTOMIZATION,
    }
    assert sorted(d["kind"] for docs in m.files.values() for d in docs) == [
        "Deployment",
        "HorizontalPodAutoscaler",
        "Kustomization",
        "Service",
    ]


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__)
def test_manifests_agree_with_the_image(
    check: Check, manifests: Manifests, image: ImageFacts
) -> None:
    problems = check(manifests, image)
    assert not problems, "\n".join(problems)


def test_the_image_is_what_the_docs_say() -> None:
    # docs/SECURITY.md and docs/deploy/README.md quote these.
    facts = image_facts("HELLO")
    assert facts.user == "65532:65532"
    assert facts.ports == {"8080/tcp"}
    assert facts.env["PORT"] == "8080"


# Mutations: (what is broken, how, a phrase the problems must contain).
Mutation = Callable[[Manifests], object]


def _set_env(m: Manifests, name: str, value: str) -> None:
    m.container["env"] = [e for e in m.container["env"] if e["name"] != name]
    m.container["env"].append({"name": name, "value": value})


MUTATIONS: list[tuple[str, Mutation, str]] = [
    (
        "wrong containerPort",
        lambda m: m.container["ports"][0].update(containerPort=8081),
        "containerPort",
    ),
    ("PORT env overridden", lambda m: _set_env(m, "PORT", "9090"), "PORT=9090"),
    ("HOST loopback", lambda m: _set_env(m, "HOST", "127.0.0.1"), "HOST=127.0.0.1"),
    ("invalid env value", lambda m: _set_env(m, "LOG_FORMAT", "xml"), "LOG_FORMAT"),
    (
        "wrong targetPort",
        lambda m: m.service["spec"]["ports"][0].update(targetPort=9090),
        "targetPort",
    ),
    (
        "unknown named targetPort",
        lambda m: m.service["spec"]["ports"][0].update(targetPort="web"),
        "targetPort",
    ),
    (
        "runAsUser root",
        lambda m: m.pod["securityContext"].update(runAsUser=0),
        "runAsUser",
    ),
    (
        "container overrides runAsUser",
        lambda m: m.container["securityContext"].update(runAsUser=1000),
        "runAsUser",
    ),
    (
        "runAsGroup missing",
        lambda m: m.pod["securityContext"].pop("runAsGroup"),
        "runAsGroup",
    ),
    (
        "runAsNonRoot missing",
        lambda m: m.pod["securityContext"].pop("runAsNonRoot"),
        "runAsNonRoot",
    ),
    (
        "readOnlyRootFilesystem missing",
        lambda m: m.container["securityContext"].pop("readOnlyRootFilesystem"),
        "readOnlyRootFilesystem",
    ),
    (
        "allowPrivilegeEscalation missing",
        lambda m: m.container["securityContext"].pop("allowPrivilegeEscalation"),
        "allowPrivilegeEscalation",
    ),
    (
        "privileged",
        lambda m: m.container["securityContext"].update(privileged=True),
        "privileged",
    ),
    (
        "capabilities not dropped",
        lambda m: m.container["securityContext"].pop("capabilities"),
        "capabilities",
    ),
    (
        "a capability added",
        lambda m: m.container["securityContext"]["capabilities"].update(
            add=["NET_BIND_SERVICE"]
        ),
        "capabilities",
    ),
    (
        "seccompProfile missing",
        lambda m: m.pod["securityContext"].pop("seccompProfile"),
        "seccompProfile",
    ),
    (
        "seccomp Unconfined",
        lambda m: m.container["securityContext"].update(
            seccompProfile={"type": "Unconfined"}
        ),
        "seccompProfile",
    ),
    ("no writable /tmp", lambda m: m.container.pop("volumeMounts"), "/tmp"),
    (
        "service account token",
        lambda m: m.pod.pop("automountServiceAccountToken"),
        "automountServiceAccountToken",
    ),
    (
        "limits missing",
        lambda m: m.container["resources"].pop("limits"),
        "requests and limits",
    ),
    (
        "memory request over limit",
        lambda m: m.container["resources"]["requests"].update(memory="1Gi"),
        "exceeds limit",
    ),
    (
        "liveness path unknown",
        lambda m: m.container["livenessProbe"]["httpGet"].update(path="/health"),
        "/health",
    ),
    (
        "liveness on /readyz",
        lambda m: m.container["livenessProbe"]["httpGet"].update(path="/readyz"),
        "livenessProbe",
    ),
    (
        "readiness on /healthz",
        lambda m: m.container["readinessProbe"]["httpGet"].update(path="/healthz"),
        "readinessProbe",
    ),
    (
        "probe on another port",
        lambda m: m.container["readinessProbe"]["httpGet"].update(port=9000),
        "readinessProbe port",
    ),
    (
        "grace period too short",
        lambda m: m.pod.update(terminationGracePeriodSeconds=12),
        "terminationGracePeriodSeconds",
    ),
    (
        "HPA targets another name",
        lambda m: m.hpa["spec"]["scaleTargetRef"].update(name="hullo"),
        "scaleTargetRef",
    ),
    (
        "HPA targets a StatefulSet",
        lambda m: m.hpa["spec"]["scaleTargetRef"].update(kind="StatefulSet"),
        "scaleTargetRef",
    ),
    (
        "Deployment sets replicas",
        lambda m: m.deployment["spec"].update(replicas=3),
        "replicas",
    ),
    (
        "Service selects other pods",
        lambda m: m.service["spec"]["selector"].update(
            {"app.kubernetes.io/name": "other"}
        ),
        "Service selector",
    ),
    (
        "pod labels miss the selector",
        lambda m: m.deployment["spec"]["template"]["metadata"]["labels"].pop(
            "app.kubernetes.io/component"
        ),
        "pod labels",
    ),
    (
        "image by tag",
        lambda m: m.container.update(image="registry.example.com/team/hello:latest"),
        "by digest",
    ),
    (
        "kustomization misses a file",
        lambda m: m.kustomization["resources"].remove("hpa.yaml"),
        "resources",
    ),
    (
        "kustomization renames nothing",
        lambda m: m.kustomization["images"][0].update(name="hello"),
        "images entry",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "phrase"),
    [pytest.param(mutate, phrase, id=name) for name, mutate, phrase in MUTATIONS],
)
def test_a_broken_manifest_fails(mutate: Mutation, phrase: str) -> None:
    image = image_facts("HELLO")
    broken = copy.deepcopy(load_manifests())
    mutate(broken)
    problems = all_problems(broken, image)
    assert any(phrase in problem for problem in problems), problems


# Image mutations: the manifests stay, the image changes under them.
IMAGE_MUTATIONS: list[tuple[str, dict[str, Any], str]] = [
    ("image exposes another port", {"ports": frozenset({"9000/tcp"})}, "ExposedPorts"),
    ("image runs as root", {"user": "0:0"}, "runAsUser"),
    ("image user by name", {"user": "nonroot"}, "not numeric"),
    ("image PORT elsewhere", {"env": {"PORT": "9000"}}, "PORT"),
]


@pytest.mark.parametrize(
    ("change", "phrase"),
    [pytest.param(change, phrase, id=name) for name, change, phrase in IMAGE_MUTATIONS],
)
def test_a_changed_image_fails(change: dict[str, Any], phrase: str) -> None:
    image = replace(image_facts("HELLO"), **change)
    problems = all_problems(load_manifests(), image)
    assert any(phrase in problem for problem in problems), problems
