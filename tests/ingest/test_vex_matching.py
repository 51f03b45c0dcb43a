"""Which findings a VEX statement applies to: cases where it must not (it would let a finding pass the gate) and
cases the docs promise it does, then metamorphic relations over the real reports and the real OpenVEX documents.

A statement applies to a finding, or not: `_outcome` is what `apply_vex` left on each finding (suppressed or not,
and the VEX status it carries). The metamorphic tests compare outcomes, never one statement's internals.
"""

from __future__ import annotations

import functools
import json
import random
from typing import Any

import pytest

from gate.errors import InputError
from gate.ingest import read_report
from gate.ingest.purl import parse_purl
from gate.ingest.vex import VexDocument, apply_vex, read_vex
from gate.model import Finding, FindingKind, FixState, Image, Package, Scan, Severity
from tests.conftest import REAL, need_shared, shared_files
from tests.ingest.helpers import openvex

IMAGE = "registry.example.com/team-a/app:1.0"
DIGEST = "sha256:" + "d" * 64
BUSYBOX = "pkg:apk/alpine/busybox@1.36.1-r29?arch=x86_64&distro=3.20.1"
OPENSSL = "pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64&distro=debian-12.5"
XNET = "pkg:golang/golang.org/x/net@v0.17.0"
NPM = "pkg:npm/foo@1.0.0%2Bbuild.5"
Outcome = tuple[tuple[str, str, str | None, str | None], ...]


def _finding(purl: str, vid: str = "CVE-2024-1234", *aliases: str, target: str = "") -> Finding:
    parsed = parse_purl(purl)
    assert parsed is not None
    return Finding(
        kind=FindingKind.VULNERABILITY,
        id=vid,
        aliases=aliases,
        severity=Severity.CRITICAL,
        package=Package(name=parsed.name, version=parsed.version, type=parsed.type, purl=purl),
        fix_state=FixState.FIXED,
        fixed_versions=("9",),
        scanner="trivy",
        target=target,
    )


def _scan(*findings: Finding) -> Scan:
    image = Image(
        reference=IMAGE,
        repo_tags=(IMAGE,),
        repo_digests=(f"registry.example.com/team-a/app@{DIGEST}",),
        platform="linux/amd64",
    )
    return Scan(
        source="r.json",
        scanner="trivy",
        artifact=IMAGE,
        artifact_type="container_image",
        image=image,
        findings=findings,
    )


def _statement(name: str, *products: Any, status: str = "not_affected", **more: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "vulnerability": {"name": name},
        "products": [p if isinstance(p, dict) else {"@id": p} for p in products],
        "status": status,
    }
    if status == "not_affected":
        out["justification"] = "vulnerable_code_not_present"
    if status == "affected":
        out["action_statement"] = "Upgrade."
    return {**out, **more}


def _cyclonedx(*vulnerabilities: dict[str, Any], **document: Any) -> VexDocument:
    raw = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
        "version": 1,
        "components": [{"type": "library", "bom-ref": "bb", "name": "busybox", "purl": BUSYBOX}],
        "vulnerabilities": list(vulnerabilities),
        **document,
    }
    return read_vex("vex.cdx.json", json.dumps(raw).encode())


def _cdx(vid: str, state: str, *refs: str, **analysis: Any) -> dict[str, Any]:
    return {"id": vid, "analysis": {"state": state, **analysis}, "affects": [{"ref": r} for r in refs]}


def _outcome(scan: Scan) -> Outcome:
    return tuple(
        (
            f.id,
            f.package.purl if f.package else "",
            f.suppressed.status if f.suppressed else None,
            f.vex.status.value if f.vex else None,
        )
        for f in scan.findings
    )


def _suppressed(scan: Scan, *documents: VexDocument) -> bool:
    (finding,) = apply_vex(scan, documents).findings
    return finding.suppressed is not None


# --- statements that must not suppress -------------------------------------------------------------------

IMAGE_PURL = "pkg:oci/app?repository_url=registry.example.com/team-a/app"
NOT_IT: list[tuple[str, Finding, VexDocument]] = [
    # another version, package, namespace, qualifier or subpath of the package
    ("another version", _finding(BUSYBOX), openvex(_statement("CVE-2024-1234", "pkg:apk/alpine/busybox@1.36.1-r30"))),
    ("a version without its `v`", _finding(XNET), openvex(_statement("CVE-2024-1234", "pkg:golang/golang.org/x/net@0.17.0"))),
    ("a similar name", _finding(BUSYBOX), openvex(_statement("CVE-2024-1234", "pkg:apk/alpine/busybox-extras"))),
    ("a name it starts with", _finding(BUSYBOX), openvex(_statement("CVE-2024-1234", "pkg:apk/alpine/busy"))),
    ("another namespace", _finding(BUSYBOX), openvex(_statement("CVE-2024-1234", "pkg:apk/wolfi/busybox"))),
    ("no namespace", _finding(BUSYBOX), openvex(_statement("CVE-2024-1234", "pkg:apk/busybox"))),
    ("another type", _finding(BUSYBOX), openvex(_statement("CVE-2024-1234", "pkg:deb/alpine/busybox"))),
    ("another arch", _finding(BUSYBOX), openvex(_statement("CVE-2024-1234", "pkg:apk/alpine/busybox?arch=aarch64"))),
    ("a qualifier it lacks", _finding(BUSYBOX), openvex(_statement("CVE-2024-1234", "pkg:apk/alpine/busybox?epoch=1"))),
    ("another subpath", _finding(XNET), openvex(_statement("CVE-2024-1234", "pkg:golang/golang.org/x/net#http2"))),
    ("a case golang keeps", _finding(XNET), openvex(_statement("CVE-2024-1234", "pkg:golang/golang.org/x/Net"))),
    ("an epoch the version lacks", _finding(OPENSSL),
     openvex(_statement("CVE-2024-1234", "pkg:deb/debian/openssl@1:3.0.11-1~deb12u2"))),
    # not a purl, or a malformed one
    ("a bare name", _finding(BUSYBOX), openvex(_statement("CVE-2024-1234", "busybox"))),
    ("a purl without a name", _finding(BUSYBOX), openvex(_statement("CVE-2024-1234", "pkg:apk"))),
    ("a purl without a type", _finding(BUSYBOX), openvex(_statement("CVE-2024-1234", "pkg:/alpine/busybox"))),
    ("a cpe", _finding(BUSYBOX), openvex(_statement("CVE-2024-1234", {"identifiers": {"cpe23": "cpe:2.3:a:busybox:*"}}))),
    ("an @id that is a URL", _finding(BUSYBOX), openvex(_statement("CVE-2024-1234", "https://example.com/busybox"))),
    ("no products", _finding(BUSYBOX), openvex({**_statement("CVE-2024-1234"), "products": []})),
    # another vulnerability
    ("a longer ID", _finding(BUSYBOX), openvex(_statement("CVE-2024-12345", "pkg:apk/alpine/busybox"))),
    ("a shorter ID", _finding(BUSYBOX), openvex(_statement("CVE-2024-123", "pkg:apk/alpine/busybox"))),
    ("an ID with a space", _finding(BUSYBOX), openvex(_statement("CVE-2024-1234 ", "pkg:apk/alpine/busybox"))),
    ("a shared advisory alias", _finding(BUSYBOX, "CVE-2024-1234", "DSA-1"), openvex(_statement(
        "CVE-2024-9999", "pkg:apk/alpine/busybox", vulnerability={"name": "CVE-2024-9999", "aliases": ["DSA-1"]}))),
    ("one CVE of an advisory", _finding(BUSYBOX, "ALAS-2023-1", "CVE-2023-1", "CVE-2023-2"),
     openvex(_statement("CVE-2023-1", "pkg:apk/alpine/busybox"))),
    # another image
    ("another image's name", _finding(BUSYBOX), openvex(_statement("CVE-2024-1234", "pkg:oci/other"))),
    ("another repository", _finding(BUSYBOX), openvex(_statement(
        "CVE-2024-1234", "pkg:oci/app?repository_url=registry.example.com/team-b/app"))),
    ("another registry", _finding(BUSYBOX), openvex(_statement(
        "CVE-2024-1234", "pkg:oci/app?repository_url=ghcr.io/team-a/app"))),
    ("another namespace of the image", _finding(BUSYBOX), openvex(_statement("CVE-2024-1234", "pkg:oci/team-b/app"))),
    ("a namespace against its repository_url", _finding(BUSYBOX), openvex(_statement(
        "CVE-2024-1234", "pkg:oci/team-b/app?repository_url=registry.example.com/team-a/app"))),
    ("another digest", _finding(BUSYBOX), openvex(_statement("CVE-2024-1234", f"pkg:oci/app@sha256:{'e' * 64}"))),
    ("another arch of the image", _finding(BUSYBOX), openvex(_statement("CVE-2024-1234", IMAGE_PURL + "&arch=arm64"))),
    ("another tag", _finding(BUSYBOX), openvex(_statement("CVE-2024-1234", IMAGE_PURL + "&tag=2.0"))),
    # subcomponents
    ("an unrelated subcomponent", _finding(BUSYBOX), openvex(_statement(
        "CVE-2024-1234", {"@id": IMAGE_PURL, "subcomponents": [{"@id": "pkg:apk/alpine/musl"}]}))),
    ("a subcomponent of another image", _finding(BUSYBOX), openvex(_statement(
        "CVE-2024-1234", {"@id": "pkg:oci/other", "subcomponents": [{"@id": "pkg:apk/alpine/busybox"}]}))),
    ("a subcomponent of a package not in the report", _finding(BUSYBOX), openvex(_statement(
        "CVE-2024-1234", {"@id": "pkg:apk/alpine/musl", "subcomponents": [{"@id": "pkg:apk/alpine/busybox"}]}))),
    ("a subcomponent of another version", _finding(BUSYBOX), openvex(_statement(
        "CVE-2024-1234", {"@id": IMAGE_PURL, "subcomponents": [{"@id": "pkg:apk/alpine/busybox@1.0-r0"}]}))),
    # superseded by a later statement
    ("a later affected", _finding(BUSYBOX), openvex(
        _statement("CVE-2024-1234", "pkg:apk/alpine/busybox", timestamp="2026-01-01T00:00:00Z"),
        _statement("CVE-2024-1234", IMAGE_PURL, status="affected", timestamp="2026-02-01T00:00:00Z"))),
    ("a later affected written first", _finding(BUSYBOX), openvex(
        _statement("CVE-2024-1234", IMAGE_PURL, status="affected", timestamp="2026-02-01T00:00:00Z"),
        _statement("CVE-2024-1234", "pkg:apk/alpine/busybox", timestamp="2026-01-01T00:00:00Z"))),
    ("a later under_investigation", _finding(BUSYBOX), openvex(
        _statement("CVE-2024-1234", "pkg:apk/alpine/busybox", timestamp="2026-01-01T00:00:00Z"),
        _statement("CVE-2024-1234", "pkg:apk/alpine/busybox", status="under_investigation",
                   timestamp="2026-01-01T00:00:01Z"))),
    ("a later affected by an alias", _finding(BUSYBOX), openvex(
        _statement("CVE-2024-1234", "pkg:apk/alpine/busybox", timestamp="2026-01-01T00:00:00Z"),
        _statement("GHSA-xxxx", "pkg:apk/alpine/busybox", status="affected", timestamp="2026-02-01T00:00:00Z",
                   vulnerability={"name": "GHSA-xxxx", "aliases": ["CVE-2024-1234"]}))),
    # OpenVEX: an undated statement is as old as the document's `timestamp`, whatever its `last_updated` says
    ("an undated not_affected older than an affected", _finding(BUSYBOX), openvex(
        _statement("CVE-2024-1234", "pkg:apk/alpine/busybox"),
        _statement("CVE-2024-1234", IMAGE_PURL, status="affected", timestamp="2026-11-21T00:00:00Z"),
        last_updated="2026-11-22T00:00:00Z")),
    # CycloneDX
    ("cyclonedx exploitable", _finding(BUSYBOX), _cyclonedx(_cdx("CVE-2024-1234", "exploitable", "bb"))),
    ("cyclonedx in_triage", _finding(BUSYBOX), _cyclonedx(_cdx("CVE-2024-1234", "in_triage", "bb"))),
    ("cyclonedx later exploitable", _finding(BUSYBOX), _cyclonedx(
        _cdx("CVE-2024-1234", "not_affected", "bb", lastUpdated="2026-01-01T00:00:00Z"),
        _cdx("CVE-2024-1234", "exploitable", "bb", lastUpdated="2026-02-01T00:00:00Z"))),
    ("cyclonedx ref to no component", _finding(BUSYBOX), _cyclonedx(_cdx("CVE-2024-1234", "not_affected", "nothing"))),
    ("cyclonedx purl of another version", _finding(BUSYBOX), _cyclonedx(
        _cdx("CVE-2024-1234", "resolved", "pkg:apk/alpine/busybox@1.0-r0"))),
    ("cyclonedx BOM-Link to another BOM", _finding(BUSYBOX), _cyclonedx(
        _cdx("CVE-2024-1234", "not_affected", "urn:cdx:00000000-1111-2222-3333-444444444444/1#bb"))),
    ("cyclonedx version it lists as affected", _finding(BUSYBOX), _cyclonedx({
        **_cdx("CVE-2024-1234", "not_affected"),
        "affects": [{"ref": "bb", "versions": [{"version": "1.36.1-r29"}]}]})),
    ("cyclonedx range that names the version in and out", _finding(BUSYBOX), _cyclonedx({
        **_cdx("CVE-2024-1234", "not_affected"),
        "affects": [{"ref": "bb", "versions": [
            {"range": "vers:apk/>=1.36.1-r29|!=1.36.1-r29", "status": "unaffected"}]}]})),
    ("cyclonedx unordered range", _finding(BUSYBOX), _cyclonedx({
        **_cdx("CVE-2024-1234", "not_affected"),
        "affects": [{"ref": "bb", "versions": [{"range": "vers:apk/>=1.0|<2.0", "status": "unaffected"}]}]})),
]  # fmt: skip


@pytest.mark.parametrize(("finding", "document"), [c[1:] for c in NOT_IT], ids=[c[0] for c in NOT_IT])
def test_a_statement_that_does_not_name_the_finding_does_not_suppress_it(
    finding: Finding, document: VexDocument
) -> None:
    assert not _suppressed(_scan(finding), document)


# --- statements the docs say apply ---------------------------------------------------------------------

IT: list[tuple[str, Finding, VexDocument]] = [
    ("the package without a version", _finding(BUSYBOX), openvex(_statement("CVE-2024-1234", "pkg:apk/alpine/busybox"))),
    ("the package's version", _finding(BUSYBOX), openvex(_statement("CVE-2024-1234", "pkg:apk/alpine/busybox@1.36.1-r29"))),
    ("its arch", _finding(BUSYBOX), openvex(_statement("CVE-2024-1234", "pkg:apk/alpine/busybox?arch=x86_64"))),
    ("apk without case", _finding(BUSYBOX), openvex(_statement("CVE-2024-1234", "pkg:APK/Alpine/BusyBox"))),
    ("the ID without case", _finding(BUSYBOX), openvex(_statement("cve-2024-1234", "pkg:apk/alpine/busybox"))),
    ("build metadata, encoded or not", _finding(NPM), openvex(_statement("CVE-2024-1234", "pkg:npm/foo@1.0.0+build.5"))),
    ("a subpath of the module", _finding(XNET), openvex(_statement("CVE-2024-1234", "pkg:golang/golang.org/x/net"))),
    ("the image by repository_url", _finding(BUSYBOX), openvex(_statement("CVE-2024-1234", IMAGE_PURL))),
    ("the image by digest", _finding(BUSYBOX), openvex(_statement(
        "CVE-2024-1234", f"pkg:oci/app@{DIGEST.replace(':', '%3A')}"))),
    ("the image by name", _finding(BUSYBOX), openvex(_statement("CVE-2024-1234", "pkg:oci/app"))),
    ("the image by its path", _finding(BUSYBOX), openvex(_statement("CVE-2024-1234", "pkg:oci/team-a/app"))),
    ("the image's arch and tag", _finding(BUSYBOX), openvex(_statement("CVE-2024-1234", IMAGE_PURL + "&arch=amd64&tag=1.0"))),
    ("a subcomponent of the image", _finding(BUSYBOX), openvex(_statement(
        "CVE-2024-1234", {"@id": IMAGE_PURL, "subcomponents": [{"@id": "pkg:apk/alpine/busybox"}]}))),
    ("the statement's alias", _finding(BUSYBOX), openvex(_statement(
        "GHSA-xxxx", "pkg:apk/alpine/busybox", vulnerability={"name": "GHSA-xxxx", "aliases": ["CVE-2024-1234"]}))),
    ("the advisory itself", _finding(BUSYBOX, "ALAS-2023-1", "CVE-2023-1", "CVE-2023-2"),
     openvex(_statement("ALAS-2023-1", "pkg:apk/alpine/busybox"))),
    ("every CVE of the advisory", _finding(BUSYBOX, "ALAS-2023-1", "CVE-2023-1", "CVE-2023-2"), openvex(_statement(
        "CVE-2023-1", "pkg:apk/alpine/busybox", vulnerability={"name": "CVE-2023-1", "aliases": ["CVE-2023-2"]}))),
    ("a later not_affected", _finding(BUSYBOX), openvex(
        _statement("CVE-2024-1234", IMAGE_PURL, status="affected", timestamp="2026-01-01T00:00:00Z"),
        _statement("CVE-2024-1234", "pkg:apk/alpine/busybox", timestamp="2026-02-01T00:00:00Z"))),
    ("a later affected about another product", _finding(BUSYBOX), openvex(
        _statement("CVE-2024-1234", "pkg:apk/alpine/busybox", timestamp="2026-01-01T00:00:00Z"),
        _statement("CVE-2024-1234", "pkg:oci/other", status="affected", timestamp="2026-02-01T00:00:00Z"))),
    ("an undated statement after an older one", _finding(BUSYBOX), openvex(
        _statement("CVE-2024-1234", IMAGE_PURL, status="affected", timestamp="2026-11-19T00:00:00Z"),
        _statement("CVE-2024-1234", "pkg:apk/alpine/busybox"))),
    ("cyclonedx bom-ref", _finding(BUSYBOX), _cyclonedx(_cdx("CVE-2024-1234", "not_affected", "bb"))),
    ("cyclonedx false_positive", _finding(BUSYBOX), _cyclonedx(_cdx("CVE-2024-1234", "false_positive", "bb"))),
    ("cyclonedx resolved purl", _finding(BUSYBOX), _cyclonedx(_cdx("CVE-2024-1234", "resolved", "pkg:apk/alpine/busybox"))),
    ("cyclonedx BOM-Link to itself", _finding(BUSYBOX), _cyclonedx(
        _cdx("CVE-2024-1234", "not_affected", "urn:cdx:3e671687-395b-41f5-a30f-a58921a69b79/1#bb"))),
    ("cyclonedx version listed unaffected", _finding(BUSYBOX), _cyclonedx({
        **_cdx("CVE-2024-1234", "not_affected"),
        "affects": [{"ref": "bb", "versions": [{"version": "1.36.1-r29", "status": "unaffected"}]}]})),
]  # fmt: skip


@pytest.mark.parametrize(("finding", "document"), [c[1:] for c in IT], ids=[c[0] for c in IT])
def test_a_statement_the_docs_say_applies_suppresses(finding: Finding, document: VexDocument) -> None:
    assert _suppressed(_scan(finding), document)


def test_a_go_module_statement_stays_in_its_binary() -> None:
    trivy = _finding(
        "pkg:golang/github.com/aquasecurity/trivy@v0.50.0", "CVE-2024-0001", target="usr/bin/trivy"
    )
    inside = _finding(XNET, target="usr/bin/trivy")
    other = _finding(XNET, target="usr/bin/other")
    product = {"@id": "pkg:golang/github.com/aquasecurity/trivy", "subcomponents": [{"@id": XNET}]}
    scan = apply_vex(_scan(trivy, inside, other), [openvex(_statement("CVE-2024-1234", product))])
    assert [f.suppressed is not None for f in scan.findings] == [False, True, False]


def test_a_go_module_statement_does_not_reach_a_binary_the_report_cannot_tie_it_to() -> None:
    """The product module is in the report with no binary named: the module in usr/bin/other may be another
    product's, so the statement does not suppress it; nor, the other way round, a module in no named binary."""
    product = {"@id": "pkg:golang/github.com/aquasecurity/trivy", "subcomponents": [{"@id": XNET}]}
    document = openvex(_statement("CVE-2024-1234", product))
    for trivy_at, module_at in (("", "usr/bin/other"), ("usr/bin/trivy", "")):
        trivy = _finding("pkg:golang/github.com/aquasecurity/trivy@v0.50.0", "CVE-2024-0001", target=trivy_at)
        scan = apply_vex(_scan(trivy, _finding(XNET, target=module_at)), [document])
        assert [f.suppressed for f in scan.findings] == [None, None], (trivy_at, module_at)


def test_an_openvex_document_needs_a_timestamp_only_for_statements_to_inherit() -> None:
    """A document without `timestamp` or `last_updated` is read; its undated statements sort first."""
    document = openvex(
        _statement("CVE-2024-1234", "pkg:apk/alpine/busybox", timestamp="2026-01-01T00:00:00Z"),
        _statement("CVE-2024-1234", IMAGE_PURL, status="affected"),
        timestamp=None,
    )
    assert [s.timestamp.year for s in document.statements] == [2026, 1970]
    with pytest.raises(InputError):
        openvex(_statement("CVE-2024-1234", "pkg:apk/alpine/busybox"), timestamp="yesterday")


# --- metamorphic relations over the real reports --------------------------------------------------------


@functools.cache
def _real_scans() -> tuple[Scan, ...]:
    scans = []
    for path in shared_files("trivy") + shared_files("grype"):
        try:
            scan = read_report(str(path), path.read_bytes())
        except InputError:
            continue  # the fixtures that are not reports, or are refused on purpose
        if any(f.package and parse_purl(f.package.purl) for f in scan.findings):
            scans.append(scan)
    return tuple(scans)


def _draw(seed: int) -> random.Random:
    """A generator with a fixed seed: the same cases on every run (not for secrets)."""
    return random.Random(seed)  # noqa: S311


def _sample(scan: Scan, seed: int, size: int = 25) -> list[Finding]:
    """Up to `size` findings with a package URL, drawn the same way on every run."""
    with_purl = [f for f in scan.findings if f.package and parse_purl(f.package.purl)]
    return _draw(seed).sample(with_purl, min(size, len(with_purl)))


def _image_purl(scan: Scan) -> str:
    repo = scan.image.reference.split("@", 1)[0] if scan.image else ""
    last = repo.rsplit("/", 1)[-1]
    repo = repo[: len(repo) - len(last)] + last.split(":", 1)[0]
    return f"pkg:oci/{repo.rsplit('/', 1)[-1]}?repository_url={repo}" if repo else ""


def _ids(scan: Scan) -> set[str]:
    return {i.upper() for f in scan.findings for i in f.all_ids}


def _stamp(second: int) -> str:
    return f"2026-11-{1 + second // 86400:02d}T{second // 3600 % 24:02d}:{second // 60 % 60:02d}:{second % 60:02d}Z"


def _scans() -> list[Scan]:
    need_shared()
    scans = list(_real_scans())
    assert len(scans) >= 20, "the shared real reports should hold at least 20 with package URLs"
    return scans


def test_statements_about_ids_not_in_the_report_change_nothing() -> None:
    """Adding statements about IDs the report lacks (one digit more or less, a suffix) changes no finding."""
    suppressed = 0
    for index, scan in enumerate(_scans()):
        sample = _sample(scan, index)
        base = [_statement(f.id, f.package.purl) for f in sample if f.package]
        known = _ids(scan)
        extra = [
            _statement(other, f.package.purl, timestamp="2026-11-21T00:00:00Z")
            for f in sample
            if f.package
            for other in (f.id + "0", f.id[:-1], f.id + "-1", "X" + f.id)
            if other.upper() not in known
        ]
        expected = _outcome(apply_vex(scan, [openvex(*base)]))
        suppressed += sum(1 for o in expected if o[3] == "not_affected")
        assert _outcome(apply_vex(scan, [openvex(*base, *extra)])) == expected, scan.source
        assert _outcome(apply_vex(scan, [openvex(*extra)])) == _outcome(scan), scan.source
    assert suppressed > 200  # not vacuous: the statements about the report's own IDs do apply


def test_statements_about_another_image_change_nothing() -> None:
    """A statement whose product is the image suppresses; the same statement about another image, or a
    subcomponent that is another package, suppresses nothing."""
    applied = 0
    for index, scan in enumerate(_scans()):
        image = _image_purl(scan)
        sample = [(f, f.package) for f in _sample(scan, index) if f.package]
        if not image or not sample:
            continue
        name, _, url = image.partition("?repository_url=")
        others = [
            image.replace("pkg:oci/", "pkg:oci/x"),  # another name in the same repository path
            f"{name}?repository_url={url}-other",  # another repository of that name
            f"{name}?repository_url=other.example.com/{url.rsplit('/', 1)[-1]}",  # another registry
            f"{name}@sha256:{'0' * 64}?repository_url={url}",  # another digest
            f"{image}&arch=riscv64",  # another architecture
        ]
        whole = [_statement(f.id, image) for f, _ in sample]
        subs = [_statement(f.id, {"@id": image, "subcomponents": [{"@id": p.purl}]}) for f, p in sample]
        unrelated = [
            _statement(f.id, {"@id": image, "subcomponents": [{"@id": f"pkg:generic/unrelated-{p.name}"}]})
            for f, p in sample
        ]
        applied += sum(1 for o in _outcome(apply_vex(scan, [openvex(*whole, *subs)])) if o[3])
        baseline = _outcome(scan)
        assert _outcome(apply_vex(scan, [openvex(*unrelated)])) == baseline, scan.source
        for other in others:
            moved = [json.loads(json.dumps(s).replace(json.dumps(image)[1:-1], other)) for s in whole + subs]
            assert _outcome(apply_vex(scan, [openvex(*moved)])) == baseline, (scan.source, other)
    assert applied > 50  # not vacuous: about the image itself, the statements apply


def test_another_version_namespace_or_arch_of_the_package_changes_nothing() -> None:
    for index, scan in enumerate(_scans()):
        for finding in _sample(scan, index, size=10):
            assert finding.package is not None
            purl = parse_purl(finding.package.purl)
            assert purl is not None
            ns = f"{purl.namespace}/" if purl.namespace else ""
            base = f"pkg:{purl.type}/{ns}{purl.name}"
            others = [
                f"{base}@{purl.version}.1",
                f"{base}-extra",
                f"pkg:{purl.type}/other-{ns}{purl.name}",
                f"{base}?arch=riscv64",
            ]
            alone = scan.model_copy(update={"findings": (finding,)})
            for other in others:
                document = openvex(_statement(finding.id, other))
                assert _outcome(apply_vex(alone, [document])) == _outcome(alone), (scan.source, other)
            assert _outcome(apply_vex(alone, [openvex(_statement(finding.id, base))]))[0][3] == "not_affected"


def _conflicting(scan: Scan, seed: int) -> list[dict[str, Any]]:
    """For each sampled finding, statements of several statuses about it, each at its own time."""
    draw = _draw(seed)
    statuses = ["not_affected", "affected", "fixed", "under_investigation"]
    out = []
    seconds = draw.sample(range(86400 * 10), 200)
    for finding in _sample(scan, seed, size=40):
        assert finding.package is not None
        for _ in range(draw.randint(1, 4)):
            status = draw.choice(statuses)
            out.append(
                _statement(finding.id, finding.package.purl, status=status, timestamp=_stamp(seconds.pop()))
            )
    return out


def test_the_order_of_statements_with_distinct_times_does_not_matter() -> None:
    """Shuffling the statements, or splitting them into two documents given in either order, changes nothing."""
    changed = 0
    for index, scan in enumerate(_scans()):
        statements = _conflicting(scan, index)
        if len(statements) < 2:
            continue
        expected = _outcome(apply_vex(scan, [openvex(*statements)]))
        changed += expected != _outcome(scan)
        for seed in range(3):
            shuffled = _draw(seed).sample(statements, len(statements))
            assert _outcome(apply_vex(scan, [openvex(*shuffled)])) == expected, scan.source
            half = len(shuffled) // 2
            first, second = openvex(*shuffled[:half]), openvex(*shuffled[half:])
            assert _outcome(apply_vex(scan, [first, second])) == expected, scan.source
            assert _outcome(apply_vex(scan, [second, first])) == expected, scan.source
    assert changed >= 20


def _realopenvex() -> list[tuple[str, dict[str, Any]]]:
    need_shared()
    return [(p.name, json.loads(p.read_bytes())) for p in sorted((REAL / "other").glob("*.openvex.json"))]


def test_the_real_openvex_documents_applied_to_every_real_report_are_order_free() -> None:
    """Trivy's own OpenVEX documents: reversing their statements or adding unrelated ones changes nothing."""
    documents = _realopenvex()
    assert len(documents) >= 2
    for name, raw in documents:
        parsed = read_vex(name, json.dumps(raw).encode())
        reversed_ = read_vex(name, json.dumps({**raw, "statements": raw["statements"][::-1]}).encode())
        unrelated = [
            {**s, "vulnerability": {"name": "CVE-1999-" + str(9000 + i)}}
            for i, s in enumerate(raw["statements"])
        ]
        padded = read_vex(name, json.dumps({**raw, "statements": raw["statements"] + unrelated}).encode())
        for scan in _scans():
            expected = _outcome(apply_vex(scan, [parsed]))
            assert _outcome(apply_vex(scan, [reversed_])) == expected, (name, scan.source)
            assert _outcome(apply_vex(scan, [padded])) == expected, (name, scan.source)
