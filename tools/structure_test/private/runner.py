"""Runs container-structure-test configs against an OCI image layout.

    runner.py --image LAYOUT [--platform linux/amd64]... [--command-timeout S] CONFIG...

LAYOUT holds one image or an index; every platform in it is tested unless
--platform picks some. File, metadata and license tests read the layout
directly (no container runtime); command tests run each command in a
hardened runc container of the platform's image (see command_runtime.py).

The output reads like the original tool's: `=== RUN: <test>`, `--- PASS` or
`--- FAIL` with `Error:` lines, then `Passes: N  Failures: M  Total tests: T`.
With XML_OUTPUT_FILE set (bazel test), a JUnit report is written there too.

Exit status: 0 every test passed (or was skipped), 1 a test failed, 2 a config
or the layout is invalid.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TextIO

import checks
import command_runtime
from checks import Result
from command_runtime import Container, Opener, Unavailable
from rootfs import Image, ImageRef, Layout, LayoutError, Platform
from schema import Config, ConfigError, load

BANNER = 50
OUTPUT_LIMIT = 4000  # Characters of a failed command's stdout/stderr shown.


def _banner(title: str) -> list[str]:
    middle = f" {title} ".center(max(BANNER, len(title) + 14), "=")
    return ["=" * len(middle), middle, "=" * len(middle)]


class Report:
    """Prints results as they come, and keeps them for the summary and JUnit."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.suites: list[tuple[str, list[Result]]] = []

    def print(self, *lines: str) -> None:
        for line in lines:
            print(line, file=self.out)
        self.out.flush()

    def suite(self, config: Config, platform: Platform) -> None:
        title = f"Test file: {config.name} ({platform})"
        self.suites.append((title, []))
        self.print(*_banner(title))

    def add(self, result: Result) -> None:
        self.suites[-1][1].append(result)
        self.print(f"=== RUN: {result.name}")
        if result.skipped:
            self.print("--- SKIP", f"Reason: {result.skipped}")
            return
        self.print("--- PASS" if result.passed else "--- FAIL")
        if result.duration:
            self.print(f"duration: {result.duration:.2f}s")
        self.print(*(f"Error: {error}" for error in result.errors))
        if result.errors:
            for stream, text in (("stdout", result.stdout), ("stderr", result.stderr)):
                if text:
                    shown = (
                        text
                        if len(text) <= OUTPUT_LIMIT
                        else text[:OUTPUT_LIMIT] + "\n[...]"
                    )
                    self.print(f"{stream}: {shown.rstrip()}")

    @property
    def results(self) -> list[Result]:
        return [r for _, results in self.suites for r in results]

    def summary(self) -> bool:
        """Prints the totals; True if nothing failed."""
        results = self.results
        passes = sum(r.passed for r in results)
        skipped = [r for r in results if r.skipped]
        failures = len(results) - passes - len(skipped)
        self.print(
            "",
            *_banner("RESULTS"),
            f"Passes: {passes}  Failures: {failures}  Total tests: {len(results)}",
        )
        if skipped:
            reasons = sorted({r.skipped for r in skipped})
            self.print(f"Skipped: {len(skipped)} ({'; '.join(reasons)})")
        self.print("", "PASS" if not failures else "FAIL")
        return not failures

    def write_junit(self, path: Path) -> None:
        root = ET.Element("testsuites")
        for title, results in self.suites:
            suite = ET.SubElement(
                root, "testsuite", name=title, tests=str(len(results))
            )
            suite.set("failures", str(sum(bool(r.errors) for r in results)))
            suite.set("skipped", str(sum(bool(r.skipped) for r in results)))
            for result in results:
                case = ET.SubElement(
                    suite, "testcase", name=result.name, classname=title
                )
                case.set("time", f"{result.duration:.3f}")
                if result.skipped:
                    ET.SubElement(case, "skipped", message=result.skipped)
                elif result.errors:
                    failure = ET.SubElement(case, "failure", message=result.errors[0])
                    failure.text = "\n".join(result.errors)
                if result.stdout:
                    ET.SubElement(case, "system-out").text = result.stdout
                if result.stderr:
                    ET.SubElement(case, "system-err").text = result.stderr
        ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


def select(refs: list[ImageRef], wanted: list[Platform]) -> list[ImageRef]:
    """The images of the wanted platforms (all when none are named), or ValueError."""
    if not wanted:
        return refs
    selected: list[ImageRef] = []
    for platform in wanted:
        matches = [r for r in refs if r.platform.matches(platform)]
        if not matches:
            have = ", ".join(str(r.platform) for r in refs)
            raise ValueError(f"the image has no {platform} manifest; it has: {have}")
        selected += [m for m in matches if m not in selected]
    return selected


class _CannotStart(Exception):
    """umoci or runc failed to make the platform's container."""


class _Commands:
    """Opens a platform's container the first time a command test needs it, once."""

    def __init__(
        self, layout: Path, ref: ImageRef, opener: Opener, stack: contextlib.ExitStack
    ) -> None:
        self.layout, self.ref, self.opener, self.stack = layout, ref, opener, stack
        self.container: Container | None = None
        self.failure: Exception | None = (
            None  # Unavailable (skip) or _CannotStart (fail), kept.
        )

    def get(self) -> Container:
        if self.failure is not None:
            raise self.failure
        if self.container is None:
            try:
                self.container = self._open()
            except Unavailable as e:
                self.failure = e
                raise
            except Exception as e:
                self.failure = _CannotStart(str(e))
                raise self.failure from e
        return self.container

    def _open(self) -> Container:
        if not self.ref.ref:
            raise LayoutError(
                f"command tests need the {self.ref.platform} manifest named in index.json "
                "(org.opencontainers.image.ref.name) so umoci can unpack it"
            )
        scratch = Path(
            tempfile.mkdtemp(
                prefix="structure-test-", dir=os.environ.get("TEST_TMPDIR")
            )
        )
        self.stack.callback(shutil.rmtree, scratch, ignore_errors=True)
        return self.stack.enter_context(
            self.opener(
                self.layout, self.ref.ref, self.ref.platform, scratch / "bundle"
            )
        )


def run_config(
    config: Config, image: Image, commands: _Commands, timeout: float, report: Report
) -> None:
    if config.metadata_test is not None:
        report.add(checks.metadata(config.metadata_test, image))
    for test in config.file_existence_tests:
        report.add(checks.file_existence(test, image))
    for test in config.file_content_tests:
        report.add(checks.file_content(test, image))
    for test in config.license_tests:
        report.add(checks.licenses(test, image))
    for test in config.command_tests:
        env = checks.command_env(image, config.global_env_vars, test.env_vars)
        try:
            container = commands.get()
        except Unavailable as e:
            report.add(Result(f"Command Test: {test.name}", skipped=str(e)))
            continue
        except _CannotStart as e:
            report.add(
                Result(
                    f"Command Test: {test.name}",
                    errors=[f"cannot start a container: {e}"],
                )
            )
            continue
        report.add(checks.command(test, env, container, timeout))


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--image", type=Path, required=True, help="OCI image layout directory"
    )
    p.add_argument("--platform", action="append", default=[], type=Platform.parse,
                   help="OS/ARCH[/VARIANT] to test (repeatable); default: every platform of the image")  # fmt: skip
    p.add_argument(
        "--command-timeout", type=float, default=120.0, help="seconds per command test"
    )
    p.add_argument(
        "configs",
        nargs="+",
        type=Path,
        metavar="CONFIG",
        help="container-structure-test YAML or JSON",
    )
    return p


def main(argv: list[str] | None = None, opener: Opener = command_runtime.open_container,
         out: TextIO | None = None, junit: Path | None = None) -> int:  # fmt: skip
    """Runs the tests; prints to `out` (stdout), and writes a JUnit report to `junit` if given."""
    args = _parser().parse_args(argv)
    out = out or sys.stdout
    try:
        configs = load(args.configs)
    except ConfigError as e:
        print(
            "Error: invalid structure test config:",
            *(f"  {p}" for p in e.problems),
            sep="\n",
            file=out,
        )
        return 2
    report = Report(out)
    try:
        layout = Layout(args.image)
        refs = select(layout.images(), args.platform)
        for ref in refs:
            image = layout.load(ref)
            with contextlib.ExitStack() as stack:
                commands = _Commands(args.image, ref, opener, stack)
                for config in configs:
                    report.suite(config, ref.platform)
                    run_config(config, image, commands, args.command_timeout, report)
    except (LayoutError, ValueError) as e:
        print(f"Error: {args.image}: {e}", file=out)
        return 2
    passed = report.summary()
    if junit:
        report.write_junit(junit)
    return 0 if passed else 1


if __name__ == "__main__":
    # Under `bazel test`, Bazel reads the report from XML_OUTPUT_FILE.
    sys.exit(
        main(
            junit=(
                Path(os.environ["XML_OUTPUT_FILE"])
                if os.environ.get("XML_OUTPUT_FILE")
                else None
            )
        )
    )
