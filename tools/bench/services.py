"""What the services table says about the bench's images: which service each
is, and what a deployment gives it (container.deployed: deploy_env, volumes,
jobs), so that notes runs with its database migrated, as in the smoke tests.

Read from //images:services_facts and //images:images_list in this tool's
runfiles. An image the table does not make (the floor, hello_nopyc) needs no
deployment; a bench variant of one (NAME_zstd) is that image's.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

FACTS = Path("images/services_facts.json")
IMAGE_LIST = Path("images/images_list.json")
# What an image the table does not make is given: nothing.
NO_DEPLOYMENT: dict[str, Any] = {"deploy_env": {}, "volumes": [], "jobs": {}}
BENCH_SUFFIXES = ("_zstd",)


@cache
def _tables() -> tuple[dict[str, Any], dict[str, str]]:
    facts = json.loads(FACTS.read_text(encoding="utf-8"))
    images = json.loads(IMAGE_LIST.read_text(encoding="utf-8"))["images"]
    return facts, {image["name"]: image["service"] for image in images}


def service_of(variant: str) -> str | None:
    """The table's service an image of the bench is of, or None."""
    _, images = _tables()
    for suffix in BENCH_SUFFIXES:
        variant = variant.removesuffix(suffix)
    return images.get(variant)


def facts_of(variant: str) -> dict[str, Any]:
    """The entry's facts (service_facts) of the image's service, or NO_DEPLOYMENT."""
    facts, _ = _tables()
    service = service_of(variant)
    return facts[service] if service is not None else NO_DEPLOYMENT


def facts_of_service(service: str) -> dict[str, Any]:
    facts, _ = _tables()
    return facts[service]
