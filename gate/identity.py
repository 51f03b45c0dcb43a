"""Identities that survive a rebuild: of a finding (for baselines and merging) and of an image (for grouping).

A finding is the same finding in two reports when the ID of one is the ID or an alias of the other (case
insensitive), it is of the same kind, and it is in the same package (ecosystem, name, path). Sharing an
alias is not enough: two CVEs fixed by one Debian or Red Hat advisory both list the advisory's ID. The installed version
and the image digest are deliberately not part of it: a rebuild, or a version bump that does not fix the
vulnerability, leaves a finding the same finding. Trivy and Grype name ecosystems and paths differently
(`alpine` vs `apk`, `app/x.jar` vs `/app/x.jar`); both are normalised here so their findings can be compared.

An image is the same image in two reports when the config digest (image ID) matches, or (when either lacks an
image ID) a manifest digest or the normalised reference matches and they are not for two platforms: one tag, or
the digest of a multi-architecture index, names the images of every platform. Two images are of the same
repository when their references without tag and digest match (`ghcr.io/org/app:pr-12` and
`ghcr.io/org/app:main`). Two images are for the same platform when both know it and their OS, architecture and
(when both give one) variant match, after the usual aliases (`x86_64` is `amd64`, `aarch64` is `arm64`,
`arm64/v8` is `arm64`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from urllib.parse import unquote

from gate.model import Finding, FindingKind, Scan, pypi_name

__all__ = [
    "FindingIdentity",
    "FindingIndex",
    "ImageIdentity",
    "finding_identity",
    "group_indices",
    "image_identity",
    "is_image_reference",
    "normalise_platform",
    "normalise_reference",
    "other_platform",
    "platform_covers",
    "reference_tag",
    "repository",
]

_FILE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.zst")
# A Windows drive, as a Trivy report made on Windows names an OCI layout (`C:\out\app`): no registry is one (a
# port has digits).
_DRIVE = re.compile(r"[A-Za-z]:[\\/]")

_OS_ECOSYSTEMS = frozenset({"apk", "deb", "rpm", "alpm", "apkg"})
"""OS packages are identified by name only: Grype gives them the package database as a path, Trivy none."""


@dataclass(frozen=True)
class FindingIdentity:
    """What makes a finding the same finding in another report (see the module docstring)."""

    kind: FindingKind
    id: str
    """The ID, upper case."""
    ids: frozenset[str]
    """The ID and aliases, upper case."""
    ecosystem: str
    """The purl type (`apk`, `deb`, `npm`, `maven`, ...), or "" when the report does not say."""
    package: str
    """The normalised package name, "" when the finding has no package."""
    path: str
    """The normalised file path of the package (or of a secret), "" for OS packages or when unknown."""
    scanner: str = ""
    location: str = ""
    """Where the scanner found a language package it gives no path for (Trivy's target: the lockfile or the
    binary), "" otherwise; compared with the same scanner's locations, and with the path the other finding gives
    (Grype's location: that lockfile or binary), not with another scanner's location (scanners name targets
    apart)."""

    def matches(self, other: FindingIdentity) -> bool:
        """True when both identities name the same finding.

        The ID of one among the IDs of the other, the same kind and package name; ecosystems and paths
        must be equal when both reports give them (one scanner leaving one out does not make two findings
        different), and so must the locations of one scanner's findings, and a location and the path the other
        report gives (a Trivy baseline's lockfile or binary against a Grype report's, or against a finding both
        scanners reported: another one is another place).
        """
        return (
            self.kind is other.kind
            and self.package == other.package
            and _compatible(self.ecosystem, other.ecosystem)
            and _compatible(self.path, other.path)
            and self._same_place(other)
            and (self.id in other.ids or other.id in self.ids)
        )

    def _same_place(self, other: FindingIdentity) -> bool:
        # A path one report gives is compared with the other's location whoever scanned them: a Grype report's,
        # or a finding Trivy and Grype both reported (merged, it has Grype's path and Trivy's name).
        if not (_compatible(self.location, other.path) and _compatible(self.path, other.location)):
            return False
        return self.scanner != other.scanner or _compatible(self.location, other.location)


def _compatible(a: str, b: str) -> bool:
    return a == b or not a or not b


def finding_identity(finding: Finding) -> FindingIdentity:
    """The identity of a finding: kind, ID and aliases, ecosystem, package name and path (never the version)."""
    primary = finding.id.strip().upper()
    ids = frozenset(i.strip().upper() for i in finding.all_ids if i.strip())
    package = finding.package
    if package is None:
        return FindingIdentity(finding.kind, primary, ids, "", "", _path(finding.target))
    ecosystem = package.ecosystem
    name = _package_name(package.name, package.purl, ecosystem)
    path = "" if ecosystem in _OS_ECOSYSTEMS else _unversioned(_path(package.path), package.version)
    if finding.kind is not FindingKind.VULNERABILITY and not path:
        path = _path(finding.target)
    location = ""
    if not path and ecosystem not in _OS_ECOSYSTEMS:  # a lockfile or binary: a second one is another place
        location = _unversioned(_path(finding.target), package.version)
    return FindingIdentity(finding.kind, primary, ids, ecosystem, name, path, finding.scanner, location)


def _package_name(name: str, purl: str, ecosystem: str) -> str:
    parsed = _purl(purl)
    if parsed is not None:
        purl_type, namespace, purl_name = parsed
        if purl_type == "maven" and namespace:
            name = f"{namespace}:{purl_name}"
        elif purl_type in _OS_ECOSYSTEMS or not namespace:
            name = purl_name
        else:
            name = f"{namespace}/{purl_name}"
    name = name.strip()
    return pypi_name(name) if ecosystem == "pypi" else name.lower()


def _purl(purl: str) -> tuple[str, str, str] | None:
    """(type, namespace, name) of a package URL, or None when it is not one."""
    if not purl.startswith("pkg:"):
        return None
    body = purl[4:].split("#", 1)[0].split("?", 1)[0].split("@", 1)[0].strip("/")
    parts = [unquote(p) for p in body.split("/") if p]
    if len(parts) < 2:
        return None
    return parts[0].lower(), "/".join(parts[1:-1]).lower(), parts[-1].lower()


def _unversioned(path: str, version: str) -> str:
    """The path with the installed version taken out (`lib/log4j-core-2.14.1.jar` -> `lib/log4j-core-*.jar`), with
    a `v` before it (`opt/yarn-v1.22.5/package.json` -> `opt/yarn-*/package.json`)."""
    version = version.strip()
    if not path or not version:
        return path
    return re.sub(rf"(?<![A-Za-z0-9])[vV]?{re.escape(version)}(?![A-Za-z0-9])", "*", path)


def _path(path: str) -> str:
    cleaned = path.strip().replace("\\", "/")
    while cleaned.startswith(("./", "/")):
        cleaned = cleaned[2:] if cleaned.startswith("./") else cleaned[1:]
    return cleaned


class FindingIndex:
    """Findings looked up by identity: which of them is the same finding as a given one."""

    def __init__(self, findings: Iterable[Finding]) -> None:
        self._items: list[tuple[FindingIdentity, Finding]] = []
        self._by_id: dict[str, list[int]] = {}
        for finding in findings:
            identity = finding_identity(finding)
            for i in sorted(identity.ids):
                self._by_id.setdefault(i, []).append(len(self._items))
            self._items.append((identity, finding))

    def __len__(self) -> int:
        return len(self._items)

    def positions(self, finding: Finding) -> list[int]:
        """Positions (in the order given) of the indexed findings that are the same finding, ascending."""
        identity = finding_identity(finding)
        candidates = sorted({pos for i in identity.ids for pos in self._by_id.get(i, ())})
        return [pos for pos in candidates if self._items[pos][0].matches(identity)]

    def find(self, finding: Finding) -> list[Finding]:
        """The indexed findings that are the same finding as `finding`, in the order given."""
        return [self._items[pos][1] for pos in self.positions(finding)]

    def __contains__(self, finding: object) -> bool:
        return isinstance(finding, Finding) and bool(self.positions(finding))

    def __iter__(self) -> Iterator[Finding]:
        return (finding for _, finding in self._items)


# --- images -----------------------------------------------------------------------------------------------


_DEFAULT_REGISTRY = "docker.io"
_REGISTRY_ALIASES = {
    "index.docker.io": "docker.io",
    "registry-1.docker.io": "docker.io",
    "registry.hub.docker.com": "docker.io",
}
_DIGEST = re.compile(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[0-9a-fA-F]{32,}$")


@dataclass(frozen=True)
class ImageIdentity:
    """What identifies the scanned image (or, for other artifacts, what was scanned)."""

    image_id: str
    """The config digest (`sha256:...`), "" when unknown."""
    digests: frozenset[str]
    """Manifest digests (`sha256:...`) from the repo digests or a digest-pinned reference."""
    references: frozenset[str]
    """Normalised references (`docker.io/library/alpine:3.19`), from the reference and repo tags."""
    repositories: frozenset[str]
    """Normalised repositories without tag or digest (`docker.io/library/alpine`)."""
    platform: tuple[str, str, str] = ("", "", "")
    """(os, architecture, variant), normalised; ("", "", "") when unknown."""

    def same_image(self, other: ImageIdentity) -> bool:
        """True when both describe the same image (see the module docstring)."""
        if self.image_id and other.image_id:
            return self.image_id == other.image_id
        if _two_images(self, other):  # one tag, or an index digest, names the image of every platform
            return False
        if not self.digests.isdisjoint(other.digests):
            return True
        return not self.references.isdisjoint(other.references)

    def same_repository(self, other: ImageIdentity) -> bool:
        """True when both are of the same repository (any tag or digest), or are the same image."""
        return self.same_image(other) or not self.repositories.isdisjoint(other.repositories)

    def same_platform(self, other: ImageIdentity) -> bool:
        """True when both know their platform and it is the same (a variant only one gives does not count)."""
        return _same_platform(self.platform, other.platform)


def other_platform(platform: str, other: str) -> bool:
    """True when both name a platform (`os/architecture[/variant]`) and they are not the same one."""
    ours, theirs = normalise_platform(platform), normalise_platform(other)
    return bool(ours[0] and theirs[0]) and not _same_platform(ours, theirs)


def platform_covers(scope: str, platform: str) -> bool:
    """True when an image of `platform` is for the platform `scope` names: its OS and architecture, and its
    variant when `scope` gives one (`linux/arm` covers `linux/arm/v7`; `linux/arm/v7` not an unknown variant).

    Stricter than `same_platform`, where a variant only one side gives does not count: a scope that names a
    variant (a waiver's `platforms`) says nothing of an image that may be another one.
    """
    (os, arch, variant), image = normalise_platform(scope), normalise_platform(platform)
    return bool(os and arch) and (os, arch) == image[:2] and variant in ("", image[2])


def _same_platform(ours: tuple[str, str, str], theirs: tuple[str, str, str]) -> bool:
    (os, arch, variant), (other_os, other_arch, other_variant) = ours, theirs
    return bool(os and arch) and (os, arch) == (other_os, other_arch) and _compatible(variant, other_variant)


def image_identity(scan: Scan) -> ImageIdentity:
    """The identity of the image a scan is of; for a directory or repository scan, its path or URL."""
    image = scan.image
    refs: list[str] = []
    digests: set[str] = set()
    image_id = ""
    if image is not None:
        image_id = image.image_id.strip().lower()
        refs.extend(image.repo_tags)
        for repo_digest in image.repo_digests:
            _, _, digest = repo_digest.partition("@")
            if _DIGEST.match(digest.strip()):
                digests.add(digest.strip().lower())
                refs.append(repo_digest.partition("@")[0])
        refs.insert(0, image.reference)
    refs.append(scan.artifact)
    references: set[str] = set()
    repositories: set[str] = set()
    for ref in refs:
        if not ref.strip():
            continue
        if not scan.is_image and image is None:
            references.add(ref.strip())
            repositories.add(ref.strip())
            continue
        normal = normalise_reference(ref)
        _, _, digest = normal.partition("@")
        if digest:
            digests.add(digest.lower())
        else:
            references.add(normal)
        repositories.add(repository(ref))
    platform = normalise_platform(image.platform) if image is not None else ("", "", "")
    return ImageIdentity(
        image_id, frozenset(digests), frozenset(references), frozenset(repositories), platform
    )


_ARCHITECTURES = {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64", "i386": "386", "armhf": "arm"}
_DEFAULT_VARIANTS = {("arm64", "v8"), ("amd64", "v1")}


def normalise_platform(platform: str) -> tuple[str, str, str]:
    """(os, architecture, variant) of `os/architecture[/variant]`, lower case, aliases resolved and the default
    variant dropped (`linux/aarch64/v8` -> ("linux", "arm64", "")); ("", "", "") when it is not one."""
    parts = [p.strip().lower() for p in platform.split("/")]
    if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
        return ("", "", "")
    os, arch = parts[0], _ARCHITECTURES.get(parts[1], parts[1])
    variant = parts[2] if len(parts) == 3 else ""
    return (os, arch, "" if (arch, variant) in _DEFAULT_VARIANTS else variant)


def normalise_reference(reference: str) -> str:
    """A reference in full form: `alpine` -> `docker.io/library/alpine:latest`; a digest replaces the tag.

    Anything that is not an image reference (a tarball path, a directory) comes back stripped only.
    """
    ref = reference.strip()
    if not is_image_reference(ref):
        return ref
    name, digest = _split_digest(ref)
    name, tag = _split_tag(name)
    repo = _full_repository(name)
    if digest:
        return f"{repo}@{digest}"
    return f"{repo}:{tag or 'latest'}"


def reference_tag(reference: str) -> str:
    """The tag of a reference (`3.19` of `alpine:3.19@sha256:...`), "" when it names none (a tag holds no `@`)."""
    return _split_tag(reference.strip().partition("@")[0])[1]


def repository(reference: str) -> str:
    """The normalised repository of a reference, without tag or digest (`docker.io/library/alpine`)."""
    ref = reference.strip()
    if not is_image_reference(ref):
        return ref
    name, _ = _split_digest(ref)
    name, _ = _split_tag(name)
    return _full_repository(name)


def is_image_reference(text: str) -> bool:
    """False for what names no image in a registry: nothing, a tarball, an absolute, relative or home path, a
    Windows path (`C:\\out\\oci` or `C:/out/oci`, as a Trivy report made on Windows names it: no reference holds
    a `\\`), a URL, or a name with a blank."""
    ref = text.strip()
    return bool(ref) and not (
        any(ch.isspace() for ch in ref)
        or ref.endswith(_FILE_SUFFIXES)
        or ref.startswith(("/", "./", "../", "~"))
        or _DRIVE.match(ref)
        or "\\" in ref
        or "://" in ref
    )


def _split_digest(ref: str) -> tuple[str, str]:
    name, sep, digest = ref.partition("@")
    return (name, digest.lower()) if sep and _DIGEST.match(digest) else (ref, "")


def _split_tag(name: str) -> tuple[str, str]:
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        return name[:colon], name[colon + 1 :]
    return name, ""


def _full_repository(name: str) -> str:
    parts = name.split("/")
    first = parts[0]
    if len(parts) > 1 and ("." in first or ":" in first or first == "localhost"):
        registry, path = first.lower(), parts[1:]
    else:
        registry, path = _DEFAULT_REGISTRY, parts
    registry = _REGISTRY_ALIASES.get(registry, registry)
    if registry == _DEFAULT_REGISTRY and len(path) == 1:
        path = ["library", *path]
    return f"{registry}/{'/'.join(path).lower()}"


def group_indices(identities: Sequence[ImageIdentity]) -> list[list[int]]:
    """Indices grouped by `same_image`, in first-appearance order.

    Grouping is transitive, except that it never puts two different image IDs, nor images of two platforms, in
    one group (a report without either whose reference matches two different images joins the first).
    """
    groups: list[list[int]] = []

    def apart(members: Sequence[int], others: Sequence[int]) -> bool:
        return any(_two_images(identities[a], identities[b]) for a in members for b in others)

    for i, identity in enumerate(identities):
        joined: int | None = None
        for g, members in enumerate(groups):
            if not any(identity.same_image(identities[m]) for m in members):
                continue
            if joined is None and not apart(members, [i]):
                members.append(i)
                joined = g
            elif joined is not None and not apart(groups[joined], members):
                groups[joined].extend(members)
                groups[joined].sort()
                members.clear()
        if joined is None:
            groups.append([i])
    return [g for g in groups if g]


def _two_images(a: ImageIdentity, b: ImageIdentity) -> bool:
    """True when `a` and `b` cannot be one image: they have two image IDs, or are for two platforms."""
    if a.image_id and b.image_id and a.image_id != b.image_id:
        return True
    return bool(a.platform[0] and b.platform[0]) and not a.same_platform(b)
