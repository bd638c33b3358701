"""registry: the test registry keeps answering however much it logs.

docker-registry logs every HEAD of an unknown manifest as an error (crane asks
before each push); a test pushing a few images makes it write more than a
pipe holds. Hundreds of such requests must not block it.
"""

from __future__ import annotations

import urllib.error
import urllib.request

from registry import registry

REQUESTS = 400  # about 600 bytes of log each: several times a pipe's 64 KB


def head(url: str) -> int:
    request = urllib.request.Request(url, method="HEAD")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


def test_answers_after_logging_more_than_a_pipe_holds() -> None:
    with registry() as address:
        missing = f"http://{address}/v2/team/nothing/manifests/sha256:" + "0" * 64
        for _ in range(REQUESTS):
            assert head(missing) == 404
        assert head(f"http://{address}/v2/") == 200
