"""The errors of the container library. Callers decide what they mean: a test
turns EmulationUnavailable into a skip (tests/lib/skips.py), a benchmark
reports it, the structure-test runner marks the platform's command tests
skipped."""

from __future__ import annotations


class ContainerError(RuntimeError):
    """runc, umoci or the container did not do what was asked; the text says what."""


class EmulationUnavailable(ContainerError):
    """This machine cannot run another architecture's binaries; the text says why
    (and what to install)."""
