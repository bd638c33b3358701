"""The grid runs actions for its build root only, and serve leaves nothing behind.

Actions are sent straight through the Remote Execution API (no Bazel): one
that asks for this build root runs on a worker and its output comes back
through the CAS; one that asks for another root stays queued, untouched by
every worker, while the first one runs.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from build_root_key import properties
from buildgrid._protos.build.bazel.remote.execution.v2 import (
    remote_execution_pb2 as re_pb2,
)
from buildgrid._protos.build.bazel.remote.execution.v2 import (
    remote_execution_pb2_grpc as re_grpc,
)
from grid import Grid, GridError
from processes import free_port, parent_pid

KEY = "0123456789abcdef"  # a build root key, as tools/bazel names roots


@pytest.fixture(scope="module")
def grid() -> Iterator[Grid]:
    with Grid(properties=properties(KEY), workers=1) as started:
        yield started


def digest_of(data: bytes) -> re_pb2.Digest:
    return re_pb2.Digest(hash=hashlib.sha256(data).hexdigest(), size_bytes=len(data))


def submit(channel: grpc.Channel, script: str, platform: dict[str, str]):  # type: ignore[no-untyped-def]
    """Upload an action running `sh -c script` with `platform`; start executing it."""
    command = re_pb2.Command(
        arguments=["/bin/sh", "-c", script], output_paths=["out.txt"]
    ).SerializeToString()
    root = re_pb2.Directory().SerializeToString()
    action = re_pb2.Action(
        command_digest=digest_of(command),
        input_root_digest=digest_of(root),
        platform=re_pb2.Platform(
            properties=[
                re_pb2.Platform.Property(name=name, value=value)
                for name, value in sorted(platform.items())
            ]
        ),
        do_not_cache=True,
    ).SerializeToString()
    cas = re_grpc.ContentAddressableStorageStub(channel)
    cas.BatchUpdateBlobs(
        re_pb2.BatchUpdateBlobsRequest(
            requests=[
                re_pb2.BatchUpdateBlobsRequest.Request(
                    digest=digest_of(blob), data=blob
                )
                for blob in (command, root, action)
            ]
        ),
        timeout=30,
    )
    return re_grpc.ExecutionStub(channel).Execute(
        re_pb2.ExecuteRequest(action_digest=digest_of(action), skip_cache_lookup=True),
        timeout=120,
    )


def result_of(stream) -> re_pb2.ExecuteResponse:  # type: ignore[no-untyped-def]
    for operation in stream:
        if operation.done:
            response = re_pb2.ExecuteResponse()
            operation.response.Unpack(response)
            return response
    raise AssertionError("the Execute stream ended before the operation was done")


def stage_of(operation) -> int:  # type: ignore[no-untyped-def]
    metadata = re_pb2.ExecuteOperationMetadata()
    operation.metadata.Unpack(metadata)
    return int(metadata.stage)


def test_only_actions_for_this_build_root_run(grid: Grid) -> None:
    with grpc.insecure_channel(grid.url.removeprefix("grpc://")) as channel:
        other_root = properties("fedcba9876543210")
        foreign = submit(channel, "echo foreign > out.txt", other_root)
        ours = submit(channel, "echo ours > out.txt", properties(KEY))
        response = result_of(ours)
        assert response.status.code == 0, response.status
        assert response.result.exit_code == 0, response.result
        (output,) = response.result.output_files
        assert output.path == "out.txt"
        blobs = re_grpc.ContentAddressableStorageStub(channel).BatchReadBlobs(
            re_pb2.BatchReadBlobsRequest(digests=[output.digest]), timeout=30
        )
        assert blobs.responses[0].data == b"ours\n"
        # Meanwhile the other root's action was never taken: still queued.
        time.sleep(3)
        stages = [stage_of(next(foreign))]
        foreign.cancel()
        assert stages == [re_pb2.ExecutionStage.QUEUED], stages


def test_unknown_platform_property_is_refused(grid: Grid) -> None:
    with grpc.insecure_channel(grid.url.removeprefix("grpc://")) as channel:
        with pytest.raises(grpc.RpcError) as raised:
            result_of(submit(channel, "true", {**properties(KEY), "color": "red"}))
    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "Unregistered platform property" in str(raised.value.details())


def test_busy_port_is_a_clear_error(grid: Grid) -> None:
    with pytest.raises(
        GridError, match=f"port {grid.port} on 127.0.0.1 is already in use"
    ):
        Grid(properties=properties(KEY), workers=0, port=grid.port).start()


def test_serve_prints_the_line_and_stops_cleanly_on_sigint() -> None:
    serve = os.environ["SERVE"]
    process = subprocess.Popen(
        [serve, "--workers", "1", "--port", str(free_port())],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    lines = []
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line)
        if line.startswith("Ctrl-C stops it"):
            break
    text = "".join(lines)
    endpoint = re.search(
        r"common:remote-exec-endpoint --remote_executor=(grpc://\S+)", text
    )
    state = re.search(r"state: (\S+)", text)
    exited = process.poll() is not None
    assert endpoint and state, text + (process.stderr.read() if exited else "")
    children = child_pids(process.pid)
    assert len(children) >= 4, children  # postgres, bgd, casd, worker
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "stopped: BuildGrid, its workers and PostgreSQL" in out
    assert not Path(state.group(1)).exists()
    assert not [pid for pid in children if Path(f"/proc/{pid}").exists()]


def test_serve_refuses_zero_workers() -> None:
    result = subprocess.run(
        [os.environ["SERVE"], "--workers", "0"], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "--workers 0: at least one worker is needed" in result.stderr


def child_pids(parent: int) -> list[int]:
    return [
        int(e)
        for e in os.listdir("/proc")
        if e.isdigit() and parent_pid(int(e)) == parent
    ]
