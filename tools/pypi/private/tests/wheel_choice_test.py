"""wheel_choice: the wheel pip would install on each target, or an error saying what to do."""

from __future__ import annotations

import pytest
from targets import Target, TargetError
from wheel_choice import ANY, File, Published, WheelChoiceError, choose_wheels

TARGETS = [
    Target.parse("linux_x86_64", "3.13", "2.41"),
    Target.parse("linux_aarch64", "3.13", "2.41"),
]
BASE = "https://files.example/"


def published(
    *filenames: str, sdist: str | None = None, marker: str | None = None
) -> Published:
    return Published(
        name="demo",
        version="1.0",
        marker=marker,
        wheels=tuple(File(BASE + f, f"{i:064x}") for i, f in enumerate(filenames)),
        sdist=File(BASE + sdist, "f" * 64) if sdist else None,
    )


def chosen(*filenames: str, **kwargs: str) -> dict[str, str]:
    return {
        k: v.filename
        for k, v in choose_wheels(published(*filenames, **kwargs), TARGETS).items()
    }


def test_newest_manylinux_the_glibc_allows_and_never_musl_windows_or_free_threaded() -> (
    None
):
    assert chosen(
        "demo-1.0-cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "demo-1.0-cp313-cp313-manylinux_2_28_x86_64.whl",
        "demo-1.0-cp313-cp313-manylinux_2_42_x86_64.whl",
        "demo-1.0-cp313-cp313t-manylinux_2_39_x86_64.whl",
        "demo-1.0-cp313-cp313-musllinux_1_2_x86_64.whl",
        "demo-1.0-cp313-cp313-win_amd64.whl",
        "demo-1.0-cp313-cp313-manylinux2014_aarch64.whl",
    ) == {
        "linux_x86_64": "demo-1.0-cp313-cp313-manylinux_2_28_x86_64.whl",
        "linux_aarch64": "demo-1.0-cp313-cp313-manylinux2014_aarch64.whl",
    }


def test_other_pythons_abi3_and_py3_platform_wheels() -> None:
    assert chosen(
        "demo-1.0-cp312-cp312-manylinux_2_17_x86_64.whl",
        "demo-1.0-cp311-abi3-manylinux_2_28_x86_64.whl",
        "demo-1.0-py3-none-manylinux_2_28_aarch64.whl",
    ) == {
        "linux_x86_64": "demo-1.0-cp311-abi3-manylinux_2_28_x86_64.whl",
        "linux_aarch64": "demo-1.0-py3-none-manylinux_2_28_aarch64.whl",
    }


def test_a_pure_wheel_serves_every_platform_without_its_own() -> None:
    assert chosen("demo-1.0-py3-none-any.whl") == {ANY: "demo-1.0-py3-none-any.whl"}
    assert chosen(
        "demo-1.0-py3-none-any.whl",
        "demo-1.0-cp313-cp313-manylinux_2_17_x86_64.whl",
    ) == {
        ANY: "demo-1.0-py3-none-any.whl",
        "linux_x86_64": "demo-1.0-cp313-cp313-manylinux_2_17_x86_64.whl",
    }


def test_only_an_sdist_is_an_error_naming_it_and_the_fix() -> None:
    with pytest.raises(WheelChoiceError) as err:
        chosen(sdist="demo-1.0.tar.gz")
    message = str(err.value)
    assert "demo 1.0 publishes only a source distribution (demo-1.0.tar.gz)" in message
    assert "an older version of it that has wheels" in message


def test_no_wheel_for_one_target_names_the_distribution_and_the_platform() -> None:
    with pytest.raises(WheelChoiceError) as err:
        chosen(
            "demo-1.0-cp313-cp313-manylinux_2_17_x86_64.whl",
            "demo-1.0-cp313-cp313-macosx_11_0_arm64.whl",
        )
    message = str(err.value)
    assert message.startswith(
        "demo 1.0 has no wheel for linux_aarch64 (CPython 3.13, manylinux aarch64, glibc <= 2.41)"
    )
    assert "demo-1.0-cp313-cp313-macosx_11_0_arm64.whl" in message


def test_a_wheel_for_a_newer_glibc_than_the_images_is_no_wheel() -> None:
    with pytest.raises(
        WheelChoiceError, match="no wheel for linux_x86_64 .*glibc <= 2.41"
    ):
        chosen(
            "demo-1.0-cp313-cp313-manylinux_2_42_x86_64.whl",
            "demo-1.0-cp313-cp313-manylinux_2_17_aarch64.whl",
        )


def test_a_target_the_marker_leaves_out_needs_no_wheel() -> None:
    assert chosen(
        "demo-1.0-cp313-cp313-manylinux_2_17_x86_64.whl",
        marker="platform_machine == 'x86_64'",
    ) == {"linux_x86_64": "demo-1.0-cp313-cp313-manylinux_2_17_x86_64.whl"}


def test_target_names() -> None:
    assert Target.parse("linux_aarch64", "3.13", "2.41").machine == "aarch64"
    with pytest.raises(TargetError, match="linux_<machine>"):
        Target.parse("macos_arm64", "3.13", "2.41")
    with pytest.raises(TargetError, match="MAJOR.MINOR"):
        Target.parse("linux_x86_64", "3", "2.41")
