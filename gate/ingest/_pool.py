"""Equal sub-objects (layers, packages, CVSS scores) shared between the findings of one report.

They are frozen, so sharing is safe; a report repeats the same few layers, packages and advisories thousands
of times, and each shared object is built (and validated) once. A pool lives for one report's reading.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

from gate.model import Cvss, Layer, Package

__all__ = ["Pool"]


class Pool:
    """The shared objects of one report."""

    # One dictionary per kind of object, looked up directly: these run once or more per finding, and a helper
    # taking a factory would build a closure per call.
    def __init__(self) -> None:
        self._layers: dict[tuple[str, str, str], Layer] = {}
        self._packages: dict[tuple[str, str, str, str, str], Package] = {}
        self._cvss: dict[tuple[str, str, float | None, str, bool], Cvss] = {}
        self._cvss_sets: dict[Hashable, tuple[Cvss, ...]] = {}

    def layer(self, digest: str, diff_id: str = "", created_by: str = "") -> Layer:
        key = (digest, diff_id, created_by)
        found = self._layers.get(key)
        if found is None:
            found = self._layers[key] = Layer(digest=digest, diff_id=diff_id, created_by=created_by)
        return found

    def package(self, name: str, version: str, type_: str, purl: str, path: str) -> Package:
        key = (name, version, type_, purl, path)
        found = self._packages.get(key)
        if found is None:
            found = self._packages[key] = Package(
                name=name, version=version, type=type_, purl=purl, path=path
            )
        return found

    def cvss(
        self, source: str, version: str, score: float | None, vector: str, third_party: bool = False
    ) -> Cvss:
        key = (source, version, score, vector, third_party)
        found = self._cvss.get(key)
        if found is None:
            found = self._cvss[key] = Cvss(
                source=source,
                version=version,  # type: ignore[arg-type]
                score=score,
                vector=vector,
                third_party=third_party,
            )
        return found

    def cvss_set(self, key: Hashable, make: Callable[[], tuple[Cvss, ...]]) -> tuple[Cvss, ...]:
        """The scores made for `key` (what a report says of them, in full) before, else `make()`."""
        found = self._cvss_sets.get(key)
        if found is None:
            found = self._cvss_sets[key] = make()
        return found
