"""Configs are read strictly: every mistake is an error naming its file, line and place."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from schema import ConfigError, format_permissions, load, parse_permissions


def problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "c.yaml"
    path.write_text(textwrap.dedent(text))
    with pytest.raises(ConfigError) as info:
        load([path])
    return [p.replace(str(path), "c.yaml") for p in info.value.problems]


def loads(tmp_path: Path, text: str):
    path = tmp_path / "c.yaml"
    path.write_text(textwrap.dedent(text))
    (config,) = load([path])
    return config


def test_schema_version_is_required_and_must_be_2_0_0_or_1_0_0(
    tmp_path: Path,
) -> None:
    assert problems(tmp_path, "fileExistenceTests: []\n") == [
        "c.yaml:1: config: missing required key 'schemaVersion'"
    ]
    assert problems(tmp_path, "schemaVersion: 3.0.0\n") == [
        "c.yaml:1: config.schemaVersion: '3.0.0' is not supported; it must be '2.0.0'"
        " (or '1.0.0', the older schema)"
    ]
    assert loads(tmp_path, "schemaVersion: 1.0.0\n").command_tests == []


def test_a_1_0_0_config_is_read_as_the_original_reads_it(tmp_path: Path) -> None:
    # The form of distroless's own testdata: command is the whole argv.
    config = loads(
        tmp_path,
        """\
        schemaVersion: "1.0.0"
        globalEnvVars: [{key: A, value: "1"}]
        commandTests:
          - name: version
            command: ["/usr/bin/python3", "--version"]
            expectedOutput: ["Python 3"]
            envVars: [{key: B, value: $A}]
          - name: alone
            command: [/usr/bin/true]
            exitCode: 0
        fileExistenceTests:
          - {name: certs, path: /etc/ssl/certs/ca-certificates.crt}
          - {name: no shell, path: /bin/sh, shouldExist: false}
          - {name: tmp, path: /tmp, permissions: dtrwxrwxrwx}
        fileContentTests:
          - {name: passwd, path: /etc/passwd, expectedContents: [nonroot]}
        licenseTests: [{debian: false, files: [/LICENSE]}]
        """,
    )
    version, alone = config.command_tests
    assert (version.command, version.args) == ("/usr/bin/python3", ["--version"])
    assert version.env_vars[0].value == "$A"
    assert (alone.command, alone.args) == ("/usr/bin/true", [])
    # shouldExist defaults to true in 1.0.0, as the original's v1 reads it.
    assert [t.should_exist for t in config.file_existence_tests] == [True, False, True]
    assert config.file_existence_tests[2].permissions.mode == 0o1777
    assert config.metadata_test is None
    assert [t.name for t in config.file_content_tests] == ["passwd"]


def test_2_0_0_keys_in_a_1_0_0_config_say_which_version_has_them(
    tmp_path: Path,
) -> None:
    found = problems(
        tmp_path,
        """\
        schemaVersion: "1.0.0"
        commandTests:
          - {name: a, command: python3, args: [--version]}
          - {name: b, command: []}
        fileExistenceTests:
          - {name: c, path: /tmp, uid: 0}
        metadataTest: {user: "65532"}
        """,
    )
    newer = "is a schemaVersion 2.0.0 key; this config is 1.0.0 (set schemaVersion: '2.0.0' to use it)"  # fmt: skip
    assert found == [
        "c.yaml:3: config.commandTests[0].command: expected a list (the program and"
        " its arguments), got a string ('python3'); in schemaVersion 1.0.0 `command`"
        ' is the whole argv, e.g. command: ["/usr/bin/python3", "--version"]',
        f"c.yaml:3: config.commandTests[0]: 'args' {newer}",
        "c.yaml:4: config.commandTests[1].command: must name the program to run",
        f"c.yaml:6: config.fileExistenceTests[0]: 'uid' {newer}",
        f"c.yaml:7: config: 'metadataTest' {newer}",
    ]


def test_unknown_keys_are_errors_with_their_place_and_a_suggestion(
    tmp_path: Path,
) -> None:
    found = problems(
        tmp_path,
        """\
        schemaVersion: "2.0.0"
        fileExistenceTest: []
        fileExistenceTests:
          - name: shell
            path: /bin/sh
            shouldexist: false
        metadataTest:
          env:
            - {key: A, value: b}
          envVars:
            - {key: A, value: b, regex: true}
        commandTests:
          - name: c
            command: x
            expectedOuput: [y]
        """,
    )
    assert found == [
        "c.yaml:2: config: unknown key 'fileExistenceTest' (did you mean 'fileExistenceTests'?); top-level keys "
        "are: schemaVersion, globalEnvVars, commandTests, fileExistenceTests, fileContentTests, metadataTest, "
        "licenseTests, containerRunOptions",
        "c.yaml:4: config.fileExistenceTests[0]: missing required key 'shouldExist'",
        "c.yaml:6: config.fileExistenceTests[0]: unknown key 'shouldexist' (did you mean 'shouldExist'?); "
        "fileExistenceTests entry keys are: name, path, shouldExist, permissions, uid, gid, isExecutableBy",
        "c.yaml:8: config.metadataTest: unknown key 'env' (did you mean 'envVars'?); metadataTest keys are: "
        "envVars, unboundEnvVars, labels, entrypoint, cmd, exposedPorts, unexposedPorts, volumes, "
        "unmountedVolumes, workdir, user",
        "c.yaml:11: config.metadataTest.envVars[0]: unknown key 'regex' (did you mean 'isRegex'?); "
        "envVars entry keys are: key, value, isRegex",
        "c.yaml:15: config.commandTests[0]: unknown key 'expectedOuput' (did you mean 'expectedOutput'?); "
        "commandTests entry keys are: name, command, args, envVars, expectedOutput, excludedOutput, "
        "expectedError, excludedError, exitCode, setup, teardown",
    ]


def test_types_duplicates_and_regexes_are_checked(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        """\
        schemaVersion: "2.0.0"
        fileExistenceTests:
          - name: a
            path: tmp
            shouldExist: "yes"
            uid: root
            isExecutableBy: everyone
            permissions: rwxr-xr-x
          - name: b
            name: c
            path: /x
            shouldExist: false
            uid: 0
        fileContentTests:
          - {name: d, path: /etc/passwd, expectedContents: "root", excludedContents: ["("]}
        """,
    )
    assert found == [
        "c.yaml:4: config.fileExistenceTests[0].path: 'tmp' must be an absolute path",
        "c.yaml:5: config.fileExistenceTests[0].shouldExist: expected true or false, got a string ('yes')",
        "c.yaml:6: config.fileExistenceTests[0].uid: expected an integer, got a string ('root')",
        "c.yaml:7: config.fileExistenceTests[0].isExecutableBy: 'everyone' is not one of owner, group, other, any",
        "c.yaml:8: config.fileExistenceTests[0].permissions: 'rwxr-xr-x' is not a permission string; expected "
        "ls -l form like '-rwxr-xr-x' or 'drwxrwxrwt' (Go's 'dtrwxrwxrwx' also works)",
        "c.yaml:10: duplicate key 'name' (first on line 9)",
        "c.yaml:13: config.fileExistenceTests[1]: uid needs shouldExist: true",
        "c.yaml:15: config.fileContentTests[0].expectedContents: expected a list, got a string ('root')",
        "c.yaml:15: config.fileContentTests[0].excludedContents[0]: '(' is not a regular expression: "
        "missing ), unterminated subpattern at position 0",
    ]


def test_setup_teardown_and_run_options_are_rejected_as_unsupported(
    tmp_path: Path,
) -> None:
    found = problems(
        tmp_path,
        """\
        schemaVersion: "2.0.0"
        containerRunOptions: {privileged: true}
        commandTests:
          - name: c
            command: x
            setup: [["pip", "install", "x"]]
            teardown: [["rm", "x"]]
        """,
    )
    assert [p.split(": ", 3)[:3] for p in found] == [
        ["c.yaml:2", "config", "containerRunOptions is not supported"],
        ["c.yaml:6", "config.commandTests[0]", "setup commands are not supported"],
        ["c.yaml:7", "config.commandTests[0]", "teardown commands are not supported"],
    ]


def test_invalid_yaml_and_empty_files(tmp_path: Path) -> None:
    assert problems(tmp_path, "")[0] == "c.yaml: empty config"
    assert problems(tmp_path, "a: [")[0].startswith("c.yaml: not valid YAML:")
    assert problems(tmp_path, "- 1\n") == [
        "c.yaml:1: config: expected a mapping (top-level), got a list"
    ]


def test_a_valid_config_with_every_field(tmp_path: Path) -> None:
    # YAML anchors and merge keys work; scalars read as strings keep their source text.
    config = loads(
        tmp_path,
        """\
        schemaVersion: '2.0.0'
        globalEnvVars: [{key: A, value: "1"}]
        fileExistenceTests:
          - &tmp {name: tmp, path: /tmp, shouldExist: true, permissions: dtrwxrwxrwx, uid: 0, gid: 0x0,
                  isExecutableBy: any}
          - <<: *tmp
            name: tmp again
        fileContentTests:
          - {name: p, path: /etc/passwd, expectedContents: [root], excludedContents: []}
        metadataTest:
          envVars: [{key: V, value: 1.10}, {key: W, value: "^x", isRegex: true}]
          labels: [{key: l, value: 8080}]
          unboundEnvVars: [{key: DEBUG}]
          entrypoint: []
          cmd:
          exposedPorts: ["8080", 9090/udp]
          workdir: /app
          user: "65532"
        licenseTests: [{debian: false, files: [/LICENSE]}]
        commandTests:
          - name: c
            command: python3
            args: [-c, "print(1)"]
            envVars: [{key: B, value: $A}]
            exitCode: 3
        """,
    )
    first, again = config.file_existence_tests
    assert (again.name, again.path, again.gid, again.executable_by) == (
        "tmp again",
        "/tmp",
        0,
        "any",
    )
    assert (
        first.permissions.kind,
        first.permissions.mode,
        first.permissions.go_style,
    ) == ("d", 0o1777, True)
    metadata = config.metadata_test
    # Scalars read as strings keep their source text (1.10 is not 1.1).
    assert [(v.key, v.value, v.is_regex) for v in metadata.env_vars] == [
        ("V", "1.10", False),
        ("W", "^x", True),
    ]
    assert metadata.labels[0].value == "8080"
    assert (metadata.entrypoint, metadata.cmd) == ([], None)
    assert metadata.unbound_env_vars == ["DEBUG"]
    assert config.command_tests[0].exit_code == 3
    assert config.command_tests[0].args == ["-c", "print(1)"]
    assert config.global_env_vars[0].value == "1"


@pytest.mark.parametrize(
    "text, kind, mode, go_style",
    [
        ("-rwxr-xr-x", "-", 0o755, False),
        ("drwxrwxrwt", "d", 0o1777, False),
        ("dtrwxrwxrwx", "d", 0o1777, True),
        ("drwx------", "d", 0o700, False),
        ("-rwsr-xr-x", "-", 0o4755, False),
        ("urwxr-xr-x", "-", 0o4755, True),
        ("-rwSr--r--", "-", 0o4644, False),
        ("-rwxr-sr-x", "-", 0o2755, False),
        ("drwxr-xr-T", "d", 0o1754, False),
        ("lrwxrwxrwx", "l", 0o777, False),
        ("Lrwxrwxrwx", "l", 0o777, True),
        ("Dcrw-rw-rw-", "c", 0o666, True),
        ("crw-rw-rw-", "c", 0o666, False),
        ("prw-r--r--", "p", 0o644, False),
    ],
)
def test_permission_strings_in_both_notations(
    text: str, kind: str, mode: int, go_style: bool
) -> None:
    parsed = parse_permissions(text)
    assert (parsed.kind, parsed.mode, parsed.go_style) == (kind, mode, go_style)
    assert format_permissions(kind, mode, go_style) == text


@pytest.mark.parametrize(
    "text", ["rwxr-xr-x", "drwxrwxrwxx", "-rwxr-xr-z", "tdrwxrwxrwx", "x", ""]
)
def test_not_permission_strings(text: str) -> None:
    assert parse_permissions(text) is None
