"""drift: what differs between the lock and what it should be, by distribution."""

from __future__ import annotations

from drift import differences, inconsistencies, requirements
from lockfile import Pin
from targets import Target
from wheel_choice import File

TARGETS = [
    Target.parse("linux_x86_64", "3.13", "2.41"),
    Target.parse("linux_aarch64", "3.13", "2.41"),
]
ANY = {"any": File("https://x/waitress-3.0.2-py3-none-any.whl", "a" * 64)}
X86 = {
    "linux_x86_64": File(
        "https://x/orjson-3.13.0-cp313-cp313-manylinux_2_17_x86_64.whl", "c" * 64
    )
}
ARM = {
    "linux_aarch64": File(
        "https://x/orjson-3.13.0-cp313-cp313-manylinux_2_17_aarch64.whl", "b" * 64
    )
}


def test_differences_name_each_distribution_and_what_changed() -> None:
    old = [
        Pin("waitress", "3.0.2", None, ("-r requirements.in",), ANY),
        Pin("orjson", "3.13.0", None, ("-r requirements.in",), {**X86, **ARM}),
        Pin("gone", "1.0", None, (), ANY),
    ]
    new = [
        Pin("waitress", "3.0.3", None, ("-r requirements.in",), ANY),
        Pin("orjson", "3.13.0", None, ("-r requirements.in",), X86),
        Pin("pydantic", "2.14.4", None, ("-r requirements.in",), ANY),
    ]
    assert differences(old, new) == [
        "gone: the lock pins 1.0; no longer needed",
        "orjson: wheel for linux_aarch64: the lock has "
        "orjson-3.13.0-cp313-cp313-manylinux_2_17_aarch64.whl, now none",
        "pydantic: not in the lock; the resolution adds 2.14.4",
        "waitress: the lock pins 3.0.2, the resolution gives 3.0.3",
    ]
    assert differences(old, old) == []


def test_requirements_in_against_the_lock_offline() -> None:
    wanted = requirements(
        "waitress==3.0.3  # runtime\norjson\nprometheus-client\ncolorama; sys_platform == 'win32'\n"
    )
    pins = [
        Pin("waitress", "3.0.2", None, ("-r requirements.in",), ANY),
        Pin("orjson", "3.13.0", None, ("-r requirements.in",), X86),
        Pin("black", "26.1", None, ("-r requirements.in",), ANY),
    ]
    assert inconsistencies(wanted, pins, TARGETS) == [
        "waitress: requirements.in asks for waitress==3.0.3; the lock pins 3.0.2",
        "prometheus-client: requirements.in names it (prometheus-client); the lock does not pin it",
        "black: pinned for requirements.in, which no longer names it",
        "orjson 3.13.0: the lock has no wheel for linux_aarch64",
    ]


def test_a_consistent_lock_has_no_inconsistencies() -> None:
    wanted = requirements("waitress==3.0.2\norjson>=3\n")
    pins = [
        Pin("waitress", "3.0.2", None, ("-r requirements.in",), ANY),
        Pin("orjson", "3.13.0", None, ("-r requirements.in",), {**X86, **ARM}),
    ]
    assert inconsistencies(wanted, pins, TARGETS) == []
