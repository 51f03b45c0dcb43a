"""Package URLs (`pkg:type/namespace/name@version?qualifiers#subpath`): the parts the gate compares."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

from gate.model import pypi_name

__all__ = ["Purl", "parse_purl", "purl_version"]

_CASE_INSENSITIVE = frozenset(
    {"alpm", "apk", "bitbucket", "composer", "deb", "github", "hex", "npm", "nuget", "pub", "pypi"}
)
"""Package URL types whose namespace and name the purl specification says to lower-case (PURL-TYPES): they
compare without case. The others (maven, gem, rpm, cargo, golang, oci, ...) compare as written: two spellings
there can be two packages."""


@dataclass(frozen=True)
class Purl:
    """The parts of a package URL the gate compares."""

    type: str
    namespace: str
    name: str
    version: str = ""
    qualifiers: tuple[tuple[str, str], ...] = ()
    subpath: str = ""
    """A path inside the package (`http2` of a Go module): what a purl with one names is only that part."""

    def covers(self, other: Purl) -> bool:
        """True when this (a statement's) purl names `other` (a package's): same package, and any version,
        qualifiers or subpath given here are also there."""
        if (self.type, self.namespace, self.name) != (other.type, other.namespace, other.name):
            return False
        if self.version and self.version != other.version:
            return False
        if self.subpath and self.subpath != other.subpath:
            return False
        theirs = dict(other.qualifiers)
        return all(theirs.get(k) == v for k, v in self.qualifiers)


def parse_purl(text: str) -> Purl | None:
    """Parse `pkg:type/namespace/name@version?qualifiers#subpath`; None when `text` is not a purl."""
    if not text.startswith("pkg:"):
        return None
    rest, _, subpath = text[4:].lstrip("/").partition("#")
    rest, _, query = rest.partition("?")
    rest, _, version = rest.rpartition("@") if "@" in rest else (rest, "", "")
    parts = [unquote(p) for p in rest.split("/") if p]
    if len(parts) < 2:
        return None
    kind = parts[0].lower()
    name = parts[-1]
    namespace = "/".join(parts[1:-1])
    if kind in _CASE_INSENSITIVE:
        name, namespace = name.lower(), namespace.lower()
    if kind == "pypi":  # the specification's `_` is `-`: PEP 503 names
        name = pypi_name(name)
    qualifiers = []
    for pair in query.split("&") if query else ():
        key, _, value = pair.partition("=")
        if key:
            qualifiers.append((key.lower(), unquote(value)))
    subpath = "/".join(unquote(p) for p in subpath.split("/") if p not in ("", ".", ".."))
    return Purl(kind, namespace, name, unquote(version), tuple(sorted(qualifiers)), subpath)


def purl_version(text: str) -> str:
    """The version the package URL `text` names, or empty (a report that leaves a version out may name it there)."""
    parsed = parse_purl(text) if text else None
    return parsed.version if parsed is not None else ""
