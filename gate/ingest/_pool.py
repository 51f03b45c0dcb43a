"""Equal sub-objects (layers, packages, CVSS scores) shared between the findings of one report.

They are frozen, so sharing is safe; a report repeats the same few layers, packages and advisories thousands
of times, and each shared object is built (and validated) once. A pool lives for one report's reading.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

from gate.model import Cvss, Layer, Package

__all__ = ["Pool"]

_T = TypeVar("_T")


class Pool:
    """The shared objects of one report."""

    def __init__(self) -> None:
        self._objects: dict[Hashable, object] = {}

    def shared(self, key: Hashable, make: Callable[[], _T]) -> _T:
        """The object made for `key` before, else `make()` (kept for the next equal key)."""
        found = self._objects.get(key)
        if found is None:
            found = self._objects[key] = make()
        return found  # type: ignore[return-value]

    def layer(self, digest: str, diff_id: str = "", created_by: str = "") -> Layer:
        key = ("layer", digest, diff_id, created_by)
        return self.shared(key, lambda: Layer(digest=digest, diff_id=diff_id, created_by=created_by))

    def package(self, name: str, version: str, type_: str, purl: str, path: str) -> Package:
        key = ("package", name, version, type_, purl, path)
        return self.shared(key, lambda: Package(name=name, version=version, type=type_, purl=purl, path=path))

    def cvss(self, source: str, version: str, score: float | None, vector: str) -> Cvss:
        key = ("cvss", source, version, score, vector)
        return self.shared(key, lambda: Cvss(source=source, version=version, score=score, vector=vector))  # type: ignore[arg-type]
