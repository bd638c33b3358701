"""container-structure-test configs (schemaVersion 2.0.0 or 1.0.0), read strictly.

The documented schema, with the field names and defaults of the original
tool, but every mistake is an error naming the file, line and place: an
unknown or misspelt key (the original ignores it), a duplicate key, a value of
the wrong type, a regex that does not compile, and fields this
implementation does not support (`setup`, `teardown`, `containerRunOptions`).
Scalars read as strings keep their source text, as the original's YAML
decoder does (`value: 8080` is "8080", `value: 1.10` is "1.10").

schemaVersion "1.0.0" is read as the original reads it (its pkg/types/v1):
a command test's `command` is the whole argv, a list (2.0.0: a string, plus
`args`); a file existence test has name, path, permissions and shouldExist,
which defaults to true; there is no metadataTest. A 2.0.0-only key in a 1.0.0
config is an error that says which version has it.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

SCHEMA_VERSION = "2.0.0"
OLD_SCHEMA_VERSION = (
    "1.0.0"  # Still accepted by the original (distroless's configs use it).
)
SCHEMA_VERSIONS = (SCHEMA_VERSION, OLD_SCHEMA_VERSION)
EXECUTABLE_BY = ("owner", "group", "other", "any")

_TAG_NULL = "tag:yaml.org,2002:null"
_TAG_BOOL = "tag:yaml.org,2002:bool"
_TAG_INT = "tag:yaml.org,2002:int"
_TAG_STR = "tag:yaml.org,2002:str"


class ConfigError(Exception):
    """One or more problems with config files; str() lists every one, a line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


# ---------------------------------------------------------------------------
# What a config holds.


@dataclass(frozen=True)
class EnvVar:
    key: str
    value: str = ""
    is_regex: bool = False


@dataclass(frozen=True)
class Permissions:
    """An expected permission string, in `ls -l` form (drwxrwxrwt) or Go's (dtrwxrwxrwx)."""

    text: str
    kind: str  # "-", "d", "l", "c", "b", "p", "s"
    mode: int  # 0o7777 bits.
    go_style: (
        bool  # Written the way Go's os.FileMode prints (as the original tool compares).
    )


@dataclass(frozen=True)
class FileExistenceTest:
    name: str
    path: str
    should_exist: bool
    permissions: Permissions | None = None
    uid: int | None = None
    gid: int | None = None
    executable_by: str | None = None


@dataclass(frozen=True)
class FileContentTest:
    name: str
    path: str
    expected_contents: list[re.Pattern[str]] = field(default_factory=list)
    excluded_contents: list[re.Pattern[str]] = field(default_factory=list)


@dataclass(frozen=True)
class MetadataTest:
    env_vars: list[EnvVar] = field(default_factory=list)
    unbound_env_vars: list[str] = field(default_factory=list)
    labels: list[EnvVar] = field(default_factory=list)
    entrypoint: list[str] | None = None  # None: not checked; []: must be empty.
    cmd: list[str] | None = None
    exposed_ports: list[str] = field(default_factory=list)
    unexposed_ports: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    unmounted_volumes: list[str] = field(default_factory=list)
    workdir: str = ""  # "": not checked (as in the original).
    user: str = ""


@dataclass(frozen=True)
class CommandTest:
    name: str
    command: str
    args: list[str] = field(default_factory=list)
    env_vars: list[EnvVar] = field(default_factory=list)
    expected_output: list[re.Pattern[str]] = field(default_factory=list)
    excluded_output: list[re.Pattern[str]] = field(default_factory=list)
    expected_error: list[re.Pattern[str]] = field(default_factory=list)
    excluded_error: list[re.Pattern[str]] = field(default_factory=list)
    exit_code: int = 0


@dataclass(frozen=True)
class LicenseTest:
    debian: bool
    files: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Config:
    path: Path
    global_env_vars: list[EnvVar] = field(default_factory=list)
    file_existence_tests: list[FileExistenceTest] = field(default_factory=list)
    file_content_tests: list[FileContentTest] = field(default_factory=list)
    metadata_test: MetadataTest | None = None
    license_tests: list[LicenseTest] = field(default_factory=list)
    command_tests: list[CommandTest] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.name


# ---------------------------------------------------------------------------
# YAML, kept with its line numbers and the source text of every scalar.


class _Scalar:
    def __init__(self, node: yaml.ScalarNode) -> None:
        self.node = node
        self.text: str = node.value
        self.tag: str = node.tag
        self.line = node.start_mark.line + 1


class _Mapping(dict):
    line: int
    key_lines: dict[str, int]


class _Sequence(list):
    line: int


_CONSTRUCTOR = yaml.SafeLoader("")


def _convert(node: yaml.Node, problems: list[tuple[int, str]], file: str) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return _Scalar(node)
    if isinstance(node, yaml.SequenceNode):
        seq = _Sequence(_convert(item, problems, file) for item in node.value)
        seq.line = node.start_mark.line + 1
        return seq
    assert isinstance(node, yaml.MappingNode), node
    own = sum(1 for key, _ in node.value if key.tag != "tag:yaml.org,2002:merge")
    _CONSTRUCTOR.flatten_mapping(
        node
    )  # YAML merge keys (<<): merged pairs first, then the node's own.
    merged = len(node.value) - own
    mapping = _Mapping()
    mapping.line = node.start_mark.line + 1
    mapping.key_lines = {}
    own_keys: set[str] = set()
    for n, (key_node, value_node) in enumerate(node.value):
        line = key_node.start_mark.line + 1
        if not isinstance(key_node, yaml.ScalarNode):
            problems.append((line, f"{file}:{line}: a key must be a plain string"))
            continue
        key = key_node.value
        if n >= merged:
            if key in own_keys:
                problems.append(
                    (
                        line,
                        f"{file}:{line}: duplicate key {key!r} (first on line {mapping.key_lines[key]})",
                    )
                )
                continue
            own_keys.add(key)
        mapping[key] = _convert(value_node, problems, file)
        mapping.key_lines[key] = line
    return mapping


def _load_yaml(path: Path) -> tuple[Any, list[tuple[int, str]]]:
    """The document as _Mapping, _Sequence and _Scalar, and (line, problem) pairs."""
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        return None, [(0, f"{file}: cannot read: {e}")]
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        return None, [(0, f"{file}: not valid YAML: {e}")]
    if node is None:
        return None, [(0, f"{file}: empty config")]
    problems: list[tuple[int, str]] = []
    return _convert(node, problems, file), problems


# ---------------------------------------------------------------------------
# Reading one mapping: each field read once; what is left over is unknown.

_UNSUPPORTED = {
    "setup": "setup commands are not supported: the image runs with a read-only root filesystem "
    "and is never committed; build what the test needs into the image, or test it with a command",
    "teardown": "teardown commands are not supported: every command runs in a fresh container "
    "that is deleted afterwards",
    "containerRunOptions": "containerRunOptions is not supported: commands run as the image's user, "
    "with no capabilities, a read-only root and no mounts, as the image runs in production",
}


class _Fields:
    def __init__(
        self, value: Any, where: str, what: str, reader: _Reader, line: int
    ) -> None:
        self.reader = reader
        self.where = where
        self.what = what
        self.read: list[str] = []
        self.newer_keys: list[str] = (
            []
        )  # Reported by newer(): neither known nor unknown.
        self.valid = isinstance(value, _Mapping)
        if not self.valid:
            reader.problem(
                line, where, f"expected a mapping ({what}), got {_describe(value)}"
            )
            value = _Mapping()
            value.line, value.key_lines = line, {}
        self.mapping = value

    def line(self, key: str | None = None) -> int:
        return (
            self.mapping.key_lines.get(key, self.mapping.line)
            if key
            else self.mapping.line
        )

    def get(
        self,
        key: str,
        convert: Callable[[Any, str, int], Any],
        default: Any = None,
        required: bool = False,
    ) -> Any:
        self.read.append(key)
        if key not in self.mapping or _is_null(self.mapping[key]):
            if required and self.valid:
                self.reader.problem(
                    self.line(), self.where, f"missing required key {key!r}"
                )
            return default
        return convert(self.mapping[key], f"{self.where}.{key}", self.line(key))

    def newer(self, *keys: str) -> None:
        """Keys of schemaVersion 2.0.0 only, in a 1.0.0 config: an error saying so."""
        for key in keys:
            self.newer_keys.append(key)
            if key in self.mapping:
                self.reader.problem(
                    self.line(key),
                    self.where,
                    f"{key!r} is a schemaVersion {SCHEMA_VERSION} key; this config is"
                    f" {OLD_SCHEMA_VERSION} (set schemaVersion: {SCHEMA_VERSION!r} to use it)",
                )

    def unsupported(self, *keys: str) -> None:
        for key in keys:
            self.read.append(key)
            if key in self.mapping and not _is_empty(self.mapping[key]):
                self.reader.problem(self.line(key), self.where, _UNSUPPORTED[key])

    def done(self) -> None:
        for key in self.mapping:
            if key in self.read or key in self.newer_keys:
                continue
            hint = difflib.get_close_matches(key, self.read, n=1, cutoff=0.6)
            suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
            self.reader.problem(
                self.line(key),
                self.where,
                f"unknown key {key!r}{suggestion}; {self.what} keys are: {', '.join(self.read)}",
            )


def _is_null(value: Any) -> bool:
    return isinstance(value, _Scalar) and value.tag == _TAG_NULL


def _is_empty(value: Any) -> bool:
    return _is_null(value) or (isinstance(value, list) and not value)


def _describe(value: Any) -> str:
    if isinstance(value, _Scalar):
        kind = {
            _TAG_NULL: "null",
            _TAG_BOOL: "a boolean",
            _TAG_INT: "an integer",
            _TAG_STR: "a string",
        }.get(value.tag, "a scalar")
        return f"{kind} ({value.text!r})"
    return "a list" if isinstance(value, list) else "a mapping"


class _Reader:
    """Turns one loaded YAML document into a Config, collecting every problem."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[tuple[int, str]] = []
        self.version = SCHEMA_VERSION  # The config's, once read.

    @property
    def v1(self) -> bool:
        return self.version == OLD_SCHEMA_VERSION

    def problem(self, line: int, where: str, message: str) -> None:
        self.problems.append((line, f"{self.file}:{line}: {where}: {message}"))

    def fields(self, value: Any, where: str, what: str, line: int) -> _Fields:
        return _Fields(value, where, what, self, line)

    # -- scalars --

    def string(self, value: Any, where: str, line: int) -> str:
        if isinstance(value, _Scalar) and value.tag != _TAG_NULL:
            return value.text
        self.problem(line, where, f"expected a string, got {_describe(value)}")
        return ""

    def nonempty(self, value: Any, where: str, line: int) -> str:
        text = self.string(value, where, line)
        if not text:
            self.problem(line, where, "must not be empty")
        return text

    def path(self, value: Any, where: str, line: int) -> str:
        text = self.string(value, where, line)
        if not text.startswith("/"):
            self.problem(line, where, f"{text!r} must be an absolute path")
        return text

    def integer(self, value: Any, where: str, line: int) -> int:
        if isinstance(value, _Scalar) and value.tag == _TAG_INT:
            return _CONSTRUCTOR.construct_yaml_int(value.node)
        self.problem(line, where, f"expected an integer, got {_describe(value)}")
        return 0

    def boolean(self, value: Any, where: str, line: int) -> bool:
        if isinstance(value, _Scalar) and value.tag == _TAG_BOOL:
            return _CONSTRUCTOR.construct_yaml_bool(value.node)
        self.problem(line, where, f"expected true or false, got {_describe(value)}")
        return False

    def regex(self, value: Any, where: str, line: int) -> re.Pattern[str]:
        text = self.string(value, where, line)
        try:
            return re.compile(text)
        except re.error as e:
            self.problem(line, where, f"{text!r} is not a regular expression: {e}")
            return re.compile(re.escape(text))

    def permissions(self, value: Any, where: str, line: int) -> Permissions | None:
        text = self.string(value, where, line)
        parsed = parse_permissions(text)
        if parsed is None:
            self.problem(
                line,
                where,
                f"{text!r} is not a permission string; expected ls -l form like "
                "'-rwxr-xr-x' or 'drwxrwxrwt' (Go's 'dtrwxrwxrwx' also works)",
            )
        return parsed

    def argv(self, value: Any, where: str, line: int) -> list[str]:
        """A 1.0.0 command: a non-empty list of strings, the program first."""
        if isinstance(value, _Scalar) and value.tag == _TAG_STR:
            self.problem(
                line,
                where,
                f"expected a list (the program and its arguments), got {_describe(value)};"
                f" in schemaVersion {OLD_SCHEMA_VERSION} `command` is the whole argv,"
                f' e.g. command: ["/usr/bin/python3", "--version"]',
            )
            return [value.text]
        argv = self.list_of(self.string)(value, where, line)
        if not argv or not argv[0]:
            self.problem(line, where, "must name the program to run")
            return [""]
        return argv

    def one_of(self, choices: tuple[str, ...]) -> Callable[[Any, str, int], str]:
        def convert(value: Any, where: str, line: int) -> str:
            text = self.string(value, where, line)
            if text not in choices:
                self.problem(
                    line, where, f"{text!r} is not one of {', '.join(choices)}"
                )
            return text

        return convert

    # -- lists --

    def list_of(
        self, convert: Callable[[Any, str, int], Any]
    ) -> Callable[[Any, str, int], list[Any]]:
        def convert_list(value: Any, where: str, line: int) -> list[Any]:
            if not isinstance(value, _Sequence):
                self.problem(line, where, f"expected a list, got {_describe(value)}")
                return []
            return [
                convert(
                    item, f"{where}[{n}]", item.line if hasattr(item, "line") else line
                )
                for n, item in enumerate(value)
            ]

        return convert_list

    def env_var(self, value: Any, where: str, line: int, what: str = "envVars entry", value_allowed: bool = True,
                regex_allowed: bool = True) -> EnvVar:  # fmt: skip
        f = self.fields(value, where, what, line)
        key = f.get("key", self.nonempty, "", required=True)
        text = f.get("value", self.string, "", required=True) if value_allowed else ""
        is_regex = f.get("isRegex", self.boolean, False) if regex_allowed else False
        f.done()
        if is_regex:
            self.regex(_scalar_of(text), f"{where}.value", f.line("value"))
        return EnvVar(key, text, is_regex)

    def command_env_var(self, value: Any, where: str, line: int) -> EnvVar:
        return self.env_var(value, where, line, value_allowed=True, regex_allowed=False)

    def unbound_env_var(self, value: Any, where: str, line: int) -> str:
        return self.env_var(
            value,
            where,
            line,
            "unboundEnvVars entry",
            value_allowed=False,
            regex_allowed=False,
        ).key

    def label(self, value: Any, where: str, line: int) -> EnvVar:
        return self.env_var(value, where, line, "labels entry")

    # -- tests --

    def file_existence_test(
        self, value: Any, where: str, line: int
    ) -> FileExistenceTest:
        f = self.fields(value, where, "fileExistenceTests entry", line)
        name = f.get("name", self.nonempty, "", required=True)
        path = f.get("path", self.path, "/", required=True)
        if self.v1:  # shouldExist defaults to true, as the original's v1 reads it.
            test = FileExistenceTest(
                name=name,
                path=path,
                should_exist=f.get("shouldExist", self.boolean, True),
                permissions=f.get("permissions", self.permissions),
            )
            f.newer("uid", "gid", "isExecutableBy")
            f.done()
            return test
        test = FileExistenceTest(
            name=name,
            path=path,
            should_exist=f.get("shouldExist", self.boolean, False, required=True),
            permissions=f.get("permissions", self.permissions),
            uid=f.get("uid", self.integer),
            gid=f.get("gid", self.integer),
            executable_by=f.get("isExecutableBy", self.one_of(EXECUTABLE_BY)),
        )
        f.done()
        should_exist = f.mapping.get("shouldExist")
        if (
            isinstance(should_exist, _Scalar)
            and should_exist.tag == _TAG_BOOL
            and not test.should_exist
        ):
            for key in ("permissions", "uid", "gid", "isExecutableBy"):
                if key in f.mapping and not _is_null(f.mapping[key]):
                    self.problem(f.line(key), where, f"{key} needs shouldExist: true")
        return test

    def file_content_test(self, value: Any, where: str, line: int) -> FileContentTest:
        f = self.fields(value, where, "fileContentTests entry", line)
        test = FileContentTest(
            name=f.get("name", self.nonempty, "", required=True),
            path=f.get("path", self.path, "/", required=True),
            expected_contents=f.get("expectedContents", self.list_of(self.regex), []),
            excluded_contents=f.get("excludedContents", self.list_of(self.regex), []),
        )
        f.done()
        return test

    def metadata_test(self, value: Any, where: str, line: int) -> MetadataTest:
        f = self.fields(value, where, "metadataTest", line)
        strings = self.list_of(self.string)
        test = MetadataTest(
            env_vars=f.get("envVars", self.list_of(self.env_var), []),
            unbound_env_vars=f.get(
                "unboundEnvVars", self.list_of(self.unbound_env_var), []
            ),
            labels=f.get("labels", self.list_of(self.label), []),
            entrypoint=f.get("entrypoint", strings),
            cmd=f.get("cmd", strings),
            exposed_ports=f.get("exposedPorts", self.list_of(self.port), []),
            unexposed_ports=f.get("unexposedPorts", self.list_of(self.port), []),
            volumes=f.get("volumes", strings, []),
            unmounted_volumes=f.get("unmountedVolumes", strings, []),
            workdir=f.get("workdir", self.string, ""),
            user=f.get("user", self.string, ""),
        )
        f.done()
        return test

    def port(self, value: Any, where: str, line: int) -> str:
        text = self.string(value, where, line)
        if not re.fullmatch(r"[0-9]{1,5}(/(tcp|udp|sctp))?", text):
            self.problem(
                line, where, f"{text!r} is not a port; expected N or N/tcp, N/udp"
            )
        return text

    def command_test(self, value: Any, where: str, line: int) -> CommandTest:
        f = self.fields(value, where, "commandTests entry", line)
        regexes = self.list_of(self.regex)
        name = f.get("name", self.nonempty, "", required=True)
        if self.v1:  # The whole argv in `command`; `args` came with 2.0.0.
            argv = f.get("command", self.argv, [""], required=True)
            command, args = argv[0], argv[1:]
            f.newer("args")
        else:
            command = f.get("command", self.nonempty, "", required=True)
            args = f.get("args", self.list_of(self.string), [])
        test = CommandTest(
            name=name,
            command=command,
            args=args,
            env_vars=f.get("envVars", self.list_of(self.command_env_var), []),
            expected_output=f.get("expectedOutput", regexes, []),
            excluded_output=f.get("excludedOutput", regexes, []),
            expected_error=f.get("expectedError", regexes, []),
            excluded_error=f.get("excludedError", regexes, []),
            exit_code=f.get("exitCode", self.integer, 0),
        )
        f.unsupported("setup", "teardown")
        f.done()
        return test

    def license_test(self, value: Any, where: str, line: int) -> LicenseTest:
        f = self.fields(value, where, "licenseTests entry", line)
        test = LicenseTest(
            debian=f.get("debian", self.boolean, False, required=True),
            files=f.get("files", self.list_of(self.path), []),
        )
        f.done()
        return test

    def config(self, document: Any, path: Path) -> Config:
        f = self.fields(document, "config", "top-level", 1)
        version = f.get("schemaVersion", self.string, None, required=True)
        if version is not None and version not in SCHEMA_VERSIONS:
            self.problem(f.line("schemaVersion"), "config.schemaVersion",
                         f"{version!r} is not supported; it must be {SCHEMA_VERSION!r}"
                         f" (or {OLD_SCHEMA_VERSION!r}, the older schema)")  # fmt: skip
        self.version = version if version in SCHEMA_VERSIONS else SCHEMA_VERSION
        config = Config(
            path=path,
            global_env_vars=f.get(
                "globalEnvVars", self.list_of(self.command_env_var), []
            ),
            command_tests=f.get("commandTests", self.list_of(self.command_test), []),
            file_existence_tests=f.get(
                "fileExistenceTests", self.list_of(self.file_existence_test), []
            ),
            file_content_tests=f.get(
                "fileContentTests", self.list_of(self.file_content_test), []
            ),
            metadata_test=(
                None if self.v1 else f.get("metadataTest", self.metadata_test)
            ),
            license_tests=f.get("licenseTests", self.list_of(self.license_test), []),
        )
        f.unsupported("containerRunOptions")
        if self.v1:
            f.newer("metadataTest")
        f.done()
        return config


def _scalar_of(text: str) -> Any:
    return _Scalar(
        yaml.ScalarNode(_TAG_STR, text, start_mark=yaml.Mark("", 0, 0, 0, None, None))
    )


# ---------------------------------------------------------------------------
# Permission strings.

_LS = re.compile(
    r"([-dlcbps])([r-])([w-])([xsS-])([r-])([w-])([xsS-])([r-])([w-])([xtT-])"
)
# Go's os.FileMode.String(): type and special letters in this order, then rwxrwxrwx.
_GO_LETTERS = "dalTLDpSugct?"
_GO = re.compile(r"([dalTLDpSugct?]+|-)([r-][w-][x-][r-][w-][x-][r-][w-][x-])")


def _rwx(text: str) -> int:
    return sum(1 << (8 - i) for i, c in enumerate(text) if c != "-")


def _in_go_order(letters: str) -> bool:
    return letters == "".join(sorted(set(letters), key=_GO_LETTERS.index))


def parse_permissions(text: str) -> Permissions | None:
    """ls -l form ("drwxrwxrwt", "-rwsr-xr-x") or Go's FileMode form ("dtrwxrwxrwx", "urwxr-xr-x")."""
    if m := _LS.fullmatch(text):
        kind = m.group(1)
        chars = m.groups()[1:]
        mode = _rwx(
            "".join("x" if c in "xst" else "-" if c in "-ST" else c for c in chars)
        )
        mode |= 0o4000 if chars[2] in "sS" else 0
        mode |= 0o2000 if chars[5] in "sS" else 0
        mode |= 0o1000 if chars[8] in "tT" else 0
        return Permissions(text, kind, mode, go_style=False)
    if (m := _GO.fullmatch(text)) and _in_go_order(
        letters := m.group(1).replace("-", "")
    ):
        kind = "-"
        for letter, k in (("d", "d"), ("L", "l"), ("p", "p"), ("S", "s")):
            if letter in letters:
                kind = k
        if "D" in letters:
            kind = "c" if "c" in letters else "b"
        mode = _rwx(m.group(2))
        mode |= (
            (0o4000 if "u" in letters else 0)
            | (0o2000 if "g" in letters else 0)
            | (0o1000 if "t" in letters else 0)
        )
        return Permissions(text, kind, mode, go_style=True)
    return None


def format_permissions(kind: str, mode: int, go_style: bool) -> str:
    """The inverse of parse_permissions, in either notation."""
    rwx = "".join(
        c if mode & (1 << (8 - i)) else "-" for i, c in enumerate("rwxrwxrwx")
    )
    if go_style:
        letters = {"d": "d", "l": "L", "p": "p", "s": "S", "c": "Dc", "b": "D"}.get(
            kind, ""
        )
        letters += (
            ("u" if mode & 0o4000 else "")
            + ("g" if mode & 0o2000 else "")
            + ("t" if mode & 0o1000 else "")
        )
        letters = "".join(sorted(letters, key=_GO_LETTERS.index))
        return (letters or "-") + rwx
    chars = list(rwx)
    for index, bit, on in ((2, 0o4000, "s"), (5, 0o2000, "s"), (8, 0o1000, "t")):
        if mode & bit:
            chars[index] = on if chars[index] == "x" else on.upper()
    return kind + "".join(chars)


# ---------------------------------------------------------------------------


def load(paths: list[Path]) -> list[Config]:
    """Every config, or ConfigError listing every problem in all of them."""
    configs, problems = [], []
    for path in paths:
        document, found = _load_yaml(path)
        if document is not None:
            reader = _Reader(str(path))
            configs.append(reader.config(document, path))
            found += reader.problems
        problems += [message for _, message in sorted(found, key=lambda p: p[0])]
    if problems:
        raise ConfigError(problems)
    return configs
