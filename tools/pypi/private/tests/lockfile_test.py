"""lockfile: the lock is a pip requirements file whose comments name each wheel."""

from __future__ import annotations

import pytest
from lockfile import LockFormatError, Pin, parse, render
from packaging.requirements import Requirement
from wheel_choice import File

URL = "https://files.example/packages/"
PINS = [
    Pin("waitress", "3.0.2", None, ("-r requirements.in",),
        {"any": File(URL + "waitress-3.0.2-py3-none-any.whl", "a" * 64)}),
    Pin("orjson", "3.13.0", "sys_platform == 'linux'", ("-r requirements.in", "pydantic"), {
        "linux_x86_64": File(URL + "orjson-3.13.0-cp313-cp313-manylinux_2_17_x86_64.whl", "c" * 64),
        "linux_aarch64": File(URL + "orjson-3.13.0-cp313-cp313-manylinux_2_17_aarch64.whl", "b" * 64),
    }),
]  # fmt: skip


def test_render_then_parse_gives_the_pins_back() -> None:
    text = render(["a header"], PINS)
    assert parse(text) == sorted(PINS, key=lambda p: p.name)


def test_the_text_is_a_hashed_requirements_file() -> None:
    text = render([], PINS)
    assert text.splitlines()[:4] == [
        "orjson==3.13.0 ; sys_platform == 'linux' \\",
        f"    --hash=sha256:{'b' * 64} \\",
        f"    --hash=sha256:{'c' * 64}",
        "    # via -r requirements.in, pydantic",
    ]
    requirement = Requirement(text.splitlines()[0].removesuffix(" \\"))
    assert str(requirement.specifier) == "==3.13.0"
    assert (
        f"    # wheel linux_aarch64: {URL}orjson-3.13.0-cp313-cp313-manylinux_2_17_aarch64.whl#sha256={'b' * 64}"
        in text
    )


def test_a_hash_without_its_wheel_line_is_refused_naming_the_line() -> None:
    lines = render([], PINS).splitlines()
    edited = [
        line.replace("c" * 64, "d" * 64) if line.startswith("    --hash") else line
        for line in lines
    ]
    with pytest.raises(
        LockFormatError, match=r"^requirements_lock.txt:1: orjson: the --hash values"
    ):
        parse("\n".join(edited))


def test_a_malformed_wheel_line_is_refused() -> None:
    text = render([], PINS).replace("#sha256=" + "a" * 64, "")
    with pytest.raises(
        LockFormatError, match="expected '# wheel PLATFORM: URL#sha256=HASH'"
    ):
        parse(text, "lock.txt")
