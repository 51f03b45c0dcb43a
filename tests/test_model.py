"""The normalized model."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gate.model import Finding, FindingKind, FixState, Image, Package, Severity


def test_severity_is_ordered() -> None:
    ordered = [
        Severity.UNKNOWN,
        Severity.NEGLIGIBLE,
        Severity.LOW,
        Severity.MEDIUM,
        Severity.HIGH,
        Severity.CRITICAL,
    ]
    shuffled = [ordered[i] for i in (3, 5, 0, 2, 4, 1)]
    assert sorted(shuffled) == ordered
    assert Severity.HIGH >= Severity.HIGH
    assert Severity.CRITICAL > Severity.HIGH
    assert Severity.LOW < Severity.MEDIUM
    assert Severity.UNKNOWN <= Severity.NEGLIGIBLE


@pytest.mark.parametrize(
    ("text", "severity"),
    [("HIGH", Severity.HIGH), ("Critical", Severity.CRITICAL), (" low ", Severity.LOW), ("Negligible", Severity.NEGLIGIBLE),
     ("moderate", Severity.MEDIUM), ("", Severity.UNKNOWN), (None, Severity.UNKNOWN), ("bogus", Severity.UNKNOWN)],
)  # fmt: skip
def test_severity_parse(text: str | None, severity: Severity) -> None:
    assert Severity.parse(text) is severity


def test_finding_is_frozen_and_strict() -> None:
    finding = Finding(kind=FindingKind.VULNERABILITY, id="CVE-1", aliases=("GHSA-1",), scanner="grype",
                      fix_state=FixState.FIXED)  # fmt: skip
    assert finding.fixable
    assert finding.all_ids == ("CVE-1", "GHSA-1")
    with pytest.raises(ValidationError):
        finding.id = "CVE-2"
    with pytest.raises(ValidationError):
        Finding.model_validate({"kind": "vulnerability", "id": "CVE-1", "scanner": "grype", "colour": "red"})


def test_image_label_lookup() -> None:
    image = Image(labels=(("org.opencontainers.image.source", "https://example.com/repo"),))
    assert image.label("org.opencontainers.image.source") == "https://example.com/repo"
    assert image.label("missing") is None


@pytest.mark.parametrize(
    ("package", "ecosystem"),
    [
        (Package(name="openssl", type="alpine"), "apk"),  # Trivy names OS packages by distribution
        (Package(name="openssl", type="apk"), "apk"),  # Grype by package manager
        (Package(name="PyYAML", type="python-pkg"), "pypi"),
        (Package(name="numpy", type="conda-pkg"), "conda"),  # conda is its own ecosystem, not PyPI
        (Package(name="ripgrep", type="rustbinary"), "cargo"),  # Trivy's word for a Rust binary
        (Package(name="x", type="npm", purl="pkg:NPM/x@1"), "npm"),  # the package URL's type wins, lower case
        (Package(name="Django", type="python", purl="pkg:pypi/Django@3.2"), "pypi"),
        (Package(name="thing", type="Something-New"), "something-new"),  # unknown: as written
        (Package(name="thing"), ""),
    ],
)
def test_package_ecosystem_is_the_package_url_type(package: Package, ecosystem: str) -> None:
    assert package.ecosystem == ecosystem
