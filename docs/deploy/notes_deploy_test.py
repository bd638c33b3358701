"""The notes example (docs/deploy/notes) agrees with its image and its table entry.

notes is a Django project with a database: beside hello's checks of a
Deployment (ports, user, hardening, resources), this checks what a stateful
service adds, against the built images (//images:notes and
//images:notes_slim, both platforms) and its entry in images/services.bzl
(the smoke tests' JSON of it: jobs, volumes, deploy_env):

- the migrate Job runs the entry's job with the image's Python, from the
  same image (same name, same digest) as the Deployment;
- both pods mount the same PersistentVolumeClaim at each of the entry's
  volumes, under which the image's NOTES_DATABASE lies, with fsGroup set to
  the image's group so its user can write it, and /tmp from an emptyDir;
- both are hardened as hello's Deployment is, as the image's user;
- both give every variable of the entry's deploy_env, SECRET_KEY from a
  Secret (never a literal), and the settings they give load (the service's
  own loader, notes.environment);
- one replica with the Recreate strategy (one SQLite writer), probes on the
  library's paths at the container's port;
- kustomization.yaml lists every manifest and rewrites the image's name.

The mutation tests break one thing at a time and require it to be named.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from deploy_test import DIGEST, Doc, Manifests, get, load_manifests, quantity
from notes import environment
from oci_layout import Layout, runfile
from wsgi_service.config import ConfigError

NOTES_DIR = Path(__file__).resolve().parent / "notes"
IMAGES = ["NOTES", "NOTES_SLIM"]
ENTRY = json.loads(Path(runfile("NOTES_ENTRY")).read_text(encoding="utf-8"))
PYTHON = "/usr/bin/python3.13"


@dataclass(frozen=True)
class ImageFacts:
    user: str
    ports: frozenset[str]
    env: dict[str, str]
    entrypoint: tuple[str, ...]


def image_facts(variable: str) -> ImageFacts:
    layout = Layout(runfile(variable))
    nested = layout.json_blob(layout.by_ref("latest"))
    facts = []
    for entry in nested["manifests"]:
        config = layout.json_blob(layout.json_blob(entry)["config"])["config"]
        env = dict(item.split("=", 1) for item in config.get("Env", []))
        facts.append(
            ImageFacts(
                config.get("User", ""),
                frozenset(config["ExposedPorts"]),
                env,
                tuple(config["Entrypoint"]),
            )
        )
    assert len(facts) == 2 and all(f == facts[0] for f in facts), facts
    return facts[0]


def pods(m: Manifests) -> dict[str, Doc]:
    """The pod specs that run the image: the Deployment's and the Job's."""
    return {
        "Deployment": m.deployment["spec"]["template"]["spec"],
        "Job": m.one("Job")["spec"]["template"]["spec"],
    }


def only_container(pod: Doc) -> Doc:
    containers = pod.get("containers", [])
    assert len(containers) == 1, "one container per pod"
    return containers[0]


Check = Callable[[Manifests, ImageFacts], list[str]]


def check_job(m: Manifests, image: ImageFacts) -> list[str]:
    problems = []
    job = m.one("Job")
    container = only_container(pods(m)["Job"])
    jobs = ENTRY["jobs"]
    expected = [image.entrypoint[0], "-m", *jobs["migrate"]]
    if container.get("command") != expected:
        problems.append(f"the Job's command {container.get('command')} != {expected}")
    if container.get("args"):
        problems.append("the Job has args: its command is the whole job")
    deployed = only_container(pods(m)["Deployment"])["image"]
    if container["image"] != deployed:
        problems.append(
            f"the Job's image {container['image']} != the Deployment's {deployed}"
        )
    if pods(m)["Job"].get("restartPolicy") not in ("Never", "OnFailure"):
        problems.append("the Job's restartPolicy must be Never or OnFailure")
    if not isinstance(get(job, "spec.backoffLimit"), int):
        problems.append("the Job has no backoffLimit")
    return problems


def check_volumes(m: Manifests, image: ImageFacts) -> list[str]:
    problems = []
    claims = {d["metadata"]["name"] for d in m.files.get("pvc.yaml", [])}
    database = image.env.get("NOTES_DATABASE", "")
    if not any(database.startswith(v + "/") for v in ENTRY["volumes"]):
        problems.append(
            f"the image's NOTES_DATABASE={database!r} is on none of {ENTRY['volumes']}"
        )
    gid = int(image.user.partition(":")[2] or -1)
    for kind, pod in pods(m).items():
        container = only_container(pod)
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        mounts = {v["mountPath"]: v["name"] for v in container.get("volumeMounts", [])}
        for path in ENTRY["volumes"]:
            claim = get(
                volumes.get(mounts.get(path), {}), "persistentVolumeClaim.claimName"
            )
            if claim not in claims:
                problems.append(f"{kind}: {path} is not the PersistentVolumeClaim's")
        if "emptyDir" not in volumes.get(mounts.get("/tmp"), {}):
            problems.append(f"{kind}: /tmp is not an emptyDir volume")
        if get(pod, "securityContext.fsGroup") != gid:
            problems.append(f"{kind}: fsGroup is not the image's group {gid}")
    if len(claims) != 1:
        problems.append(f"expected one PersistentVolumeClaim, found {sorted(claims)}")
    return problems


def check_hardening(m: Manifests, image: ImageFacts) -> list[str]:
    problems = []
    uid, _, gid = image.user.partition(":")
    for kind, pod in pods(m).items():
        container = only_container(pod)
        security = container.get("securityContext", {})
        context = pod.get("securityContext", {})
        if (context.get("runAsUser"), context.get("runAsGroup")) != (
            int(uid),
            int(gid),
        ):
            problems.append(
                f"{kind}: runAsUser:runAsGroup is not the image's {image.user}"
            )
        if context.get("runAsNonRoot") is not True:
            problems.append(f"{kind}: runAsNonRoot is not true")
        if get(context, "seccompProfile.type") != "RuntimeDefault":
            problems.append(f"{kind}: seccompProfile type is not RuntimeDefault")
        if security.get("readOnlyRootFilesystem") is not True:
            problems.append(f"{kind}: readOnlyRootFilesystem is not true")
        if security.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{kind}: allowPrivilegeEscalation is not false")
        if get(security, "capabilities.drop") != ["ALL"] or get(
            security, "capabilities.add"
        ):
            problems.append(f"{kind}: capabilities are not drop [ALL] with no add")
        if pod.get("automountServiceAccountToken") is not False:
            problems.append(f"{kind}: automountServiceAccountToken is not false")
        for resource in ("cpu", "memory"):
            request = get(container, f"resources.requests.{resource}")
            limit = get(container, f"resources.limits.{resource}")
            if request is None or limit is None or quantity(request) > quantity(limit):
                problems.append(f"{kind}: {resource} requests and limits, within them")
    return problems


def container_env(container: Doc) -> dict[str, Any]:
    return {e["name"]: e for e in container.get("env", [])}


def check_settings(m: Manifests, image: ImageFacts, tmp: str = "/tmp") -> list[str]:
    problems = []
    for kind, pod in pods(m).items():
        env = container_env(only_container(pod))
        for name in ENTRY["deploy_env"]:
            if name not in env:
                problems.append(f"{kind}: {name} is not given (the entry's deploy_env)")
        key = env.get("SECRET_KEY", {})
        if "value" in key or get(key, "valueFrom.secretKeyRef.key") is None:
            problems.append(f"{kind}: SECRET_KEY must come from a Secret, not a value")
        # What the pod starts with: the image's, the manifest's, the Secret's
        # (a test value); the database's directory is the volume, here tmp.
        settings = dict(image.env, **ENTRY["deploy_env"])
        settings.update({n: str(e["value"]) for n, e in env.items() if "value" in e})
        settings["NOTES_DATABASE"] = os.path.join(tmp, "notes.sqlite3")
        try:
            environment.load(settings)
        except ConfigError as err:
            problems.append(f"{kind}: the settings do not load: {err}")
    return problems


def check_deployment(m: Manifests, image: ImageFacts) -> list[str]:
    problems = []
    spec = m.deployment["spec"]
    if spec.get("replicas") != 1 or get(spec, "strategy.type") != "Recreate":
        problems.append("one SQLite writer: replicas 1 and the Recreate strategy")
    container = only_container(pods(m)["Deployment"])
    ports = {p["containerPort"] for p in container.get("ports", [])}
    exposed = {int(p.partition("/")[0]) for p in image.ports}
    if ports != exposed:
        problems.append(
            f"containerPort {sorted(ports)} != ExposedPorts {sorted(exposed)}"
        )
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        if get(container, f"{probe}.httpGet.path") != path:
            problems.append(f"{probe} is not on {path}")
    return problems


def check_kustomization(m: Manifests, image: ImageFacts) -> list[str]:
    problems = []
    kustomization = m.kustomization
    others = set(m.files) - {"kustomization.yaml"}
    if set(kustomization.get("resources", [])) != others:
        problems.append(f"kustomization resources != the manifests {sorted(others)}")
    name, _, digest = only_container(pods(m)["Deployment"])["image"].partition("@")
    if not DIGEST.fullmatch(digest):
        problems.append("the image is not referenced by digest")
    if [e.get("name") for e in kustomization.get("images", [])] != [name]:
        problems.append(f"kustomization.yaml has no images entry named {name!r}")
    return problems


CHECKS: list[Check] = [
    check_job,
    check_volumes,
    check_hardening,
    check_settings,
    check_deployment,
    check_kustomization,
]


def all_problems(m: Manifests, image: ImageFacts) -> list[str]:
    return [p for check in CHECKS for p in check(m, image)]


@pytest.fixture(scope="module", params=IMAGES)
def image(request: pytest.FixtureRequest) -> ImageFacts:
    return image_facts(request.param)


def test_the_files_are_the_example() -> None:
    m = load_manifests(NOTES_DIR)
    assert sorted(d["kind"] for docs in m.files.values() for d in docs) == [
        "Deployment",
        "Job",
        "Kustomization",
        "PersistentVolumeClaim",
        "Service",
    ]


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__)
def test_manifests_agree_with_the_image(check: Check, image: ImageFacts) -> None:
    problems = check(load_manifests(NOTES_DIR), image)
    assert not problems, "\n".join(problems)


def _env(kind: str, name: str, value: str | None) -> Callable[[Manifests], None]:
    def mutate(m: Manifests) -> None:
        container = only_container(pods(m)[kind])
        container["env"] = [e for e in container["env"] if e["name"] != name]
        if value is not None:
            container["env"].append({"name": name, "value": value})

    return mutate


MUTATIONS: list[tuple[str, Callable[[Manifests], object], str]] = [
    ("job runs the server", lambda m: only_container(pods(m)["Job"]).update(command=[PYTHON, "-m", "wsgi_service"]), "the Job's command"),
    ("job from another image", lambda m: only_container(pods(m)["Job"]).update(image="registry.example.com/team/notes@sha256:" + "1" * 64), "the Job's image"),
    ("job restarts always", lambda m: pods(m)["Job"].update(restartPolicy="Always"), "restartPolicy"),
    ("job without the volume", lambda m: only_container(pods(m)["Job"]).update(volumeMounts=[{"name": "tmp", "mountPath": "/tmp"}]), "Job: /data is not the PersistentVolumeClaim's"),
    ("deployment mounts elsewhere", lambda m: only_container(pods(m)["Deployment"])["volumeMounts"][0].update(mountPath="/var/data"), "Deployment: /data"),
    ("no fsGroup", lambda m: pods(m)["Deployment"]["securityContext"].pop("fsGroup"), "fsGroup"),
    ("two replicas", lambda m: m.deployment["spec"].update(replicas=2), "one SQLite writer"),
    ("rolling update", lambda m: m.deployment["spec"].update(strategy={"type": "RollingUpdate"}), "Recreate"),
    ("secret key as a literal", _env("Job", "SECRET_KEY", "x" * 60), "from a Secret"),
    ("no allowed hosts", _env("Deployment", "ALLOWED_HOSTS", None), "ALLOWED_HOSTS is not given"),
    ("bad allowed hosts", _env("Deployment", "ALLOWED_HOSTS", "http://notes.example.com"), "the settings do not load: ALLOWED_HOSTS"),
    ("debug not a boolean", _env("Deployment", "DEBUG", "maybe"), "DEBUG"),
    ("job as root", lambda m: pods(m)["Job"]["securityContext"].update(runAsUser=0), "Job: runAsUser"),
    ("writable root", lambda m: only_container(pods(m)["Job"])["securityContext"].update(readOnlyRootFilesystem=False), "Job: readOnlyRootFilesystem"),
    ("readiness elsewhere", lambda m: only_container(pods(m)["Deployment"])["readinessProbe"]["httpGet"].update(path="/"), "readinessProbe"),
    ("kustomization misses the job", lambda m: m.kustomization["resources"].remove("migrate-job.yaml"), "kustomization resources"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("mutate", "phrase"),
    [pytest.param(mutate, phrase, id=name) for name, mutate, phrase in MUTATIONS],
)
def test_a_broken_manifest_fails(
    mutate: Callable[[Manifests], object], phrase: str
) -> None:
    broken = copy.deepcopy(load_manifests(NOTES_DIR))
    mutate(broken)
    problems = all_problems(broken, image_facts("NOTES"))
    assert any(phrase in problem for problem in problems), problems


def test_an_image_whose_database_is_off_the_volume_fails() -> None:
    facts = image_facts("NOTES")
    moved = ImageFacts(facts.user, facts.ports, dict(facts.env, NOTES_DATABASE="/app/db.sqlite3"), facts.entrypoint)  # fmt: skip
    problems = all_problems(load_manifests(NOTES_DIR), moved)
    assert any("is on none of" in p for p in problems), problems
