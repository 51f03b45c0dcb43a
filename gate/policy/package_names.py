"""Package names compared the way their ecosystem compares them, for the `package` and `purl` match keys and the
waiver scopes `packages` and `purls`.

Some ecosystems say that several spellings name one package: PyPI normalises names (PEP 503: `PyYAML` is
`pyyaml`, and `ruamel.yaml` is `Ruamel_YAML`; but `py_yaml` is `py-yaml`, another project), NuGet IDs are
case-insensitive, and Composer and conda names are lower case by rule. A glob matches such a name when it matches
it as written, or when both, folded the ecosystem's way, match; `*`, `?` and `[...]` keep working, as folding
changes only letters and `-`, `_`, `.`. Everywhere else (npm, Go, Maven, RubyGems, Cargo, OS packages) two
spellings can be two packages, so names compare exactly as written.

The same folding serves rules and waivers: it makes a name match only spellings its ecosystem calls the same
package, so a rule catches what it names and a waiver lets through nothing more.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from gate.model import Package, pypi_name

__all__ = ["PackageGlobs"]


@dataclass(frozen=True)
class _Naming:
    """How one ecosystem folds package names: the spellings `fold` maps to one string name one package."""

    comparison: str
    """Said beside a folded name in messages, e.g. `PyPI names compare PEP 503-normalised`."""
    fold: Callable[[str], str]

    def fold_purl(self, purl: str) -> str:
        """The package URL (or a glob of one) with its namespace and name folded; the version and what follows
        it stay as written."""
        if not purl.startswith("pkg:"):
            return purl
        cut = min((i for i in (purl.find("@"), purl.find("#")) if i >= 0), default=len(purl))
        kind, slash, path = purl[4:cut].partition("/")
        return f"pkg:{kind.lower()}{slash}{self.fold(path)}{purl[cut:]}"


_PYPI = _Naming("PyPI names compare PEP 503-normalised", pypi_name)
_NUGET = _Naming("NuGet IDs compare case-insensitively", str.lower)
_COMPOSER = _Naming("Composer names compare case-insensitively", str.lower)
_CONDA = _Naming("conda names compare case-insensitively", str.lower)

_BY_ECOSYSTEM = {"pypi": _PYPI, "nuget": _NUGET, "composer": _COMPOSER, "conda": _CONDA}
"""The ecosystems that fold names, by `Package.ecosystem` (the package URL's type, else the scanner's type)."""


_BRACKETS = re.compile(r"\[!?\]?[^\]]*\]")
"""A bracket expression of a glob, as fnmatch reads it (a `]` first in it is one of its characters)."""
_HELD = re.compile("\x00([0-9]+)\x00")


def _fold_glob(pattern: str, fold: Callable[[str], str]) -> str:
    """`pattern` folded outside its bracket expressions, which are only lower-cased: folding `-`, `_` and `.`
    inside one would change what it matches (`[!.-z]` would become `[!-z]`)."""
    # Every expression ends at a `]`: past the last one, each `[` would read to the end, in quadratic time.
    end = pattern.rfind("]") + 1
    classes = _BRACKETS.findall(pattern, 0, end)
    if not classes:
        return fold(pattern)
    numbers = iter(range(len(classes)))
    held = _BRACKETS.sub(lambda _: f"\x00{next(numbers)}\x00", pattern[:end]) + pattern[end:]
    return _HELD.sub(lambda m: classes[int(m[1])].lower(), fold(held))


class PackageGlobs:
    """The globs of one `package` or `purl` key or scope: each folded once per ecosystem that folds names, so
    one rule can test many packages."""

    def __init__(self, patterns: Sequence[str], *, purl: bool = False) -> None:
        self.patterns = tuple(patterns)
        self._purl = purl
        self._folded: dict[str, tuple[str, ...]] = {}

    def value(self, package: Package) -> str:
        """What the globs are compared with: the package's name, or its URL for `purl`."""
        return package.purl if self._purl else package.name

    def matches(self, package: Package) -> bool:
        """True when a glob matches the value as written or, where the package's ecosystem folds names, both
        folded match. For `purl`, a package merged from two reports matches when either report's URL does."""
        if self._purl and package.purls:
            return any(self._matches(package, purl) for purl in package.purls)
        return self._matches(package, self.value(package))

    def _matches(self, package: Package, value: str) -> bool:
        if any(fnmatchcase(value, p) for p in self.patterns):
            return True
        names = self._naming(package)
        if names is None:
            return False
        fold = names.fold_purl if self._purl else names.fold
        folded = self._folded.get(names.comparison)
        if folded is None:
            folded = self._folded[names.comparison] = tuple(_fold_glob(p, fold) for p in self.patterns)
        mine = fold(value)
        return any(fnmatchcase(mine, p) for p in folded)

    def note(self, package: Package) -> str:
        """` (PyPI names compare PEP 503-normalised: 'pyyaml')` when the value as written matched no glob and
        the package's ecosystem folds names: what was compared, for messages; else empty."""
        value, names = self.value(package), self._naming(package)
        if names is None or any(fnmatchcase(value, p) for p in self.patterns):
            return ""
        return f" ({names.comparison}: {(names.fold_purl if self._purl else names.fold)(value)!r})"

    @staticmethod
    def _naming(package: Package) -> _Naming | None:
        return _BY_ECOSYSTEM.get(package.ecosystem)
