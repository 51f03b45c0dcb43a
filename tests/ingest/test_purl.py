"""Package URLs: parsing, and the version they name when a report leaves a package's version out."""

from __future__ import annotations

import json

import pytest

from gate.ingest import read_report
from gate.ingest.purl import parse_purl, purl_version

BUSYBOX = "pkg:apk/alpine/busybox@1.36.1-r15?arch=x86_64&distro=3.19.1"


def test_purl_parsing() -> None:
    purl = parse_purl("pkg:npm/%40babel/traverse@7.23.2?arch=x#sub")
    assert purl is not None and (purl.namespace, purl.name, purl.version) == ("@babel", "traverse", "7.23.2")
    assert parse_purl("not-a-purl") is None
    versionless = parse_purl("pkg:apk/alpine/busybox")
    exact = parse_purl(BUSYBOX)
    assert versionless is not None and exact is not None
    assert versionless.covers(exact) and not exact.covers(versionless)


@pytest.mark.parametrize(
    ("purl", "version"),
    [
        (BUSYBOX, "1.36.1-r15"),
        ("pkg:maven/org.apache.tomcat.jdbc/tomcat-jdbc@8.0.28", "8.0.28"),
        ("pkg:npm/%40babel/traverse@7.23.2%2Bbuild", "7.23.2+build"),
        ("pkg:apk/alpine/busybox", ""),
        ("not-a-purl@1.0", ""),
        ("", ""),
    ],
)
def test_purl_version(purl: str, version: str) -> None:
    assert purl_version(purl) == version


def test_a_package_without_a_version_takes_the_one_its_purl_names() -> None:
    # Seen in a real Grype report: an artifact with no `version` whose purl names it. Read as "", it looked
    # like another version of the package its sibling matches name, and waivers pinned to 8.0.28 missed it.
    purl = "pkg:maven/org.apache.tomcat.jdbc/tomcat-jdbc@8.0.28"
    grype = {
        "matches": [
            {"vulnerability": {"id": "CVE-2015-5346", "severity": "High"},
             "artifact": {"name": "tomcat-jdbc", "type": "java-archive", "purl": purl}},
            {"vulnerability": {"id": "CVE-2015-5347", "severity": "High"},
             "artifact": {"name": "tomcat-jdbc", "version": "8.0.27", "type": "java-archive", "purl": purl}},
        ],
        "source": {"type": "image", "target": {"userInput": "app:1"}},
    }  # fmt: skip
    trivy = {
        "SchemaVersion": 2,
        "ArtifactName": "app:1",
        "Results": [
            {"Target": "app.jar", "Type": "jar",
             "Vulnerabilities": [{"VulnerabilityID": "CVE-2015-5346", "PkgName": "tomcat-jdbc",
                                  "PkgIdentifier": {"PURL": purl}, "Severity": "HIGH"}]},
        ],
    }  # fmt: skip
    first, second = read_report("grype.json", json.dumps(grype).encode()).findings
    assert first.package is not None and first.package.version == "8.0.28"
    assert second.package is not None and second.package.version == "8.0.27"  # the report's own version wins
    [found] = read_report("trivy.json", json.dumps(trivy).encode()).findings
    assert found.package is not None and found.package.version == "8.0.28"
