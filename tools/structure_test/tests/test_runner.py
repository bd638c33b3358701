"""The runner end to end on tiny layouts: each test type passing and failing, as the original reports it."""

from __future__ import annotations

import json
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import runner
from layouts import APP, BASE, CONFIG, E, Img, write_image, write_index

HEAD = 'schemaVersion: "2.0.0"\n'


def cfg(text: str) -> str:
    return HEAD + textwrap.dedent(text)


def failures(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("Error: ")]


def test_passing_run_reads_like_the_original(run) -> None:
    result = run(
        HEAD + "fileExistenceTests:\n  - {name: tmp, path: /tmp, shouldExist: true}\n"
    )
    assert result.code == 0
    lines = result.output.splitlines()
    assert "=== RUN: File Existence Test: tmp" in lines
    assert lines[lines.index("=== RUN: File Existence Test: tmp") + 1] == "--- PASS"
    assert "Passes: 1  Failures: 0  Total tests: 1" in lines
    assert lines[-1] == "PASS"
    assert "Test file: config0_0.yaml (linux/amd64)" in result.output


def test_file_existence(run) -> None:
    config = cfg("""
    fileExistenceTests:
      - {name: home, path: /home/nonroot, shouldExist: true, permissions: drwx------, uid: 65532, gid: 65532}
      - {name: tmp ls, path: /tmp, shouldExist: true, permissions: drwxrwxrwt}
      - {name: tmp go, path: /tmp, shouldExist: true, permissions: dtrwxrwxrwx}
      - {name: through symlinked /bin, path: /bin/python3.13, shouldExist: true, isExecutableBy: other}
      - {name: symlink itself, path: /usr/bin/python3, shouldExist: true, permissions: lrwxrwxrwx}
      - {name: no shell, path: /bin/sh, shouldExist: false}
      - {name: app run, path: /app/run, shouldExist: true, isExecutableBy: group}
    """)
    assert run(config).code == 0

    broken = cfg("""
    fileExistenceTests:
      - {name: shell, path: /bin/sh, shouldExist: true}
      - {name: python, path: /usr/bin/python3.13, shouldExist: false}
      - {name: tmp ls, path: /tmp, shouldExist: true, permissions: drwxrwxrwx}
      - {name: tmp go, path: /tmp, shouldExist: true, permissions: drwxrwxrwx}
      - {name: home go, path: /home/nonroot, shouldExist: true, permissions: dtrwx------, uid: 0, gid: 1}
      - {name: main, path: /app/main.py, shouldExist: true, isExecutableBy: any}
      - {name: run, path: /app/run, shouldExist: true, isExecutableBy: other}
    """)
    result = run(broken)
    assert result.code == 1
    assert failures(result.output) == [
        "Error: File /bin/sh should exist but does not",
        "Error: File /usr/bin/python3.13 should not exist but does (a file)",
        "Error: /tmp has incorrect permissions. Expected: drwxrwxrwx, Actual: drwxrwxrwt",
        "Error: /tmp has incorrect permissions. Expected: drwxrwxrwx, Actual: drwxrwxrwt",
        "Error: /home/nonroot has incorrect permissions. Expected: dtrwx------, Actual: drwx------",
        "Error: /home/nonroot has incorrect user ownership. Expected: 0, Actual: 65532",
        "Error: /home/nonroot has incorrect group ownership. Expected: 1, Actual: 65532",
        "Error: /app/main.py is not executable by any: its permissions are -rw-r--r--",
        "Error: /app/run is not executable by other: its permissions are -rwxr-x---",
    ]
    assert "Passes: 0  Failures: 7  Total tests: 7" in result.output
    assert result.output.count("--- FAIL") == 7
    assert result.output.splitlines()[-1] == "FAIL"


def test_whiteouts_in_a_later_layer_remove_files(run) -> None:
    image = Img(
        layers=[
            BASE,
            APP,
            [
                E("app/.wh.run"),
                E("usr/bin/.wh..wh..opq"),
                E("usr/bin/python3.13", data=b""),
            ],
        ]
    )
    config = cfg("""
    fileExistenceTests:
      - {name: run gone, path: /app/run, shouldExist: false}
      - {name: main kept, path: /app/main.py, shouldExist: true}
      - {name: python3 link gone with the opaque directory, path: /usr/bin/python3, shouldExist: false}
      - {name: python3.13 from the same layer kept, path: /usr/bin/python3.13, shouldExist: true, permissions: -rw-r--r--}
    """)
    assert run(config, image=image).code == 0


def test_file_content(run) -> None:
    config = cfg(r"""
    fileContentTests:
      - name: passwd
        path: /etc/passwd
        expectedContents: ['(?m)^nonroot:x:65532:65532:', 'root']
        excludedContents: ['/bin/(ba)?sh$']
      - {name: through a symlinked parent, path: /bin/python3, expectedContents: ['^\x7fELF']}
    """)
    assert run(config).code == 0

    broken = cfg("""
    fileContentTests:
      - {name: passwd, path: /etc/passwd, expectedContents: ['^admin:'], excludedContents: ['nonroot:x:(\\d+)']}
      - {name: missing, path: /etc/shadow, expectedContents: [x]}
      - {name: directory, path: /etc, expectedContents: [x]}
    """)
    result = run(broken)
    assert result.code == 1
    assert failures(result.output) == [
        "Error: Expected string '^admin:' not found in /etc/passwd (87 bytes)",
        "Error: Excluded string 'nonroot:x:(\\d+)' found in /etc/passwd: 'nonroot:x:65532'",
        "Error: File /etc/shadow should exist but does not",
        "Error: /etc is a directory, not a file; a content test reads a file",
    ]


def test_metadata(run) -> None:
    config = cfg("""
    metadataTest:
      envVars:
        - {key: PATH, value: /usr/bin:/bin}
        - {key: PYTHONPATH, value: "^/app", isRegex: true}
      unboundEnvVars: [{key: DEBUG}]
      labels:
        - {key: org.opencontainers.image.title, value: app}
        - {key: build, value: '^\\d{4}-\\d{2}-\\d{2}$', isRegex: true}
      entrypoint: [/usr/bin/python3.13, -m, app]
      cmd: []
      exposedPorts: ["8080", "8080/tcp"]
      unexposedPorts: ["8080/udp", "80"]
      unmountedVolumes: [/data]
      workdir: /app
      user: "65532:65532"
    """)
    result = run(config)
    assert result.code == 0, result.output
    assert "=== RUN: Metadata Test" in result.output

    broken = cfg("""
    metadataTest:
      envVars:
        - {key: PATH, value: /bin}
        - {key: HOME, value: /root}
        - {key: PYTHONPATH, value: "^/usr", isRegex: true}
      unboundEnvVars: [{key: PATH}]
      labels: [{key: org.opencontainers.image.title, value: other}]
      entrypoint: [/bin/sh]
      cmd: [--serve]
      exposedPorts: ["9090"]
      unexposedPorts: ["8080"]
      volumes: [/data]
      workdir: /
      user: root
    """)
    result = run(broken)
    assert result.code == 1
    assert failures(result.output) == [
        "Error: Env var PATH is '/usr/bin:/bin', expected '/bin'",
        "Error: Env var HOME not found; the image has: PATH, PYTHONPATH",
        "Error: Env var PYTHONPATH is '/app', which does not match regex '^/usr'",
        "Error: Env var PATH should not be set but is '/usr/bin:/bin'",
        "Error: Label org.opencontainers.image.title is 'app', expected 'other'",
        "Error: Image Entrypoint ['/usr/bin/python3.13', '-m', 'app'] does not match expected Entrypoint: ['/bin/sh']",
        "Error: Image Cmd [] does not match expected Cmd: ['--serve']",
        "Error: Port 9090 not found in config; it exposes: 8080/tcp",
        "Error: Port 8080 should not be exposed but is",
        "Error: Volume /data not found in config; it has: none",
        "Error: Image workdir '/app' does not match expected workdir: '/'",
        "Error: Image user '65532:65532' does not match expected user: 'root'",
    ]
    assert "Passes: 0  Failures: 1  Total tests: 1" in result.output


def test_license(run) -> None:
    docs = [
        E("usr/share/doc/good/copyright", data=b"License: MIT\n"),
        E("usr/share/doc/bad/copyright", data=b"License: agpl-3\n"),
        E("usr/share/doc/alias", "symlink", link="good"),
        E("LICENSE", data=b"Apache-2.0"),
    ]
    image = Img(layers=[BASE, docs])
    result = run(
        HEAD + "licenseTests: [{debian: true, files: [/LICENSE, /NOTICE]}]\n",
        image=image,
    )
    assert result.code == 1
    assert failures(result.output) == [
        "Error: Invalid license in /usr/share/doc/bad/copyright: it contains AGPL",
        "Error: License file /NOTICE should exist but does not",
    ]


COMMANDS = cfg("""
globalEnvVars:
  - {key: PATH, value: "/venv/bin:$PATH"}
commandTests:
  - name: python version
    command: python3
    args: [--version]
    envVars: [{key: GREETING, value: "hi ${PYTHONPATH} $$HOME $UNSET."}]
    expectedOutput: ['^Python 3\\.13\\.']
    excludedError: ['.']
  - name: fails on purpose
    command: false
    exitCode: 1
""")


def test_command_tests_run_command_and_args_with_the_image_env(run) -> None:
    answers = {
        ("python3", "--version"): ("Python 3.13.5\n", "", 0),
        ("false",): ("", "", 1),
    }
    result = run(COMMANDS, answers=answers)
    assert result.code == 0, result.output
    assert result.calls[0] == ("open", "latest", "linux/amd64")
    _, argv, env, timeout = result.calls[1]
    assert argv == [
        "python3",
        "--version",
    ]  # Not the entrypoint: the command replaces it.
    assert env == {
        "PATH": "/venv/bin:/usr/bin:/bin",
        "PYTHONPATH": "/app",
        "GREETING": "hi /app $HOME .",
    }
    assert timeout == 120
    assert result.calls[-1] == ("close", "latest")
    assert (
        len([c for c in result.calls if c[0] == "open"]) == 1
    )  # One container for every command.


def test_a_1_0_0_config_runs_its_argv_commands_and_file_tests(run) -> None:
    # distroless's form: schemaVersion 1.0.0, command as the whole argv,
    # shouldExist left out (true).
    config = """\
schemaVersion: "1.0.0"
commandTests:
  - name: version
    command: ["python3", "--version"]
    expectedOutput: ['^Python 3\\.13\\.']
  - name: wrong version
    command: ["python3", "--version"]
    expectedOutput: ['^Python 2']
fileExistenceTests:
  - {name: tmp, path: /tmp}
  - {name: shell, path: /bin/sh}
"""
    answers = {("python3", "--version"): ("Python 3.13.5\n", "", 0)}
    result = run(config, answers=answers)
    assert result.code == 1
    assert [c[1] for c in result.calls if c[0] == "run"] == [
        ["python3", "--version"]
    ] * 2
    assert "=== RUN: Command Test: version" in result.output
    assert failures(result.output) == [
        "Error: File /bin/sh should exist but does not",
        "Error: Expected string '^Python 2' not found in output",
    ]
    assert "Passes: 2  Failures: 2  Total tests: 4" in result.output


def test_command_test_failures_show_what_was_expected_and_the_output(run) -> None:
    answers = {
        ("python3", "--version"): ("Python 3.11.2\n", "warning: old\n", 0),
        ("false",): ("", "", 0),
    }
    result = run(COMMANDS, answers=answers, args=["--command-timeout", "5"])
    assert result.code == 1
    assert failures(result.output) == [
        "Error: Excluded string '.' found in error",
        "Error: Expected string '^Python 3\\.13\\.' not found in output",
        "Error: Test 'fails on purpose' exited with incorrect error code. Expected: 1, Actual: 0",
    ]
    assert "stdout: Python 3.11.2" in result.output
    assert "stderr: warning: old" in result.output
    assert result.calls[1][3] == 5


def test_command_tests_are_skipped_where_the_platform_cannot_run(run) -> None:
    result = run(COMMANDS, unavailable="qemu-aarch64 cannot be registered")
    assert result.code == 0
    assert result.output.count("--- SKIP") == 2
    assert "Reason: qemu-aarch64 cannot be registered" in result.output
    assert "Passes: 0  Failures: 0  Total tests: 2" in result.output
    assert "Skipped: 2 (qemu-aarch64 cannot be registered)" in result.output
    assert (
        len([c for c in result.calls if c[0] == "open"]) == 1
    )  # Not retried for each test.


def test_a_container_that_cannot_start_fails_its_command_tests_once(run) -> None:
    result = run(COMMANDS, broken="umoci unpack failed with status 1")
    assert result.code == 1
    assert (
        failures(result.output)
        == ["Error: cannot start a container: umoci unpack failed with status 1"] * 2
    )
    assert len([c for c in result.calls if c[0] == "open"]) == 1


def test_command_tests_need_the_manifest_named_in_index_json(
    run, tmp_path: Path
) -> None:
    layout = write_image(tmp_path / "unnamed", Img(layers=[BASE]))
    index = json.loads((layout / "index.json").read_text())
    del index["manifests"][0]["annotations"]
    (layout / "index.json").write_text(json.dumps(index))
    result = run(COMMANDS, image=layout)
    assert result.code == 1
    assert failures(result.output)[0] == (
        "Error: cannot start a container: command tests need the linux/amd64 manifest named in index.json "
        "(org.opencontainers.image.ref.name) so umoci can unpack it"
    )


def test_every_platform_of_an_index_is_tested_unless_one_is_picked(
    run, tmp_path: Path
) -> None:
    layout = write_index(
        tmp_path / "index",
        [
            Img("linux/amd64", [BASE, APP], {**CONFIG, "User": "1"}),
            Img("linux/arm64/v8", [BASE, APP], {**CONFIG, "User": "2"}),
        ],
    )
    config = (
        HEAD + 'metadataTest: {user: "1"}\ncommandTests: [{name: c, command: "true"}]\n'
    )
    answers = {("true",): ("", "", 0)}
    result = run(config, image=layout, answers=answers)
    assert result.code == 1
    assert "Test file: config0_0.yaml (linux/amd64)" in result.output
    assert "Test file: config0_0.yaml (linux/arm64/v8)" in result.output
    assert failures(result.output) == [
        "Error: Image user '2' does not match expected user: '1'"
    ]
    assert [c for c in result.calls if c[0] == "open"] == [
        ("open", "latest-linux-amd64", "linux/amd64"),
        ("open", "latest-linux-arm64-v8", "linux/arm64/v8"),
    ]

    result = run(
        config, image=layout, answers=answers, args=["--platform", "linux/amd64"]
    )
    assert result.code == 0
    assert "arm64" not in result.output

    result = run(
        config, image=layout, answers=answers, args=["--platform", "linux/arm64"]
    )
    assert failures(result.output) == [
        "Error: Image user '2' does not match expected user: '1'"
    ]

    result = run(config, image=layout, args=["--platform", "linux/s390x"])
    assert result.code == 2
    assert (
        "the image has no linux/s390x manifest; it has: linux/amd64, linux/arm64/v8"
        in result.output
    )


def test_several_configs_each_get_their_own_section(run) -> None:
    result = run(
        HEAD + "fileExistenceTests: [{name: a, path: /app, shouldExist: true}]\n",
        HEAD + "fileExistenceTests: [{name: b, path: /bin/sh, shouldExist: true}]\n",
    )
    assert result.code == 1
    assert "Test file: config0_0.yaml (linux/amd64)" in result.output
    assert "Test file: config0_1.yaml (linux/amd64)" in result.output
    assert "Passes: 1  Failures: 1  Total tests: 2" in result.output


def test_an_invalid_config_runs_nothing_and_exits_2(run) -> None:
    result = run(
        HEAD
        + "fileExistenceTests: [{name: a, path: /app, shouldExist: true, mode: '0755'}]\n"
    )
    assert result.code == 2
    assert result.output.startswith("Error: invalid structure test config:\n")
    assert "unknown key 'mode'" in result.output
    assert "=== RUN" not in result.output


def test_junit_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    xml = tmp_path / "test.xml"
    config = (
        HEAD
        + "fileExistenceTests: [{name: a, path: /app, shouldExist: true}, {name: b, path: /x, shouldExist: true}]\n"
    )
    layout = write_index(tmp_path / "l", [Img(layers=[BASE, APP])])
    (tmp_path / "c.yaml").write_text(config)
    assert (
        runner.main(["--image", str(layout), str(tmp_path / "c.yaml")], junit=xml) == 1
    )
    suite = ET.parse(xml).getroot().find("testsuite")
    assert (suite.get("name"), suite.get("tests"), suite.get("failures")) == (
        "Test file: c.yaml (linux/amd64)",
        "2",
        "1",
    )
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [
        "File Existence Test: a",
        "File Existence Test: b",
    ]
    assert (
        cases[1].find("failure").get("message") == "File /x should exist but does not"
    )
