"""Applying KEV and EPSS to findings: by ID and alias, what the report says wins, on real Grype reports."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate.ingest import read_report
from gate.intel import enrich, parse_epss, parse_kev
from gate.model import Finding, FindingKind, Package, Scan, Severity
from tests.conftest import REAL, need_shared
from tests.intel.conftest import INTEL

CATALOG = parse_kev((INTEL / "kev.json").read_bytes(), "kev.json")
SCORES = parse_epss((INTEL / "epss.csv").read_bytes(), "epss.csv")


def _real(name: str) -> Scan:
    need_shared()
    path: Path = REAL / "grype" / name
    return read_report(str(path), path.read_bytes())


def _vuln(vid: str, *aliases: str, scanner: str = "trivy", **extra: object) -> Finding:
    return Finding(
        kind=FindingKind.VULNERABILITY,
        id=vid,
        aliases=aliases,
        severity=Severity.HIGH,
        package=Package(name="p", version="1"),
        scanner=scanner,  # type: ignore[arg-type]
        **extra,  # type: ignore[arg-type]
    )


def test_catalog_marks_by_id_and_alias_and_everything_else_not_listed() -> None:
    scan = Scan(
        source="r.json",
        scanner="trivy",
        findings=(
            _vuln("CVE-2021-44228"),
            _vuln("GHSA-qppj-fm5r-hxr3", "CVE-2023-44487"),
            _vuln("CVE-2024-0001"),
            Finding(kind=FindingKind.SECRET, id="aws-access-key-id", scanner="trivy"),
        ),
    )
    out = enrich(scan, kev=CATALOG)
    assert [f.kev for f in out.findings] == [True, True, False, None]
    assert out.warnings == ("intel: KEV catalog 2026.11.20 (3 entries, released 2026-11-20) from kev.json",)
    assert [f.kev for f in scan.findings] == [None, None, None, None]  # the input is not changed


def test_epss_by_alias_takes_the_highest_and_leaves_unknown_alone() -> None:
    scan = Scan(
        source="r.json",
        scanner="trivy",
        findings=(_vuln("GHSA-x", "CVE-2023-38039", "CVE-2023-38545"), _vuln("CVE-2099-1")),
    )
    first, second = enrich(scan, epss=SCORES).findings
    assert first.epss == pytest.approx(0.23741)
    assert first.epss_percentile == pytest.approx(0.95897)
    assert second.epss is None


def test_grype_own_epss_and_kev_win_over_the_feeds() -> None:
    scan = _real("grype-presenter--TestJsonImgsPresenter.json")
    before = {f.id: (f.kev, f.epss) for f in scan.findings}
    assert before == {"CVE-1999-0001": (False, 0.03), "CVE-1999-0002": (True, 0.08)}
    after = {f.id: (f.kev, f.epss) for f in enrich(scan, kev=CATALOG, epss=SCORES).findings}
    assert after == {"CVE-1999-0001": (False, 0.03), "CVE-1999-0002": (True, 0.08)}


def test_grype_report_with_intel_means_unlisted_is_not_exploited() -> None:
    # Read so by the Grype ingest; enriching without a catalog leaves it so.
    scan = _real("defectdojo-grype--many_vulns_with_epss_values.json")
    assert {f.kev for f in scan.findings} == {False}
    assert {f.kev for f in enrich(scan).findings} == {False}


def test_grype_report_without_intel_stays_unknown() -> None:
    scan = _real("analysis-model--grype-report-wo-description.json")
    assert {f.kev for f in enrich(scan).findings} == {None}
    marked = {f.id for f in enrich(scan, kev=CATALOG).findings if f.kev}
    assert marked == {"CVE-2023-44487", "GHSA-qppj-fm5r-hxr3"}  # the nghttp2 CVE and the Go GHSA alias
