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


@pytest.mark.parametrize(
    ("statement", "package", "covers"),
    [
        ("pkg:npm/JSONStream", "pkg:npm/jsonstream@1.3.5", True),  # the specification lower-cases npm names
        ("pkg:pypi/Typing_Extensions", "pkg:pypi/typing-extensions@4.12.2", True),  # and PyPI's, `_` as `-`
        ("pkg:deb/Debian/OpenSSL", "pkg:deb/debian/openssl@3.0.15-1", True),
        ("pkg:nuget/Newtonsoft.Json", "pkg:nuget/newtonsoft.json@13.0.1", True),
        (
            "pkg:maven/com.zaxxer/hikaricp",
            "pkg:maven/com.zaxxer/HikariCP@5.0.1",
            False,
        ),  # case-sensitive types
        ("pkg:rpm/redhat/OpenSSL", "pkg:rpm/redhat/openssl@3.0.7", False),
        ("pkg:gem/saikuro", "pkg:gem/Saikuro@1.1.0", False),
        ("pkg:golang/github.com/sirupsen/logrus", "pkg:golang/github.com/Sirupsen/logrus@v1.0.0", False),
    ],
)
def test_a_statement_covers_only_the_spellings_the_purl_type_calls_one_package(
    statement: str, package: str, covers: bool
) -> None:
    # A VEX statement's product that covered another spelling in a case-sensitive ecosystem would suppress the
    # findings of another package.
    mine, theirs = parse_purl(statement), parse_purl(package)
    assert mine is not None and theirs is not None
    assert mine.covers(theirs) is covers


@pytest.mark.parametrize(
    ("statement", "package", "covers"),
    [
        ("pkg:golang/golang.org/x/net", "pkg:golang/golang.org/x/net@v0.13.0", True),
        ("pkg:golang/golang.org/x/net", "pkg:golang/golang.org/x/net@v0.13.0#http2", True),
        ("pkg:golang/golang.org/x/net#http2", "pkg:golang/golang.org/x/net@v0.13.0#http2", True),
        ("pkg:golang/golang.org/x/net#/http2/", "pkg:golang/golang.org/x/net@v0.13.0#http2", True),
        # A statement about one package of a module says nothing of the module's others.
        ("pkg:golang/golang.org/x/net#http2", "pkg:golang/golang.org/x/net@v0.13.0", False),
        ("pkg:golang/golang.org/x/net#http2", "pkg:golang/golang.org/x/net@v0.13.0#html", False),
    ],
)
def test_a_statement_with_a_subpath_covers_only_that_subpath(
    statement: str, package: str, covers: bool
) -> None:
    mine, theirs = parse_purl(statement), parse_purl(package)
    assert mine is not None and theirs is not None
    assert mine.covers(theirs) is covers
