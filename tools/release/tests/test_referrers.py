"""release.attached: the Referrers API where a registry serves it, else the tag schema.

Debian's docker-registry has no Referrers API (release_test and
release_rebuild_test use it for the tag schema); no registry that has one can
be installed here, so this stands one in: a small HTTP server answering the
OCI 1.1 requests the release makes, with a different referrer behind each way
of listing, so the test sees which one was read.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import release

SUBJECT = "sha256:" + "a" * 64
VIA_API = "sha256:" + "b" * 64
VIA_TAG = "sha256:" + "c" * 64


def referrer(predicate_type: str) -> dict:
    return {
        "schemaVersion": 2,
        "mediaType": release.MANIFEST_MEDIA_TYPE,
        "artifactType": release.BUNDLE_TYPE,
        "subject": {"mediaType": release.INDEX_MEDIA_TYPE, "digest": SUBJECT},
        "annotations": {release.PREDICATE_ANNOTATION: predicate_type},
    }


def index(digest: str) -> dict:
    return {
        "schemaVersion": 2,
        "mediaType": release.INDEX_MEDIA_TYPE,
        # As cosign writes the tag schema: the config's type, not the manifest's.
        "manifests": [
            {"digest": digest, "artifactType": "application/vnd.oci.empty.v1+json"}
        ],
    }


@pytest.fixture(params=[True, False], ids=["referrers-api", "tag-schema"])
def registry(request: pytest.FixtureRequest) -> Iterator[tuple[str, bool]]:
    serves_api = request.param
    answers = {
        f"/v2/team/hello/manifests/{SUBJECT.replace(':', '-')}": (
            release.INDEX_MEDIA_TYPE, index(VIA_TAG)),
        f"/v2/team/hello/manifests/{VIA_API}": (
            release.MANIFEST_MEDIA_TYPE, referrer("https://example/api")),
        f"/v2/team/hello/manifests/{VIA_TAG}": (
            release.MANIFEST_MEDIA_TYPE, referrer("https://example/tag")),
    }  # fmt: skip
    if serves_api:
        answers[f"/v2/team/hello/referrers/{SUBJECT}"] = (
            release.INDEX_MEDIA_TYPE,
            index(VIA_API),
        )

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            if self.path not in answers:
                self.send_error(404)
                return
            content_type, body = answers[self.path]
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", serves_api
    finally:
        server.shutdown()
        server.server_close()


def test_lists_referrers_the_way_the_registry_serves_them(
    registry: tuple[str, bool],
) -> None:
    address, serves_api = registry
    repository = f"{address}/team/hello"
    found = release.attached("crane", ["--insecure"], repository, SUBJECT, True)
    digest, how, kind = (
        (VIA_API, "referrers-api", "api")
        if serves_api
        else (VIA_TAG, "referrers-tag", "tag")
    )
    assert found == {
        "referrers": how,
        "signatures": [
            {
                "artifactType": release.BUNDLE_TYPE,
                "predicateType": f"https://example/{kind}",
                "reference": f"{repository}@{digest}",
                "subject": SUBJECT,
            }
        ],
    }
