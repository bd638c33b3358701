"""Resolves the manifest's package sets for one architecture, as apt would.

One candidate per package name (the highest version of all suites);
Depends and Pre-Depends are followed, alternatives and virtual packages
chosen as apt does for a fresh install, excluded packages skipped with
their reason.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections import deque
from collections.abc import Iterable

from archive import Package
from manifest import PackageSet
from relations import Atom, format_alternatives, parse_relations
from resolve_error import ResolveError
from versions import compare_versions, version_satisfies

# Order of Priority values, most important first: among several providers
# of a virtual package the most important wins, as apt prefers it too.
PRIORITY_RANK = {
    "required": 0,
    "important": 1,
    "standard": 2,
    "optional": 3,
    "extra": 4,
}


class Index:
    """The installable candidates for one architecture: for each name the
    highest version of all suites, and who provides which virtual name."""

    def __init__(self, packages: Iterable[Package]) -> None:
        self.candidates: dict[str, Package] = {}
        for package in packages:
            current = self.candidates.get(package.name)
            # On equal versions the first suite wins: the main archive keeps
            # a file longer than the security archive does.
            if (
                current is None
                or compare_versions(package.version, current.version) > 0
            ):
                self.candidates[package.name] = package
        self.providers: dict[str, list[tuple[Package, str | None]]] = {}
        for name in sorted(self.candidates):
            package = self.candidates[name]
            for group in parse_relations(package.provides):
                for atom in group:
                    self.providers.setdefault(atom.name, []).append(
                        (package, atom.version)
                    )

    def satisfiers(self, atom: Atom, arch: str) -> list[Package]:
        """Candidates that satisfy atom: the real package first, then the
        providers (a versioned dependency needs a versioned Provides)."""
        if atom.arch not in (None, "any", "native", arch):
            return []
        found = []
        real = self.candidates.get(atom.name)
        # Multi-Arch spec: name:any is only satisfied by Multi-Arch: allowed.
        if (
            real
            and self._version_ok(real.version, atom)
            and (atom.arch != "any" or real.multi_arch == "allowed")
        ):
            found.append(real)
        for provider, provided_version in self.providers.get(atom.name, []):
            # An unversioned Provides never satisfies a versioned dependency.
            versioned_ok = atom.operator is None or (
                provided_version is not None
                and self._version_ok(provided_version, atom)
            )
            if versioned_ok and provider not in found:
                found.append(provider)
        return found

    @staticmethod
    def _version_ok(version: str, atom: Atom) -> bool:
        if atom.operator is None or atom.version is None:
            return True
        return version_satisfies(version, atom.operator, atom.version)

    def explain(self, atom: Atom, arch: str) -> str:
        """Why no candidate satisfies atom, for error messages."""
        real = self.candidates.get(atom.name)
        providers = [p.name for p, _ in self.providers.get(atom.name, [])]
        if atom.arch not in (None, "any", "native", arch):
            return f"{atom}: only {arch} packages are resolved"
        if real and atom.operator:
            return f"{atom}: the candidate is {real.name} {real.version} ({real.suite})"
        if real and atom.arch == "any":
            return f"{atom}: {real.name} is Multi-Arch: {real.multi_arch}, not allowed"
        if providers:
            return f"{atom}: provided only without a matching version by {', '.join(providers)}"
        return f"{atom}: no such package"


@dataclasses.dataclass(frozen=True)
class Chosen:
    package: Package
    group: str
    depends: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Skipped:
    arch: str
    dependency: str
    needed_by: str
    reason: str


@dataclasses.dataclass
class Resolution:
    chosen: dict[str, Chosen]
    skipped: list[Skipped]
    notes: list[str]


class Resolver:
    """Resolves the manifest's sets, in order, for one architecture.

    Each set is resolved on top of the packages earlier sets chose, so a
    package belongs to the first set whose closure pulls it in.
    """

    def __init__(self, index: Index, arch: str, exclude: dict[str, str]) -> None:
        self.index = index
        self.arch = arch
        self.exclude = exclude
        self.chosen: dict[str, Package] = {}
        self.groups: dict[str, str] = {}
        self.edges: dict[str, set[str]] = {}
        # How each package was reached, for errors: set name, then names.
        self.chains: dict[str, tuple[str, ...]] = {}
        self.skipped: list[Skipped] = []
        self.notes: list[str] = []

    def resolve(self, sets: Iterable[PackageSet]) -> Resolution:
        for package_set in sets:
            queue: deque[Package] = deque()
            for name in package_set.packages:
                package = self._root(package_set.name, name)
                self._choose(package, package_set.name, (package_set.name,), queue)
            while queue:
                self._resolve_package(queue.popleft(), package_set.name, queue)
        chosen = {
            name: Chosen(package, self.groups[name], tuple(sorted(self.edges[name])))
            for name, package in self.chosen.items()
        }
        return Resolution(chosen, self.skipped, self.notes)

    def _root(self, set_name: str, name: str) -> Package:
        package = self.index.candidates.get(name)
        if package:
            return package
        providers = sorted({p.name for p, _ in self.index.providers.get(name, [])})
        if providers:
            hint = f"it is a virtual package; name one of: {', '.join(providers)}"
        else:
            close = difflib.get_close_matches(name, self.index.candidates, n=3)
            hint = (
                f"did you mean {', '.join(close)}?"
                if close
                else "no similar name exists"
            )
        raise ResolveError(
            f"set {set_name!r}: no package {name!r} for {self.arch}; {hint}"
        )

    def _choose(
        self,
        package: Package,
        group: str,
        chain: tuple[str, ...],
        queue: deque[Package],
    ) -> None:
        if package.name in self.chosen:
            return
        self.chosen[package.name] = package
        self.groups[package.name] = group
        self.edges[package.name] = set()
        self.chains[package.name] = chain + (package.name,)
        queue.append(package)

    def _resolve_package(
        self, package: Package, group: str, queue: deque[Package]
    ) -> None:
        try:
            relations = parse_relations(package.pre_depends) + parse_relations(
                package.depends
            )
        except ValueError as error:
            raise ResolveError(f"{package.name} {package.version}: {error}") from None
        for alternatives in relations:
            target = self._satisfy(package, alternatives)
            if target is None:
                continue
            self.edges[package.name].add(target.name)
            self._choose(target, group, self.chains[package.name], queue)

    def _satisfy(self, package: Package, alternatives: list[Atom]) -> Package | None:
        """Picks the package that satisfies one dependency, or records why
        it is skipped; None when nothing new is needed or it is skipped."""
        # A package already in the image satisfies it best: nothing is added.
        for atom in alternatives:
            for candidate in self.index.satisfiers(atom, self.arch):
                if candidate.name in self.chosen:
                    return candidate
        excluded: list[str] = []
        for atom in alternatives:
            if atom.name in self.exclude:
                excluded.append(atom.name)
                continue
            candidates = self.index.satisfiers(atom, self.arch)
            excluded += [c.name for c in candidates if c.name in self.exclude]
            allowed = [c for c in candidates if c.name not in self.exclude]
            if allowed:
                return self._pick(package, atom, allowed)
        if excluded:
            self._skip(package, alternatives, excluded)
            return None
        self._fail(package, alternatives)
        return None

    def _pick(self, package: Package, atom: Atom, allowed: list[Package]) -> Package:
        if len(allowed) == 1 or allowed[0].name == atom.name:
            return allowed[0]
        # Several providers of a virtual name, none already chosen: take the
        # most important, then the first by name, and say so.
        best = min(allowed, key=lambda p: (PRIORITY_RANK.get(p.priority, 9), p.name))
        others = ", ".join(p.name for p in allowed if p is not best)
        self.notes.append(
            f"{self.arch}: {package.name} needs {atom}; chose {best.name} over {others}"
        )
        return best

    def _skip(
        self, package: Package, alternatives: list[Atom], excluded: list[str]
    ) -> None:
        reasons = "; ".join(
            f"{name}: {self.exclude[name]}" for name in dict.fromkeys(excluded)
        )
        self.skipped.append(
            Skipped(self.arch, format_alternatives(alternatives), package.name, reasons)
        )

    def _fail(self, package: Package, alternatives: list[Atom]) -> None:
        chain = self.chains[package.name]
        details = "; ".join(
            self.index.explain(atom, self.arch) for atom in alternatives
        )
        raise ResolveError(
            f"{self.arch}: cannot satisfy '{format_alternatives(alternatives)}' of "
            f"{package.name} {package.version}, needed by set {chain[0]!r} via "
            f"{' -> '.join(chain[1:])}: {details}"
        )


def conflict_warnings(index: Index, arch: str, chosen: dict[str, Chosen]) -> list[str]:
    """Conflicts and Breaks between chosen packages are not resolved (apt
    would refuse); they are reported so a reviewer sees them."""
    warnings = []
    for name in sorted(chosen):
        package = chosen[name].package
        for field in (package.conflicts, package.breaks):
            for group in parse_relations(field):
                for atom in group:
                    for other in index.satisfiers(atom, arch):
                        if other.name != name and other.name in chosen:
                            warnings.append(
                                f"{arch}: {name} conflicts with or breaks {other.name}"
                            )
    return warnings


def unused_excludes(index: Index, arch: str, exclude: dict[str, str]) -> list[str]:
    """Exclude entries naming nothing in the archive: likely typos."""
    return [
        f"{arch}: [exclude] {name} names no package or virtual package"
        for name in sorted(exclude)
        if name not in index.candidates and name not in index.providers
    ]
